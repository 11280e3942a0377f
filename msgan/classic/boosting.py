"""Gradient boosting on per-subject z-scores and their neighbourhood means (issue 19).

Not a method of the thesis: the half-minute classic baseline a reader should expect a
deep model to beat on real scans (scikit-learn's ``HistGradientBoostingRegressor``).
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage
from sklearn.ensemble import HistGradientBoostingRegressor

from data_tools.shards.normalize import Normalizer
from msgan.classic.patches import PatchRegressor

#: neighbourhood sides of the mean features (scipy.ndimage.uniform_filter sizes)
NEIGHBOURHOODS = (3, 7)


def subject_zscore(volume: np.ndarray, brain: np.ndarray | None) -> np.ndarray:
    """Each channel of ``volume`` (D, H, W, C) z-scored by its own statistics inside
    ``brain`` (every voxel without one), as :meth:`Normalizer.per_image` does: scanner
    scale and offset removed."""
    brain = np.ones(volume.shape[:-1], bool) if brain is None else brain
    return Normalizer.per_image().apply_channels([str(c) for c in range(volume.shape[-1])], volume, brain)


def zscore_neighbourhood_features(volume: np.ndarray, brain: np.ndarray | None,
                                  sizes=NEIGHBOURHOODS) -> np.ndarray:
    """(D, H, W, C * (1 + len(sizes))): the per-subject z-scores of every channel, then
    their means over each cube of ``sizes`` voxels a side (edges repeated), channel-major
    within each block: [z_1..z_C, mean3_1..mean3_C, mean7_1..mean7_C]."""
    z = subject_zscore(volume, brain)
    blocks = [z] + [ndimage.uniform_filter(z, size=(s, s, s, 1), mode="nearest") for s in sizes]
    return np.concatenate(blocks, axis=-1)


class GradientBoostingSynthesis(PatchRegressor):
    """``HistGradientBoostingRegressor`` (``max_iter`` boosting iterations, 300 by default,
    no early stopping so the fit is the stated one) on
    :func:`zscore_neighbourhood_features`, at most ``max_train_voxels`` brain voxels drawn
    per training example (200,000: a patient's brain is ~1.5 million at 1 mm).
    The target is regressed in whatever units it is given."""

    per_example = True

    def __init__(self, max_iter=300, learning_rate=0.1, max_train_voxels=200_000,
                 chunk_size=200_000, n_jobs=None, seed=0):
        super().__init__(max_train_voxels, chunk_size, seed)
        # n_jobs is accepted for the classic models' common signature: scikit-learn's
        # histogram boosting threads through OpenMP (OMP_NUM_THREADS), not joblib
        self.estimator = HistGradientBoostingRegressor(max_iter=max_iter, learning_rate=learning_rate,
                                                       early_stopping=False, random_state=seed)

    def feature_volume(self, volume, brain):
        return zscore_neighbourhood_features(volume, brain)

    def features(self, prepared, voxels):
        return prepared[tuple(np.asarray(voxels).T)]
