"""Saliency maps: which input sequence, and which voxels, drive a prediction.

Both maps of the thesis are input gradients of a loss between the prediction and the
truth, taken with respect to the *normalised* inputs (as sec. 2.4 computes them):

- the pulse-sequence-specific saliency map (P3S, eq. 2.3): ``|d ||I - Î||^2 / d I_source|``,
  one map per input channel;
- the visual attention saliency map (eq. 3.7): ``|d Loss / d I_M|`` with the loss the
  generator was trained with (L1, WL1 or NWL1), maximum over channels (sec. 3.3.6).

Whole volumes rarely fit through a backward pass at once, so the gradient is computed in
windows by the chain rule: ``dL/dx = (dŷ/dx)^T dL/dŷ``. ``dL/dŷ`` comes from the loss on
the whole volume (so ROI-normalised losses keep their whole-image weights), and each
window contributes the vector-Jacobian product of its core voxels. For a fully
convolutional model whose halo covers its receptive field this equals the whole-volume
gradient; for networks with pooling it is the gradient of the windowed prediction.
"""
from __future__ import annotations

import itertools
from typing import Callable, Sequence

import numpy as np

from data_tools.shards.patches import window_starts


def _tf():
    import tensorflow as tf

    return tf


def window_boxes(shape: Sequence[int], core: Sequence[int]) -> list[tuple[tuple[int, ...], tuple[slice, ...]]]:
    """``(window corner, core box)`` pairs: windows of ``core`` voxels (at most the axis)
    placed by the one window grid at overlap 0 (:func:`data_tools.shards.patches.window_starts`,
    the last flush with the border), each owning the voxels no earlier window owns, so the
    boxes tile ``shape`` once."""
    per_axis = []
    for length, size in zip(shape, core):
        size = min(int(size), int(length))
        starts = [int(o) for o in np.asarray(window_starts(int(length), size, 0.0))]
        owned_from = [0] + [prev + size for prev in starts[:-1]]
        per_axis.append([(o, slice(lo, o + size)) for o, lo in zip(starts, owned_from)])
    return [(tuple(o for o, _ in choice), tuple(box for _, box in choice))
            for choice in itertools.product(*per_axis)]


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def windowed_vjp(model, inputs: np.ndarray, output_gradient: np.ndarray, *, core: int = 48,
                 halo: int = 8, multiple: int = 1) -> np.ndarray:
    """``(dŷ/dx)^T g`` for a volume ``inputs (D,H,W,C)`` and ``g = output_gradient (D,H,W)``.

    Each window is a core window (:func:`window_boxes`) grown by ``halo`` voxels
    (edge-padded at the volume border) and rounded up to ``multiple`` (the network's total
    stride); only the outputs of the voxels the window owns carry gradient, so every
    output voxel is counted once.
    """
    tf = _tf()
    inputs = np.asarray(inputs, np.float32)
    shape = inputs.shape[:3]
    pad_to = [_round_up(min(core, s) + 2 * halo, multiple) for s in shape]
    extra = [p - min(core, s) - 2 * halo for p, s in zip(pad_to, shape)]
    padded = np.pad(inputs, [(halo, halo + e) for e in extra] + [(0, 0)], mode="edge")
    grad = np.zeros_like(padded)
    for corner, box in window_boxes(shape, [core] * 3):
        window = tuple(slice(o, o + p) for o, p in zip(corner, pad_to))  # padded coordinates
        upstream = np.zeros(tuple(pad_to) + (1,), np.float32)
        upstream[tuple(slice(halo + b.start - o, halo + b.stop - o) for b, o in zip(box, corner))] = \
            output_gradient[box][..., None]
        x = tf.convert_to_tensor(padded[window][None])
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = model(x, training=False)
        g = tape.gradient(y, x, output_gradients=tf.convert_to_tensor(upstream[None]))
        grad[window] += g.numpy()[0]
    return grad[halo:halo + shape[0], halo:halo + shape[1], halo:halo + shape[2]]


def loss_gradient(loss_fn: Callable, target: np.ndarray, prediction: np.ndarray,
                  roi: np.ndarray | None = None) -> np.ndarray:
    """``dL/dŷ`` of a whole-volume loss ``loss_fn(y_true, y_pred[, roi])`` (5-D tensors)."""
    tf = _tf()
    y_true = tf.constant(np.asarray(target, np.float32)[None, ..., None])
    y_pred = tf.Variable(np.asarray(prediction, np.float32)[None, ..., None])
    with tf.GradientTape() as tape:
        if roi is None:
            loss = loss_fn(y_true, y_pred)
        else:
            loss = loss_fn(y_true, y_pred, tf.constant(np.asarray(roi, np.int32)[None, ..., None]))
    return tape.gradient(loss, y_pred).numpy()[0, ..., 0]


def squared_error_norm(y_true, y_pred):
    """``||I - Î||^2``, the quantity differentiated by the P3S map (eq. 2.3)."""
    tf = _tf()
    return tf.reduce_sum(tf.square(y_true - y_pred))


def p3s_map(model, inputs: np.ndarray, target: np.ndarray, prediction: np.ndarray,
            **window) -> np.ndarray:
    """Pulse-sequence-specific saliency map, eq. 2.3: ``|d||I - Î||^2 / d I_source|``.

    ``inputs`` (D,H,W,C) and ``target``/``prediction`` (D,H,W) are normalised; returns
    (D,H,W,C), one map per input sequence.
    """
    upstream = loss_gradient(squared_error_norm, target, prediction)
    return np.abs(windowed_vjp(model, inputs, upstream, **window))


def attention_saliency_map(model, inputs: np.ndarray, target: np.ndarray,
                           prediction: np.ndarray, loss_fn: Callable,
                           roi: np.ndarray | None = None, **window) -> np.ndarray:
    """Visual attention saliency map, eq. 3.7: ``|d Loss / d I_M|``, max over channels.

    ``loss_fn`` is the reconstruction loss the generator was trained with (from
    ``msgan.losses``: l1, weighted_l1 or normalized_weighted_l1, the latter two with ``roi``).
    """
    upstream = loss_gradient(loss_fn, target, prediction, roi)
    return np.abs(windowed_vjp(model, inputs, upstream, **window)).max(axis=-1)


def mean_saliency_per_sequence(saliency: np.ndarray, names: Sequence[str],
                               brain: np.ndarray | None = None) -> list[tuple[str, float]]:
    """Mean saliency of each input sequence inside the brain, most salient first (sec. 2.3.3)."""
    region = np.ones(saliency.shape[:3], bool) if brain is None else brain
    means = [(name, float(saliency[..., c][region].mean())) for c, name in enumerate(names)]
    return sorted(means, key=lambda item: item[1], reverse=True)
