"""Modality propagation (Ye et al. 2013; thesis sec. 2.2.3)."""
from __future__ import annotations

from sklearn.neighbors import KNeighborsRegressor

from msgan.classic.patches import PatchRegressor


class ModalityPropagation(PatchRegressor):
    """For each 3x3x3 input patch, the ``k`` nearest training patches (Euclidean distance
    on the normalised intensities) and the average of their target centre voxels.

    Ye et al. search each patch's neighbours within a small window of registered atlases;
    we search all (subsampled) training patches, which needs no registration to a common
    space. Prediction cost grows with ``max_train_voxels`` (50,000 by default)."""

    def __init__(self, k=5, max_train_voxels=50_000, chunk_size=20_000, n_jobs=None, seed=0):
        super().__init__(max_train_voxels, chunk_size, seed)
        self.k = int(k)
        self.estimator = KNeighborsRegressor(n_neighbors=self.k, n_jobs=n_jobs)
