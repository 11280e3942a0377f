"""The three input geometries of the thesis, and the augmentation of sec. 4.3.1.

- ``whole``: the whole volume, one example per session (ch. 2: batch 1, no augmentation);
- ``crop``: a fixed window (128x160x128 in ch. 3, sec. 3.3.1) centred on the brain's
  bounding box, padded where the window leaves the volume;
- ``patches``: a regular grid of cubes (64^3 at 50 % overlap in ch. 4, sec. 4.3.1)
  covering the brain bounding box, the last flush with the box; patches reaching past the
  volume are padded, and only patches that touch the brain are kept.

Training patches, inference's sliding windows and the saliency windows all place their
windows with :func:`window_starts` (one rule: first at the start, stride
``round(window * (1 - overlap))``, last flush with the end). Origins are voxel indices of
a patch's first corner and may be negative or reach past the volume: :func:`extract`
pads those parts with a given value.
"""
from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np
from scipy import ndimage

from data_tools.contracts import look_up_option
from data_tools.contracts.shards import DEFAULT_CROP, DEFAULT_OVERLAP, DEFAULT_PATCH, LAYOUTS  # noqa: F401
from data_tools.errors import ConfigError, ImageContentError
#: sec. 4.3.1: three rotations (90, 180, 270 degrees), scaling up by 1.25 and down by 0.75.
AUGMENTATIONS = ("rot90", "rot180", "rot270", "zoom1.25", "zoom0.75")


def as_size(value: int | Sequence[int], what: str = "size") -> tuple[int, int, int]:
    """``64`` -> ``(64, 64, 64)``; ``"128,160,128"`` or a 3-sequence -> a 3-tuple of ints > 0."""
    if isinstance(value, str):
        value = [v for v in value.replace("x", ",").split(",") if v.strip()]
    if isinstance(value, (int, np.integer)):
        value = [value] * 3
    try:
        size = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f"{what} must be one integer or three (D,H,W), got {value!r}") from None
    if len(size) == 1:
        size = size * 3
    if len(size) != 3 or min(size) < 1:
        raise ConfigError(f"{what} must be one positive integer or three (D,H,W), got {value!r}")
    return size


