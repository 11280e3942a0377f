"""Where the windows of a sliding-window prediction go, and how much each voxel of a window counts.

Everything here is TensorFlow ops on (possibly dynamic) sizes so the same code runs eagerly
in ``msgan predict`` and inside the exported SavedModel graph (``predict_volume``).

Two ways to cover a volume (see :mod:`msgan.inference.sliding_window`):

- **blending** (networks with strides, e.g. the U-Nets): fixed windows placed by the one
  window grid (:func:`data_tools.shards.patches.window_starts`: step ``round(window * (1 -
  overlap))``, the last window flush with the end), overlapping outputs averaged with a
  constant or Gaussian importance map as MONAI's ``sliding_window_inference``;
- **halo** (stride-1 fully convolutional networks: fcn, mlp, dnn2): large tiles, each read
  with a margin (halo) of the network's receptive-field radius whose outputs are discarded,
  so the result equals one pass over the whole volume.
"""
from __future__ import annotations

import tensorflow as tf

#: MONAI's default Gaussian importance map: sigma = 0.125 x window size on each axis.
GAUSSIAN_SIGMA_SCALE = 0.125


def window_origins(per_axis_origins) -> tuple[tf.Tensor, tf.Tensor]:
    """All window corners ``(N, 3)`` and, for each, its index on every axis ``(N, 3)``."""
    counts = [tf.size(o) for o in per_axis_origins]
    grids = tf.meshgrid(*[tf.range(c) for c in counts], indexing="ij")
    axis_index = tf.stack([tf.reshape(g, [-1]) for g in grids], axis=1)
    corners = tf.stack([tf.gather(o, axis_index[:, k]) for k, o in enumerate(per_axis_origins)], axis=1)
    return corners, axis_index


def gaussian_profile(window) -> tf.Tensor:
    """1-D Gaussian weights centred on the window, sigma = 0.125 x window (MONAI's default).

    Floored at a small positive value (as MONAI clamps its map) so the window edges still
    count where only one window covers a voxel, e.g. at the volume's border.
    """
    window = tf.cast(window, tf.float32)
    x = tf.range(window) - (window - 1.0) / 2.0
    sigma = GAUSSIAN_SIGMA_SCALE * window
    profile = tf.exp(-0.5 * tf.square(x / sigma))
    return tf.maximum(profile, 1e-3)


def blending_weights(origins, window, mode: str) -> tf.Tensor:
    """Weights ``(n_windows_on_axis, window)`` of one axis: constant ones or the Gaussian."""
    profile = tf.ones([window], tf.float32) if mode == "constant" else gaussian_profile(window)
    return tf.tile(profile[None, :], [tf.size(origins), 1])


def halo_weights(origins, window, length, halo) -> tf.Tensor:
    """Weights ``(n_windows_on_axis, window)``: 1 on a window's trusted core, 0 on its halo.

    The halo (``halo`` voxels on each side, the receptive-field radius) is wrong only where
    the window cuts into the volume; at the volume's own borders there is nothing beyond
    to see, so a window touching a border trusts its output up to that border.
    """
    position = tf.range(window)[None, :]
    origins = tf.cast(origins, tf.int32)[:, None]
    starts_at_border = tf.equal(origins, 0)
    ends_at_border = tf.equal(origins + window, tf.cast(length, tf.int32))
    keep = ((position >= halo) | starts_at_border) & ((position < window - halo) | ends_at_border)
    return tf.cast(keep, tf.float32)


def weighted_spans(origins, weights) -> tuple[tf.Tensor, tf.Tensor]:
    """``(starts, stops)`` ``(n_windows_on_axis,)``: where each window's weights are > 0.

    A window changes the result only there (a halo tile's core, a blended window's whole
    extent), so only there does it need a brain voxel to be worth running.
    """
    positive = tf.cast(weights > 0, tf.int32)
    window = tf.shape(weights)[1]
    first = tf.argmax(positive, axis=1, output_type=tf.int32)
    after_last = window - tf.argmax(tf.reverse(positive, [1]), axis=1, output_type=tf.int32)
    origins = tf.cast(origins, tf.int32)
    return origins + first, origins + after_last


def box_counts(mask, lo, hi) -> tf.Tensor:
    """Voxels of ``mask`` ``(D, H, W)`` inside each box ``[lo, hi)`` (``(N, 3)`` each): ``(N,)``.

    One summed-volume table (cumulative sums along the three axes, a zero plane before
    each) answers every box by inclusion-exclusion of its 8 corners: O(volume + N).
    """
    table = tf.cast(mask, tf.int32)
    for axis in range(3):
        table = tf.cumsum(table, axis=axis)
    table = tf.pad(table, [[1, 0], [1, 0], [1, 0]])
    lo, hi = tf.cast(lo, tf.int32), tf.cast(hi, tf.int32)
    count = tf.zeros_like(lo[:, 0])
    for corner in range(8):
        upper = [(corner >> k) & 1 for k in range(3)]
        index = tf.stack([hi[:, k] if upper[k] else lo[:, k] for k in range(3)], axis=1)
        sign = 1 if (3 - sum(upper)) % 2 == 0 else -1
        count += sign * tf.gather_nd(table, index)
    return count


def brain_box(brain, margin, shape) -> tuple[tf.Tensor, tf.Tensor]:
    """``(lo, hi)`` ``(3,)``: the brain's bounding box grown by ``margin`` voxels, inside the
    volume of ``shape``; the whole volume when the mask is empty."""
    shape = tf.cast(shape, tf.int32)
    lo, hi = [], []
    for axis in range(3):
        others = [a for a in range(3) if a != axis]
        present = tf.cast(tf.where(tf.reduce_any(brain, axis=others))[:, 0], tf.int32)
        empty = tf.equal(tf.size(present), 0)
        lo.append(tf.where(empty, 0, tf.maximum(tf.reduce_min(present) - margin, 0)))
        hi.append(tf.where(empty, shape[axis], tf.minimum(tf.reduce_max(present) + 1 + margin, shape[axis])))
    return tf.stack(lo), tf.stack(hi)
