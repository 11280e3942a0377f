"""Saliency maps (eqs. 2.3, 3.7) against hand-worked gradients and whole-volume tapes."""
import numpy as np
import pytest

import keras
import tensorflow as tf

from msgan.saliency import attention_saliency_map, mean_saliency_per_sequence, p3s_map, windowed_vjp


def linear_voxelwise_model(weights):
    """ŷ = sum_c w_c x_c at every voxel (a 1x1x1 conv without bias)."""
    model = keras.Sequential([keras.Input((None, None, None, len(weights))),
                              keras.layers.Conv3D(1, 1, use_bias=False)])
    model.layers[-1].set_weights([np.asarray(weights, np.float32).reshape(1, 1, 1, -1, 1)])
    return model


def test_p3s_of_a_linear_model_is_worked_by_hand():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 5, 4, 2)).astype(np.float32)
    target = rng.normal(size=(6, 5, 4)).astype(np.float32)
    a, b = 2.0, -0.5
    prediction = a * x[..., 0] + b * x[..., 1]
    saliency = p3s_map(linear_voxelwise_model([a, b]), x, target, prediction, core=3, halo=0)
    # d/dx_c sum (I - a x1 - b x2)^2 = -2 w_c (I - ŷ)
    assert np.allclose(saliency[..., 0], np.abs(2 * a * (target - prediction)), atol=1e-5)
    assert np.allclose(saliency[..., 1], np.abs(2 * b * (target - prediction)), atol=1e-5)
    ranking = mean_saliency_per_sequence(saliency, ["T1", "DIR"])
    assert [name for name, _ in ranking] == ["T1", "DIR"]


def test_windowed_gradient_equals_whole_volume_gradient():
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((None, None, None, 2)),
                              keras.layers.Conv3D(4, 3, padding="same", use_bias=False, activation="relu"),
                              keras.layers.Conv3D(4, 3, padding="same", use_bias=False, activation="relu"),
                              keras.layers.Conv3D(1, 3, padding="same", use_bias=False)])
    rng = np.random.default_rng(1)
    x = np.zeros((20, 18, 16, 2), np.float32)
    x[3:-3, 3:-3, 3:-3] = rng.normal(size=(14, 12, 10, 2))
    upstream = rng.normal(size=(20, 18, 16)).astype(np.float32)
    xt = tf.constant(x[None])
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = model(xt)
    whole = tape.gradient(y, xt, output_gradients=tf.constant(upstream[None, ..., None])).numpy()[0]
    windowed = windowed_vjp(model, x, upstream, core=7, halo=3)
    assert np.abs(windowed - whole).max() < 1e-4
    # too small a halo misses part of the receptive field, and the test can tell
    assert np.abs(windowed_vjp(model, x, upstream, core=7, halo=1) - whole).max() > 1e-3


def test_attention_saliency_uses_the_training_loss_and_max_over_channels():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(4, 4, 4, 3)).astype(np.float32)
    target = rng.normal(size=(4, 4, 4)).astype(np.float32)
    w = [1.0, -3.0, 0.5]
    prediction = np.tensordot(x, np.array(w, np.float32), axes=([-1], [0]))

    def l1(y_true, y_pred):
        return tf.reduce_mean(tf.abs(y_true - y_pred))

    saliency = attention_saliency_map(linear_voxelwise_model(w), x, target, prediction, l1,
                                      core=4, halo=0)
    # |d mean|I - ŷ| / d x_c| = |w_c| / M ; the max over channels is the largest |w_c|
    assert np.allclose(saliency, 3.0 / x[..., 0].size, atol=1e-7)
