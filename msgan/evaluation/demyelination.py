"""Voxel-wise demyelination in lesions (thesis sec. 3.3.5 and 4.2.5, after Bodini 2016).

A lesional voxel is demyelinated when its DVR is below the mean minus one SD of the
healthy controls' white-matter voxels lying at the same distance from the CSF.

Two choices the thesis leaves open, each a named option checked by
:func:`check_threshold_options`:

- threshold source: which controls' maps set the thresholds of a map. ``same`` (default):
  a true map is classified with the controls' true maps, a predicted map with the
  controls' maps predicted by the same method, so a global bias of a prediction does not
  count as (de)myelination and no true PET of the controls is needed to use a model;
  ``truth``: every map with the controls' true maps.
- threshold space: where the distance to CSF is measured. ``native`` (default): in each
  subject's own space (scipy's Euclidean distance transform of its CSF mask, in mm);
  ``mni``: the thesis's group-level procedure, the distance of each voxel's location in
  MNI space after a non-linear registration (:mod:`msgan.evaluation.mni_space`).
Either way the distance is binned and the controls' per-bin statistics pooled.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np
from scipy import ndimage

from data_tools.contracts import THRESHOLD_SOURCES, THRESHOLD_SPACES, look_up_option
from data_tools.errors import ImageContentError

DEFAULT_BIN_MM = 2.0
MIN_CONTROL_VOXELS = 10  # a bin with fewer control voxels borrows the nearest well-filled bin


def check_threshold_options(source: str, space: str) -> None:
    """A :class:`ConfigError` for a threshold source or space msgan does not know
    (:data:`THRESHOLD_SOURCES`, :data:`THRESHOLD_SPACES`, from :mod:`data_tools.contracts`)."""
    look_up_option(source, THRESHOLD_SOURCES, "threshold source")
    look_up_option(space, THRESHOLD_SPACES, "threshold space")


def distance_to_csf(csf: np.ndarray, zooms=(1.0, 1.0, 1.0), where=None) -> np.ndarray:
    """Euclidean distance in mm of every voxel to the nearest CSF voxel (0 inside CSF)."""
    csf = np.asarray(csf, bool)
    if not csf.any():
        raise ImageContentError("CSF mask is empty; the distance to CSF is undefined", where)
    return ndimage.distance_transform_edt(~csf, sampling=tuple(float(z) for z in zooms))


def distance_bins(distance: np.ndarray, bin_mm: float = DEFAULT_BIN_MM) -> np.ndarray:
    """Bin index of each voxel: floor(distance / bin_mm)."""
    return np.floor(np.asarray(distance) / bin_mm).astype(np.int64)


@dataclass
class ControlThresholds:
    """Per distance bin: the controls' pooled voxel mean, SD (ddof=0) and count."""

    bin_mm: float
    mean: np.ndarray
    sd: np.ndarray
    count: np.ndarray
    min_voxels: int = MIN_CONTROL_VOXELS

    @property
    def threshold(self) -> np.ndarray:
        """mean - 1 SD per bin; NaN where the bin has too few control voxels."""
        thr = self.mean - self.sd
        thr[self.count < self.min_voxels] = np.nan
        return thr

    def lookup(self, distance: np.ndarray) -> np.ndarray:
        """The threshold of each voxel's bin; bins the controls do not fill take the nearest filled bin."""
        thr = self.threshold
        filled = np.flatnonzero(np.isfinite(thr))
        if filled.size == 0:
            raise ImageContentError(f"no distance bin holds {self.min_voxels} control WM voxels; "
                                    "cannot set demyelination thresholds")
        bins = distance_bins(distance, self.bin_mm)
        nearest = filled[np.abs(bins.ravel()[:, None] - filled).argmin(1)]
        return thr[nearest].reshape(bins.shape)


def pool_control_statistics(samples: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]],
                            bin_mm: float = DEFAULT_BIN_MM,
                            min_voxels: int = MIN_CONTROL_VOXELS) -> ControlThresholds:
    """Pool ``(true_pet, distance_to_csf, wm_mask)`` of every control into per-bin statistics."""
    sums = np.zeros(0)
    squares = np.zeros(0)
    counts = np.zeros(0)
    for pet, distance, wm in samples:
        wm = np.asarray(wm, bool)
        bins = distance_bins(distance[wm], bin_mm)
        values = np.asarray(pet, np.float64)[wm]
        size = max(len(counts), int(bins.max()) + 1 if bins.size else 0)
        sums, squares, counts = (np.pad(a, (0, size - len(a))) for a in (sums, squares, counts))
        sums += np.bincount(bins, values, size)
        squares += np.bincount(bins, values ** 2, size)
        counts += np.bincount(bins, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = sums / counts
        var = np.maximum(squares / counts - mean ** 2, 0.0)
    return ControlThresholds(bin_mm, mean, np.sqrt(var), counts.astype(np.int64), min_voxels)


def demyelinated_map(pet: np.ndarray, region: np.ndarray, distance: np.ndarray,
                     thresholds: ControlThresholds) -> np.ndarray:
    """Voxels of ``region`` (the lesions) whose DVR is below their distance bin's threshold."""
    region = np.asarray(region, bool)
    out = np.zeros(region.shape, bool)
    out[region] = pet[region] < thresholds.lookup(distance[region])
    return out


def percentage_demyelinated(demyelinated: np.ndarray, lesion_load: np.ndarray) -> float:
    """100 x demyelinated voxels / voxels of the (baseline) lesion load (Figs. 3.8A, 4.4A)."""
    load = int(np.asarray(lesion_load, bool).sum())
    if load == 0:
        return float("nan")
    return 100.0 * int(np.asarray(demyelinated, bool).sum()) / load
