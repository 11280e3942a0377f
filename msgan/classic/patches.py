"""3x3x3 patch features of multichannel volumes, and the shared fit/predict-on-volumes logic."""
from __future__ import annotations

import itertools

import numpy as np

from msgan.errors import ConfigError, GeometryError, ImageContentError

#: the 27 offsets of a 3x3x3 patch, in C order (the centre is number 13)
OFFSETS = tuple(itertools.product((-1, 0, 1), repeat=3))


def patch_features(volume, voxels):
    """Features of the 3x3x3 patches centred on ``voxels``.

    volume: (D, H, W, C); voxels: (n, 3) int indices. Returns float32 (n, 27 * C): for each
    offset of :data:`OFFSETS`, the C channel values (edge voxels are padded by repetition).
    """
    padded = np.pad(volume, ((1, 1), (1, 1), (1, 1), (0, 0)), mode="edge")
    centre = np.asarray(voxels) + 1
    features = np.empty((len(centre), len(OFFSETS) * volume.shape[-1]), np.float32)
    channels = volume.shape[-1]
    for k, (dz, dy, dx) in enumerate(OFFSETS):
        features[:, k * channels:(k + 1) * channels] = padded[
            centre[:, 0] + dz, centre[:, 1] + dy, centre[:, 2] + dx]
    return features


def check_batch(inputs, what="inputs"):
    """A finite float32 (B, D, H, W, C) array, or a one-line error."""
    inputs = np.asarray(inputs, dtype=np.float32)
    if inputs.ndim != 5:
        raise GeometryError(f"{what} must be (batch, depth, height, width, channels), "
                            f"got shape {inputs.shape}")
    if not np.isfinite(inputs).all():
        raise ImageContentError(f"{what} contain NaN or infinite values")
    return inputs


def mask_voxels(mask, shape, example):
    """(n, 3) indices of the voxels of ``example`` to use: all of them without a mask."""
    if mask is None:
        return np.argwhere(np.ones(shape[1:4], bool))
    mask = np.asarray(mask)
    if mask.shape[:4] != tuple(shape[:4]):
        raise GeometryError(f"mask shape {mask.shape} does not match the inputs {tuple(shape)}")
    voxels = np.argwhere(mask[example].reshape(shape[1:4]) > 0)
    if len(voxels) == 0:
        raise ImageContentError(f"the mask of example {example} is empty")
    return voxels


class PatchRegressor:
    """Fit a scikit-learn regressor from 3x3x3 input patches to the target's centre voxel.

    At most ``max_train_voxels`` training voxels, drawn uniformly (seeded) from the masked
    voxels of all examples (of each example when ``per_example`` is True), so that fitting
    stays within memory on whole brains. Subclasses set ``self.estimator`` and may replace
    the features (:meth:`feature_volume`, :meth:`features`).
    """

    per_example = False

    def feature_volume(self, volume, brain):
        """What :meth:`features` reads, computed once per example (here the volume itself)."""
        return volume

    def features(self, prepared, voxels):
        """(n, F) features of ``voxels`` from :meth:`feature_volume`'s result."""
        return patch_features(prepared, voxels)

    @staticmethod
    def _brain(mask, example):
        return None if mask is None else np.asarray(mask[example]).reshape(np.shape(mask[example])[:3]) > 0

    def __init__(self, max_train_voxels=200_000, chunk_size=100_000, seed=0):
        self.max_train_voxels = int(max_train_voxels)
        self.chunk_size = int(chunk_size)
        self.seed = seed
        self.n_inputs = None

    def fit(self, inputs, target, mask=None):
        inputs = check_batch(inputs)
        target = check_batch(target, "target")
        if target.shape[:4] != inputs.shape[:4] or target.shape[-1] != 1:
            raise GeometryError(f"target shape {target.shape} does not match the inputs "
                                f"{inputs.shape} (one target channel expected)")
        rng = np.random.default_rng(self.seed)
        per_example = [mask_voxels(mask, inputs.shape, b) for b in range(len(inputs))]
        total = sum(len(v) for v in per_example)
        features, values = [], []
        for b, voxels in enumerate(per_example):
            keep = min(1.0, self.max_train_voxels / (len(voxels) if self.per_example else total))
            if keep < 1.0:
                voxels = voxels[rng.random(len(voxels)) < keep]
            features.append(self.features(self.feature_volume(inputs[b], self._brain(mask, b)), voxels))
            values.append(target[b][tuple(voxels.T)][:, 0])
        features, values = np.concatenate(features), np.concatenate(values)
        self.estimator.fit(features, values)
        self.n_train_voxels = len(values)
        self.n_inputs = inputs.shape[-1]
        return self

    def predict(self, inputs, mask=None):
        """(B, D, H, W, 1) predictions; voxels outside ``mask`` are 0."""
        from tqdm import tqdm

        if self.n_inputs is None:
            raise ConfigError(f"{type(self).__name__} must be fitted before predicting")
        inputs = check_batch(inputs)
        if inputs.shape[-1] != self.n_inputs:
            raise ConfigError(f"fitted on {self.n_inputs} inputs, got {inputs.shape[-1]}")
        output = np.zeros(inputs.shape[:4] + (1,), np.float32)
        for b in range(len(inputs)):
            voxels = mask_voxels(mask, inputs.shape, b)
            prepared = self.feature_volume(inputs[b], self._brain(mask, b))
            starts = range(0, len(voxels), self.chunk_size)
            for start in tqdm(starts, desc=f"{type(self).__name__} example {b}", leave=False,
                              disable=len(starts) < 2):
                chunk = voxels[start:start + self.chunk_size]
                output[b][tuple(chunk.T)] = self.estimator.predict(
                    self.features(prepared, chunk))[:, None]
        return output
