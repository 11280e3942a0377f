"""Random forest regression on 3x3x3 patches (Jog et al. 2014; thesis sec. 2.2.3)."""
from __future__ import annotations

from sklearn.ensemble import RandomForestRegressor

from msgan.classic.patches import PatchRegressor


class RandomForestSynthesis(PatchRegressor):
    """A random forest of ``n_trees`` (60 in the thesis) regressing the target voxel on the
    3x3x3 patch of every input around it. ``min_samples_leaf`` bounds the trees' size (and
    memory) on hundreds of thousands of voxels; ``n_jobs`` as in scikit-learn.

    ``max_features``: the share of the 27 x C features drawn at each split. A third is
    Breiman's choice for regression forests (and R's ``randomForest`` default); scikit-learn's
    default (all features) makes bagged trees that fit about 3x slower on two cores, which
    on 200,000 voxels of a 1 mm brain is minutes per fold."""

    def __init__(self, n_trees=60, min_samples_leaf=5, max_features=1 / 3, n_jobs=None,
                 max_train_voxels=200_000, chunk_size=100_000, seed=0):
        super().__init__(max_train_voxels, chunk_size, seed)
        self.estimator = RandomForestRegressor(n_estimators=n_trees,
                                               min_samples_leaf=min_samples_leaf,
                                               max_features=max_features,
                                               n_jobs=n_jobs, random_state=seed)
