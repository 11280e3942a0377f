#!/usr/bin/env python
"""Seconds per training step and per prediction on this machine's CPU, per ``--precision``.

For each network (built by ``msgan.models.build``, as ``msgan train`` builds it, with the
precision set by ``msgan.models.precision.set_precision``) and each precision, prints one
run's best-of-``--repeats`` seconds of one supervised training step (``SupervisedStep``,
Adam, MSE; ``mixed_float16`` with its LossScaleOptimizer) and of one forward pass, and
their ratio to float32, all taken in this one run, with the load average before and
after (the machine may be shared). ``mixed_float16`` runs XLA-compiled (TensorFlow's CPU
kernels lack float16 3-D pooling); ``--jit`` compiles every precision.

    PYTHONPATH=. python scripts/bench_precision.py --models unet_small,fcn --size 48
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def best_seconds(fn, repeats: int) -> float:
    fn()  # trace / compile
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def measure(name: str, precision: str, jit: bool, size: int, batch: int, repeats: int) -> tuple[float, float]:
    import keras
    import numpy as np
    import tensorflow as tf

    from msgan.training import zoo
    from msgan.training.run import make_optimizer
    from msgan.training.steps import SupervisedStep

    keras.utils.set_random_seed(0)
    model = zoo.build_model(name, 3, {}, precision)
    step = SupervisedStep(tf.distribute.get_strategy(), model, make_optimizer("adam", 1e-4, precision),
                          lambda b, p: tf.reduce_mean(tf.square(p - b["target"])), jit_compile=jit)
    rng = np.random.default_rng(0)
    batch_data = {"inputs": tf.constant(rng.normal(size=(batch, size, size, size, 3)), tf.float32),
                  "target": tf.constant(rng.normal(size=(batch, size, size, size, 1)), tf.float32)}
    train_s = best_seconds(lambda: float(step.train(batch_data, 0)["loss"]), repeats)
    forward = tf.function(lambda x: model(x, training=False), jit_compile=jit)
    predict_s = best_seconds(lambda: forward(batch_data["inputs"]).numpy(), repeats)
    return train_s, predict_s


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="unet_small,fcn,cfsagan_generator")
    parser.add_argument("--size", type=int, default=32, help="cube side of the examples")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--jit", action="store_true", help="XLA-compile every precision")
    args = parser.parse_args(argv)

    import tensorflow as tf

    from data_tools.contracts import PRECISIONS

    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"TF {tf.__version__}, {os.cpu_count()} CPUs, {args.size}^3 x batch {args.batch}, best of "
          f"{args.repeats}, load average {load}")
    print(f"{'model':18} {'precision':15} {'XLA':>3} {'train s':>8} {'predict s':>9} {'train x':>8} {'predict x':>9}")
    for name in args.models.split(","):
        base = None
        for precision in PRECISIONS:
            jit = args.jit or precision == "mixed_float16"
            train_s, predict_s = measure(name, precision, jit, args.size, args.batch, args.repeats)
            base = base or (train_s, predict_s)
            print(f"{name:18} {precision:15} {'yes' if jit else 'no':>3} {train_s:8.3f} {predict_s:9.3f} "
                  f"{base[0] / train_s:8.2f} {base[1] / predict_s:9.2f}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}   "
          "(x: float32 seconds / these seconds, > 1 is faster)")


if __name__ == "__main__":
    main()
