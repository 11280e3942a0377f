"""Full-size run time of `msgan reproduce ch2|ch3|ch4`, extrapolated from measured steps.

    python scripts/estimate_reproduce_times.py [--chapters ch2,ch3,ch4] [--steps 2]

A full reproduction trains for days to weeks on a CPU, so it is not run here: this script
times training steps of each chapter's reference method with the real engine (one
warm-up step that traces, then ``--steps`` timed ones) on random inputs of a known size,
scales the step time linearly with the voxel count where the measured example is a part of
the chapter's (convolution cost is linear in voxels), and multiplies by the steps of the
protocol: training subjects per fold, examples per subject, epochs, folds, configurations.
Printed: seconds per step, per epoch, and the total, with every factor shown.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

#: chapter -> what the reference trains on and how often (sec. 2.2.3, 3.3.1, 4.3.1)
PROTOCOLS = {
    "ch2": dict(model="fcn", inputs=5, loss="mse", example=(208, 256, 40), measured=(104, 128, 40),
                train_subjects=19, examples_per_subject=1, epochs=(15, 100), stages=1, folds=5, configs=20,
                note="FCN-64 on whole 208x256x40 volumes (the thesis's size); epochs until STOP_3 stops, at "
                     "least 15 (3 strips of 5), the range shown; 20 deep configurations of about the FCN's cost"),
    "ch3": dict(model="cgan", inputs=4, loss="l1", example=(128, 160, 128), measured=(64, 64, 64),
                train_subjects=19, examples_per_subject=1, epochs=(400, 400), stages=2, folds=3, configs=10,
                note="Sketcher-Refiner on 128x160x128 crops, 400 + 400 epochs (a Refiner step timed as a "
                     "Sketcher step); 10 configurations of about the reference's cost"),
    "ch4": dict(model="cfsagan", inputs=4, loss="l1", example=(64, 64, 64), measured=(64, 64, 64),
                train_subjects=16, examples_per_subject=216, epochs=(370, 370), stages=2, folds=3, configs=13,
                note="Refiner CF-SAGAN on 64^3 patches: 3x4x3 patches of a 128x160x128 brain box at 50 % overlap, "
                     "x6 with the augmentations; 16 training subjects (2/3 of 28 minus 3 for validation); "
                     "370 + 370 epochs; 13 configurations of about the reference's cost"),
}


def time_steps(protocol: dict, steps: int) -> float:
    """Seconds per training step of ``protocol``'s model on its measured example size."""
    import numpy as np
    import tensorflow as tf

    from msgan.training import zoo
    from msgan.training.run import make_optimizer
    from msgan.training.steps import AdversarialStep, SupervisedStep

    strategy = tf.distribute.get_strategy()
    shape = (1, *protocol["measured"])
    rng = np.random.default_rng(0)
    batch = {"inputs": tf.constant(rng.normal(size=(*shape, protocol["inputs"])), tf.float32),
             "target": tf.constant(rng.normal(size=(*shape, 1)), tf.float32)}
    model = zoo.build_model(protocol["model"], protocol["inputs"], {})
    if protocol["model"] == "fcn":
        step = SupervisedStep(strategy, model, make_optimizer("sgd", 5e-4), zoo.reconstruction_loss(protocol["loss"]))
    else:
        step = AdversarialStep(strategy, model.generator, model.discriminator, make_optimizer("adam", 1e-4),
                               make_optimizer("adam", 1e-4), zoo.reconstruction_loss(protocol["loss"]),
                               d_steps=2 if protocol["model"] == "cfsagan" else 1)
    step.train(batch, 0)  # traces
    started = time.perf_counter()
    for i in range(steps):
        step.train(batch, i + 1)
    return (time.perf_counter() - started) / steps


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chapters", default="ch2,ch3,ch4")
    parser.add_argument("--steps", type=int, default=2, help="timed steps after the tracing one")
    args = parser.parse_args(argv)
    import numpy as np

    for chapter in args.chapters.split(","):
        p = PROTOCOLS[chapter]
        measured = time_steps(p, args.steps)
        scale = float(np.prod(p["example"]) / np.prod(p["measured"]))
        step = measured * scale
        epoch = step * p["train_subjects"] * p["examples_per_subject"]
        low, high = (epoch * p["epochs"][0] * p["stages"], epoch * p["epochs"][1] * p["stages"])
        runs = p["folds"] * p["configs"]
        print(f"{chapter}: {p['note']}.")
        print(f"  measured {measured:.2f} s per step on {'x'.join(map(str, p['measured']))} x {scale:g} "
              f"= {step:.1f} s per step; x {p['train_subjects']} subjects x {p['examples_per_subject']} examples "
              f"= {epoch / 3600:.2f} h per epoch")
        span = f"{low / 86400:.1f}" + (f"-{high / 86400:.1f}" if high != low else "")
        print(f"  one fold: {span} days; x {p['folds']} folds x {p['configs']} configurations = "
              f"{low * runs / 86400:.0f}" + (f"-{high * runs / 86400:.0f}" if high != low else "") + " days")


if __name__ == "__main__":
    main()
