"""Training-time contrast augmentation of the input sequences (issue 26).

A network trained on three or four patients learns their scanners' grey levels; a patient
whose T1 has little grey/white contrast then gets a blurred FLAIR. SynthSR's answer is to
randomise the contrasts the network sees. Here, on the already normalised (z-scored)
inputs, each example's channel ``c`` is remapped inside the brain as

    z -> a_c * sign(z) |z|^g_c + b_c,   ln g_c ~ U(-s, s),  ln a_c ~ U(-s/2, s/2),  b_c ~ U(-s/2, s/2)

(``s`` the strength): an odd power keeps 0 and the sign (a voxel brighter than the mean
stays brighter) and bends the tissue contrasts; ``a`` and ``b`` move the scale and level a
little. The target is untouched. The draws are stateless, seeded by the run's seed, the
epoch and the batch's position, so a rerun (or a resumed run) sees the same batches.
"""
from __future__ import annotations

import tensorflow as tf


def random_contrast(batch: dict, strength: float, seed) -> dict:
    """``batch`` with its ``inputs`` remapped as in the module docstring, inside ``brainmask``.

    ``seed``: a shape-[2] integer tensor for :func:`tf.random.stateless_uniform`.
    """
    inputs, mask = batch["inputs"], batch["brainmask"]
    channels = tf.shape(inputs)[-1]
    draw_shape = tf.stack([tf.shape(inputs)[0], 1, 1, 1, channels])
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=3)
    s = float(strength)
    gamma = tf.exp(tf.random.stateless_uniform(draw_shape, seeds[0], -s, s))
    scale = tf.exp(tf.random.stateless_uniform(draw_shape, seeds[1], -s / 2, s / 2))
    shift = tf.random.stateless_uniform(draw_shape, seeds[2], -s / 2, s / 2)
    bent = scale * tf.sign(inputs) * tf.pow(tf.abs(inputs), gamma) + shift
    return {**batch, "inputs": mask * bent + (1.0 - mask) * inputs}


def with_random_contrast(dataset: tf.data.Dataset, strength: float, seed: int) -> tf.data.Dataset:
    """``dataset`` (batched example dicts) with :func:`random_contrast` on every batch;
    ``strength`` 0 returns it unchanged."""
    if strength <= 0:
        return dataset

    def remap(position, batch):
        return random_contrast(batch, strength, tf.stack([tf.constant(seed, tf.int64), position]))

    return dataset.enumerate().map(remap, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
