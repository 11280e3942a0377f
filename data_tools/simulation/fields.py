"""Smooth random fields: drawn on a coarse grid, smoothed there, upsampled separably.

A displacement field or a bias field varies over centimetres, so drawing it voxel by
voxel at 1 mm and smoothing with a wide Gaussian would waste most of the time. Drawing
white noise on a grid a few mm apart, smoothing it there and interpolating linearly to
the fine grid (one small matrix product per axis) gives the same kind of field in a
fraction of the time, with exactly the requested shape.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage


def linear_upsampling_matrix(n_fine: int, n_coarse: int, step: float) -> np.ndarray:
    """Weights ``(n_fine, n_coarse)`` interpolating linearly from coarse nodes ``step`` fine voxels apart."""
    position = np.arange(n_fine, dtype=np.float64) / step
    lower = np.clip(np.floor(position).astype(int), 0, n_coarse - 2)
    frac = np.clip(position - lower, 0.0, 1.0)
    weights = np.zeros((n_fine, n_coarse), dtype=np.float32)
    rows = np.arange(n_fine)
    weights[rows, lower] = 1.0 - frac
    weights[rows, lower + 1] = frac
    return weights


def upsample(coarse: np.ndarray, shape: tuple[int, int, int], step: float) -> np.ndarray:
    """Interpolate a coarse 3-D array to ``shape`` (coarse nodes every ``step`` fine voxels).

    One matrix product per axis, the last axis first so the big products run on
    contiguous memory.
    """
    w0, w1, w2 = (linear_upsampling_matrix(n, c, step) for n, c in zip(shape, coarse.shape))
    out = coarse.astype(np.float32) @ w2.T                 # (c0, c1, n2)
    out = np.matmul(w1, out)                               # (c0, n1, n2)
    out = (w0 @ out.reshape(out.shape[0], -1)).reshape(shape)
    return np.ascontiguousarray(out, dtype=np.float32)


def smooth_random_field(rng: np.random.Generator, shape: tuple[int, int, int], voxel_mm: float,
                        correlation_mm: float, n_fields: int = 1) -> np.ndarray:
    """``n_fields`` zero-mean, unit-SD smooth fields of ``shape``; returns ``(n_fields, *shape)``.

    ``correlation_mm`` is the Gaussian smoothing SD; the coarse grid spacing is a third
    of it (at least one fine voxel), fine enough for linear interpolation to be smooth.
    """
    spacing_mm = max(correlation_mm / 3.0, voxel_mm)
    step = spacing_mm / voxel_mm
    coarse_shape = tuple(int(np.ceil((n - 1) / step)) + 2 for n in shape)
    fields = np.empty((n_fields, *shape), dtype=np.float32)
    for k in range(n_fields):
        noise = rng.standard_normal(coarse_shape)
        noise = ndimage.gaussian_filter(noise, correlation_mm / spacing_mm, mode="wrap")
        noise = (noise - noise.mean()) / (noise.std() + 1e-12)
        fields[k] = upsample(noise, shape, step)
    return fields
