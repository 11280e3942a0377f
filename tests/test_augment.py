"""Training-time contrast augmentation (msgan.training.augment): what it may change and what not."""
from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from msgan.training.augment import random_contrast, with_random_contrast


def _batch(seed=0, n=3, side=6, channels=2):
    rng = np.random.default_rng(seed)
    mask = np.zeros((n, side, side, side, 1), np.float32)
    mask[:, 1:-1, 1:-1, 1:-1] = 1
    return {"inputs": tf.constant(rng.normal(size=(n, side, side, side, channels)).astype(np.float32)),
            "target": tf.constant(rng.normal(size=(n, side, side, side, 1)).astype(np.float32)),
            "brainmask": tf.constant(mask), "subject": tf.constant([b"a"] * n)}


def test_remap_keeps_background_target_and_order_within_each_channel():
    batch = _batch()
    out = random_contrast(batch, 0.4, tf.constant([3, 1], tf.int64))
    x, y = batch["inputs"].numpy(), out["inputs"].numpy()
    inside = batch["brainmask"].numpy()[..., 0] > 0
    np.testing.assert_array_equal(y[~inside], x[~inside])  # outside the brain: untouched
    np.testing.assert_array_equal(out["target"].numpy(), batch["target"].numpy())
    assert not np.allclose(y[inside], x[inside])  # the inputs did change
    for example in range(x.shape[0]):
        for channel in range(x.shape[-1]):
            a = x[example][inside[example], channel]
            b = y[example][inside[example], channel]
            order = np.argsort(a)
            assert np.all(np.diff(b[order]) >= 0), "the remap is monotone: brighter stays brighter"


def test_remap_matches_the_formula_for_its_drawn_parameters():
    """Read (a, g, b) of each channel off voxels of z = 0, 1, 2 and check every other voxel."""
    batch = _batch(seed=1, n=1)
    x = batch["inputs"].numpy()
    x[0, 2, 2, 2:5, :] = np.array([0.0, 1.0, 2.0])[:, None]
    batch["inputs"] = tf.constant(x)
    y = random_contrast(batch, 0.5, tf.constant([0, 7], tf.int64))["inputs"].numpy().astype(np.float64)
    inside = batch["brainmask"].numpy()[0, ..., 0] > 0
    for channel in range(x.shape[-1]):
        b = y[0, 2, 2, 2, channel]
        a = y[0, 2, 2, 3, channel] - b
        g = np.log2((y[0, 2, 2, 4, channel] - b) / a)
        assert abs(b) <= 0.25 and np.exp(-0.25) <= a <= np.exp(0.25) and np.exp(-0.5) <= g <= np.exp(0.5)
        z = x[0, ..., channel][inside].astype(np.float64)
        np.testing.assert_allclose(y[0, ..., channel][inside], a * np.sign(z) * np.abs(z) ** g + b,
                                   rtol=1e-4, atol=1e-4)


def test_draws_repeat_for_a_seed_and_differ_between_batches():
    batch = _batch()
    dataset = tf.data.Dataset.from_tensors(batch).repeat(2)
    first = [b["inputs"].numpy() for b in with_random_contrast(dataset, 0.3, seed=5)]
    again = [b["inputs"].numpy() for b in with_random_contrast(dataset, 0.3, seed=5)]
    other = [b["inputs"].numpy() for b in with_random_contrast(dataset, 0.3, seed=6)]
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.allclose(first[0], first[1])  # the second batch draws anew
    assert not np.allclose(first[0], other[0])


def test_strength_zero_leaves_the_dataset_alone():
    dataset = tf.data.Dataset.from_tensors(_batch())
    assert with_random_contrast(dataset, 0.0, seed=0) is dataset


@pytest.mark.parametrize("bad", ["-0.1", "1.5"])
def test_cli_refuses_a_strength_outside_0_1(bad, tmp_path):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "msgan", "train", "--model", "unet_small", "--data",
                             str(tmp_path), "--run", str(tmp_path / "run"), "--contrast-augment", bad],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists()
