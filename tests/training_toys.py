"""Tiny stand-ins for the model zoo and the shard reader, for the training-engine tests.

They follow the contracts of docs/ARCHITECTURE.md (GAN models with ``.generator`` and
``.discriminator([mri, image])``; two-stage models with ``.sketcher`` and ``.refiners``;
batches as the dicts of ``make_dataset``) with a few filters on 16^3 volumes.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

SIDE = 16


def toy_batches(n=8, channels=2, seed=0, side=SIDE) -> dict:
    """Contract dict arrays: target is a smooth function of the inputs, roi has 3 classes."""
    rng = np.random.default_rng(seed)
    inputs = rng.normal(size=(n, side, side, side, channels)).astype(np.float32)
    target = (0.6 * inputs[..., :1] - 0.3 * inputs[..., -1:] + 0.1).astype(np.float32)
    roi = np.full(target.shape, 3, np.int32)
    roi[:, 4:12, 4:12, 4:12] = 2
    roi[:, 7:9, 7:9, 7:9] = 1
    return {"inputs": inputs, "target": target, "roi": roi,
            "brainmask": np.ones_like(target), "subject": np.array([f"s{i}" for i in range(n)]),
            "session": np.array(["t0"] * n), "origin": np.zeros((n, 3), np.int32)}


def dataset_fn(arrays: dict, batch=2, shuffle=True, seed=0):
    """``epoch -> dataset``: one pass, reshuffled deterministically per epoch."""

    def make(epoch):
        ds = tf.data.Dataset.from_tensor_slices(arrays)
        if shuffle:
            ds = ds.shuffle(len(arrays["inputs"]), seed=seed + epoch, reshuffle_each_iteration=False)
        return ds.batch(batch)

    return make


def mse_loss(batch, prediction):
    """Per-example mean squared error."""
    return tf.reduce_mean(tf.square(batch["target"] - prediction), axis=[1, 2, 3, 4])


def l1_loss(batch, prediction):
    return tf.reduce_mean(tf.abs(batch["target"] - prediction), axis=[1, 2, 3, 4])


def regressor(channels=2, filters=4, name="regressor"):
    inputs = keras.Input((SIDE, SIDE, SIDE, channels))
    x = keras.layers.Conv3D(filters, 3, padding="same", activation="relu")(inputs)
    return keras.Model(inputs, keras.layers.Conv3D(1, 1)(x), name=name)


def discriminator(channels=2, filters=4, name="discriminator"):
    mri = keras.Input((SIDE, SIDE, SIDE, channels))
    image = keras.Input((SIDE, SIDE, SIDE, 1))
    x = keras.layers.Concatenate()([mri, image])
    x = keras.layers.Conv3D(filters, 3, strides=2, padding="same")(x)
    x = keras.layers.LeakyReLU(0.2)(x)
    # Per-patch probabilities (fake, real), as the zoo's patch discriminators return them.
    probs = keras.layers.Conv3D(2, 3, padding="same", activation="softmax")(x)
    return keras.Model([mri, image], probs, name=name)


class toy_adversarial:
    """Stand-in for the adversarial half of ``msgan.losses`` (same signatures and meaning):
    per-patch cross-entropy summed over patches, averaged over the batch."""

    @staticmethod
    def patch_cross_entropy(probabilities, real_label):
        p = tf.clip_by_value(probabilities, 1e-7, 1.0)
        per_patch = -(real_label * tf.math.log(p[..., 1]) + (1.0 - real_label) * tf.math.log(p[..., 0]))
        return tf.reduce_mean(tf.reduce_sum(tf.reshape(per_patch, [tf.shape(per_patch)[0], -1]), axis=1))

    @staticmethod
    def generator_adversarial_loss(fake_probabilities):
        return toy_adversarial.patch_cross_entropy(fake_probabilities, 1.0)


class ToyGan:
    def __init__(self, channels=2, generator_channels=None, tag="gan"):
        self.generator = regressor(generator_channels or channels, name=f"{tag}_generator")
        self.discriminator = discriminator(channels, name=f"{tag}_discriminator")


class ToyTwoStage:
    """A Sketcher and K Refiners; refiner generators take the MRI + the previous output."""

    def __init__(self, channels=2, refinements=1):
        self.sketcher = ToyGan(channels, tag="sketcher")
        self.refiners = [ToyGan(channels, channels + 1, tag=f"refiner{k + 1}")
                         for k in range(refinements)]


def all_weights(models) -> list[np.ndarray]:
    return [np.asarray(w) for m in models for w in m.get_weights()]


def max_difference(a, b) -> float:
    assert len(a) == len(b)
    return max(float(np.max(np.abs(x - y))) for x, y in zip(a, b))
