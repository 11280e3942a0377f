"""Benchmark the model zoo on this machine, from one run; prints figures, asserts nothing.

1. per model (default widths): parameters and forward+backward seconds on one 64^3 patch
   (median of --repeats runs of a compiled tf.function step, after one warm-up);
2. fcn: its training-step time over that of a bare keras.Sequential of the same convs,
   both run by the same tf.function code (goal 1.0 +- 0.05: our classes add nothing);
3. FlexibleSelfAttention peak memory (resident memory sampled every ms during one forward
   call, above the level before it; one subprocess per pool size) at p = 1, 2, 4, with the attention-map size at 64^3 for reference.

Usage: PYTHONPATH=. python scripts/bench_models.py [--inputs 4] [--repeats 3] [--models fcn,unet]
(``--models ""`` skips part 1).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def timed(step, repeats):
    step()  # trace and warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def forward_backward_seconds(name, n_inputs, size, repeats):
    import numpy as np
    import tensorflow as tf

    from msgan import losses
    from msgan.models import build, model_kind

    model = build(name, n_inputs)
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(1, size, size, size, n_inputs)), tf.float32)
    y = tf.constant(rng.normal(size=(1, size, size, size, 1)), tf.float32)
    discriminator = model_kind(name) == "discriminator"

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            if discriminator:
                loss = losses.generator_adversarial_loss(model([x, y], training=True))
            else:
                loss = losses.l1(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        return loss, grads

    return model.count_params(), timed(lambda: [g.numpy() for g in step()[1] if g is not None],
                                       repeats)


def fcn_overhead_ratio(n_inputs, size, repeats, rounds=6):
    import keras
    import numpy as np
    import tensorflow as tf

    from msgan.models import build

    ours = build("fcn", n_inputs)
    bare = keras.Sequential([keras.Input((None, None, None, n_inputs))]
                            + [keras.layers.Conv3D(64, 3, padding="same", activation="relu")
                               for _ in range(3)] + [keras.layers.Conv3D(1, 3, padding="same")])
    assert bare.count_params() == ours.count_params()
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(1, size, size, size, n_inputs)), tf.float32)
    y = tf.constant(rng.normal(size=(1, size, size, size, 1)), tf.float32)

    def make_step(model):
        optimizer = keras.optimizers.SGD(5e-4)

        @tf.function
        def step():
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(model(x, training=True) - y))
            optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables),
                                          model.trainable_variables))
            return loss

        return step

    steps = {"ours": make_step(ours), "bare": make_step(bare)}
    op_counts = {}
    for key, step in steps.items():
        step()  # trace once; the graphs should be the same size
        op_counts[key] = len(step.get_concrete_function().graph.get_operations())
    medians = {key: [] for key in steps}
    for round_ in range(rounds):  # interleaved, alternating who goes first, so load hits both
        order = list(steps) if round_ % 2 == 0 else list(reversed(steps))
        for key in order:
            medians[key].append(timed(lambda: steps[key]().numpy(), repeats))
    return statistics.median(medians["ours"]), statistics.median(medians["bare"]), op_counts


ATTENTION_CHILD = """
import os, sys, threading, time
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np, keras
from msgan.layers import FlexibleSelfAttention

def rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

size, channels, p = map(int, sys.argv[1:4])
x = np.random.default_rng(0).normal(size=(1, size, size, size, channels)).astype("float32")
layer = FlexibleSelfAttention(pool_size=p)
small = np.zeros((1, 2 * p, 2 * p, 2 * p, channels), "float32")
keras.ops.convert_to_numpy(layer(small))  # build and load the kernels before the baseline
base, peak, running = rss_mib(), [0.0], [True]

def sample():  # the current RSS, every millisecond, while the layer runs
    while running[0]:
        peak[0] = max(peak[0], rss_mib())
        time.sleep(0.001)

thread = threading.Thread(target=sample)
thread.start()
keras.ops.convert_to_numpy(layer(x))
running[0] = False
thread.join()
print(peak[0] - base)
"""


def attention_peak_mib(size, channels, pool):
    env = {**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(os.path.abspath(__file__)))}
    out = subprocess.run([sys.executable, "-c", ATTENTION_CHILD, str(size), str(channels),
                          str(pool)], capture_output=True, text=True, env=env, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main():
    from msgan.models import MODEL_NAMES

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=4)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", default=",".join(MODEL_NAMES))
    parser.add_argument("--attention-size", type=int, default=24,
                        help="feature size for the memory test (p = 1 at 64^3 needs ~275 GB)")
    args = parser.parse_args()
    print(f"# {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
          f"{args.inputs} inputs, {args.size}^3 patch")

    if args.models:
        print("\nmodel                   parameters   fwd+bwd s")
    for name in filter(None, args.models.split(",")):
        params, seconds = forward_backward_seconds(name, args.inputs, args.size, args.repeats)
        print(f"{name:<22} {params:>11,}   {seconds:9.3f}", flush=True)

    ours, bare, ops = fcn_overhead_ratio(args.inputs, args.size, args.repeats)
    print(f"\nfcn training step: ours {ours:.3f} s, bare keras.Sequential {bare:.3f} s, "
          f"ratio {ours / bare:.3f}; graph ops: ours {ops['ours']}, bare {ops['bare']}")

    channels = 16
    print(f"\nFlexibleSelfAttention, {args.attention_size}^3 x {channels} features "
          "(peak resident memory above baseline; map = float32 attention map)")
    for pool in (1, 2, 4):
        n = (args.attention_size // pool) ** 3
        n64 = (64 // pool) ** 3
        peak = attention_peak_mib(args.attention_size, channels, pool)
        print(f"p={pool}: peak {peak:9.1f} MiB, map {4 * n * n / 2**20:9.1f} MiB "
              f"(at 64^3: {4 * n64 * n64 / 2**20:12,.1f} MiB)", flush=True)


if __name__ == "__main__":
    main()