def bounding_box(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(lo, hi)`` voxel indices of the mask's bounding box, ``hi`` exclusive."""
    where = np.argwhere(mask)
    if where.size == 0:
        raise ImageContentError("brain mask is empty")
    return where.min(0), where.max(0) + 1


def _namespace(*values):
    """numpy for plain numbers and arrays (no TensorFlow import: validation stays fast and
    quiet), ``keras.ops`` for tensors (a graph's dynamic sizes)."""
    if all(isinstance(v, (int, float, np.number, np.ndarray)) for v in values):
        return np
    import keras

    return keras.ops


def _as_int(xp, value):
    return np.asarray(value).astype(np.int64) if xp is np else xp.cast(value, "int32")


def window_stride(window, overlap: float):
    """Step between neighbouring windows: ``round(window * (1 - overlap))``, at least 1.

    ``window`` may be an int or an integer tensor (a graph's dynamic size); rounding is
    half to even in float64 in both cases, as Python's ``round``. (The thesis fixes 50 %
    only, where every rule agrees; rounding keeps the overlap nearest the one asked for.)
    """
    xp = _namespace(window)
    step = xp.round(xp.multiply(window if xp is np else xp.cast(window, "float64"), 1.0 - float(overlap)))
    return xp.maximum(_as_int(xp, step), 1)


def window_starts(length, window, overlap: float, core=None):
    """Start indices of the windows covering one axis of ``length`` voxels: THE window grid.

    The first window starts at 0 and windows step by :func:`window_stride` (of ``core``
    when given: tiles whose trusted core is smaller than the window step by the core);
    the last is flush with the end, so every voxel is covered and no window runs past
    the axis. An axis shorter than the window gets one window at 0, reaching past the end
    (callers pad). One body of array code: numpy for ints (an int array), ``keras.ops``
    for tensors, so it also runs on dynamic sizes inside a ``tf.function``/SavedModel.
    Used by training patches (:func:`grid_origins`), the sliding-window prediction
    (:mod:`msgan.inference.sliding_window`) and the saliency windows (:mod:`msgan.saliency.maps`).
    """
    xp = _namespace(length, window, *([] if core is None else [core]))
    stride = _as_int(xp, window_stride(window if core is None else core, overlap))
    span = _as_int(xp, length) - _as_int(xp, window)
    count = xp.maximum((span + stride - 1) // stride, 0) + 1  # ceil(span / stride) + 1
    return xp.maximum(xp.minimum(xp.arange(count) * stride, span), 0)


def grid_stride(patch: Sequence[int], overlap: float) -> tuple[int, int, int]:
    """Step between neighbouring patches on each axis (:func:`window_stride`), overlap checked."""
    if not 0 <= overlap < 1:
        raise ConfigError(f"overlap must be in [0, 1), got {overlap}")
    return tuple(int(window_stride(p, overlap)) for p in patch)


def grid_origins(lo: Sequence[int], hi: Sequence[int], patch: int | Sequence[int],
                 overlap: float = DEFAULT_OVERLAP) -> np.ndarray:
    """Corners of the regular grid of ``patch``-sized windows covering the box ``[lo, hi)``.

    Along each axis, :func:`window_starts` of the box's extent shifted by ``lo``: the first
    window at ``lo``, the last flush with ``hi`` (or one window at ``lo`` running past a
    box shorter than the patch; :func:`extract` pads). Returns an ``(N, 3)`` int array in
    C order (last axis fastest). Use with :func:`bounding_box` of a brain mask for
    training patches, or ``lo=(0,0,0), hi=volume.shape`` to tile a whole volume.
    """
    patch = as_size(patch, "patch size")
    grid_stride(patch, overlap)  # checks the overlap
    axes = [int(lo[a]) + np.asarray(window_starts(int(hi[a]) - int(lo[a]), patch[a], overlap), np.int64)
            for a in range(3)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    return grid.astype(np.int64)


def crop_origin(lo: Sequence[int], hi: Sequence[int], size: Sequence[int]) -> np.ndarray:
    """Corner of a ``size`` window centred on the box ``[lo, hi)`` (may be negative)."""
    lo, hi, size = np.asarray(lo), np.asarray(hi), np.asarray(size)
    return (lo + hi - size) // 2


def extract(volume: np.ndarray, origin: Sequence[int], size: Sequence[int], pad_value=0) -> np.ndarray:
    """The window ``volume[origin : origin + size]`` over the first three axes, padded.

    Parts outside the volume take ``pad_value`` (a scalar, or one value per channel of a
    channels-last 4-D volume).
    """
    origin = np.asarray(origin, np.int64)
    size = np.asarray(size, np.int64)
    shape = np.asarray(volume.shape[:3])
    src_lo = np.clip(origin, 0, shape)
    src_hi = np.clip(origin + size, 0, shape)
    out = np.empty(tuple(size) + volume.shape[3:], volume.dtype)
    out[...] = np.asarray(pad_value, volume.dtype)
    if np.all(src_hi > src_lo):
        dst_lo = src_lo - origin
        dst_hi = dst_lo + (src_hi - src_lo)
        out[dst_lo[0]:dst_hi[0], dst_lo[1]:dst_hi[1], dst_lo[2]:dst_hi[2]] = \
            volume[src_lo[0]:src_hi[0], src_lo[1]:src_hi[1], src_lo[2]:src_hi[2]]
    return out


def layout_origins(layout: str, brain: np.ndarray, *, crop: Sequence[int] = DEFAULT_CROP,
                   patch: Sequence[int] = DEFAULT_PATCH, overlap: float = DEFAULT_OVERLAP,
                   min_brain: float = 0.0) -> tuple[np.ndarray, tuple[int, int, int]]:
    """Example corners and the example size of ``layout`` for a session's brain mask.

    ``patches`` keeps only grid windows containing at least one brain voxel, and at least
    the fraction ``min_brain`` of brain voxels (patches of mostly background teach little).
    """
    look_up_option(layout, LAYOUTS, "layout")
    if layout == "whole":
        return np.zeros((1, 3), np.int64), tuple(int(s) for s in brain.shape)
    lo, hi = bounding_box(brain)
    if layout == "crop":
        size = as_size(crop, "crop size")
        return crop_origin(lo, hi, size)[None].astype(np.int64), size
    size = as_size(patch, "patch size")  # layout "patches"
    origins = grid_origins(lo, hi, size, overlap)
    if not 0 <= min_brain <= 1:
        raise ConfigError(f"the minimum brain fraction of a patch must be in [0, 1], got {min_brain}")
    fractions = np.array([extract(brain, o, size, False).mean() for o in origins])
    return origins[(fractions > 0) & (fractions >= min_brain)], size


def _fit_to(array: np.ndarray, size: Sequence[int], pad_value) -> np.ndarray:
    """Centre-crop or centre-pad the first three axes of ``array`` to ``size``."""
    origin = (np.asarray(array.shape[:3]) - np.asarray(size)) // 2
    return extract(array, origin, size, pad_value)


def augment(example: dict[str, np.ndarray], kind: str, pad_values: dict[str, object]) -> dict[str, np.ndarray]:
    """One augmentation of sec. 4.3.1, applied identically to every array of ``example``.

    ``example`` maps names to channels-last arrays ``(D, H, W[, C])``; rotations turn the
    (D, H) plane (the axial plane of RAS/MNI-ordered volumes), which needs ``D == H``.
    Zooms use ``scipy.ndimage.zoom`` about the patch centre, then centre-crop (x1.25) or
    pad (x0.75, with ``pad_values[name]``) back to the patch size. Integer arrays (masks,
    ROI labels) are resampled nearest neighbour, images linearly.
    """
    look_up_option(kind, AUGMENTATIONS, "augmentation")
    out = {}
    for name, array in example.items():
        if kind.startswith("rot"):
            if array.shape[0] != array.shape[1]:
                raise ConfigError(f"rotation needs square (D, H) patches, got {array.shape[:3]}")
            out[name] = np.ascontiguousarray(np.rot90(array, int(kind[3:]) // 90, axes=(0, 1)))
        else:  # zoom
            factor = float(kind[4:])
            order = 0 if np.issubdtype(array.dtype, np.integer) or array.dtype == bool else 1
            factors = (factor,) * 3 + (1,) * (array.ndim - 3)
            zoomed = ndimage.zoom(array, factors, order=order, mode="nearest", grid_mode=True)
            out[name] = _fit_to(zoomed, array.shape[:3], pad_values.get(name, 0))
    return out


def augmented(example: dict[str, np.ndarray], pad_values: dict[str, object],
              kinds: Sequence[str] = AUGMENTATIONS) -> Iterator[tuple[str, dict[str, np.ndarray]]]:
    """The original example (``"none"``) followed by each augmentation in ``kinds``."""
    yield "none", example
    for kind in kinds:
        yield kind, augment(example, kind, pad_values)
