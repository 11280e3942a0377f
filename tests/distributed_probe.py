"""Run in a fresh process by test_training_distributed.py: two logical CPUs must be set
up before TensorFlow initialises. Prints one JSON line of the largest differences
between MirroredStrategy over 2 devices and 1 device with the same global batches."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import tensorflow as tf

tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0],
    [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])

import keras  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from msgan.training.steps import AdversarialStep, SupervisedStep  # noqa: E402
from msgan.training.strategy import choose_strategy  # noqa: E402
from training_toys import (ToyGan, all_weights, l1_loss, max_difference, mse_loss,  # noqa: E402
                           regressor, toy_adversarial, toy_batches)


def run(devices, kind):
    strategy = choose_strategy(devices)
    keras.utils.set_random_seed(0)
    with strategy.scope():
        if kind == "supervised":
            model = regressor()
            step = SupervisedStep(strategy, model, keras.optimizers.SGD(0.1), mse_loss)
            models = [model]
        else:
            gan = ToyGan()
            step = AdversarialStep(strategy, gan.generator, gan.discriminator,
                                   keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3),
                                   l1_loss, lam=100.0, d_steps=2, adversarial=toy_adversarial)
            models = [gan.generator, gan.discriminator]
    initial = all_weights(models)
    arrays = toy_batches(7)
    # Global batches of 4 (2 per device) then 3 (2 + 1: an uneven last batch).
    dataset = tf.data.Dataset.from_tensor_slices(arrays).batch(4)
    losses = []
    for number, batch in enumerate(strategy.experimental_distribute_dataset(dataset)):
        losses.append({k: float(v) for k, v in step.train(batch, number).items()})
    return losses, all_weights(models), initial, strategy.num_replicas_in_sync


def main():
    report = {}
    for kind in ("supervised", "adversarial"):
        two_losses, two_weights, initial, replicas = run(["/cpu:0", "/cpu:1"], kind)
        one_losses, one_weights, _, _ = run(["/cpu:0"], kind)
        report[kind] = {
            "replicas": replicas,
            # relative above 1: the GAN losses sum cross-entropies over patches (~1e2-1e3)
            "loss_difference": max(abs(a[k] - b[k]) / max(1.0, abs(b[k]))
                                   for a, b in zip(two_losses, one_losses) for k in a),
            "weight_difference": max_difference(two_weights, one_weights),
            "weights_moved": max_difference(two_weights, initial),
        }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
