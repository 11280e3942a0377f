"""Classic baselines: patch features by hand, fit/predict on tiny volumes, bad input."""
import numpy as np
import pytest

from msgan.classic import ModalityPropagation, RandomForestSynthesis, patch_features
from msgan.classic.patches import OFFSETS
from msgan.errors import ConfigError, GeometryError, ImageContentError


def test_patch_features_by_hand():
    volume = np.arange(27, dtype=np.float32).reshape(3, 3, 3, 1)
    centre = patch_features(volume, np.array([[1, 1, 1]]))
    np.testing.assert_array_equal(centre[0], np.arange(27))  # C-order offsets = raveled cube
    corner = patch_features(volume, np.array([[0, 0, 0]]))[0]
    # edge padding: offset (-1, -1, -1) repeats voxel (0, 0, 0); (1, 1, 1) is voxel (1, 1, 1)
    assert corner[OFFSETS.index((-1, -1, -1))] == 0
    assert corner[OFFSETS.index((1, 1, 1))] == 13
    assert corner[OFFSETS.index((0, 0, 1))] == 1
    two = np.concatenate([volume, 100 + volume], axis=-1)
    f = patch_features(two, np.array([[1, 1, 1]]))[0]
    assert f.shape == (54,) and f[26] == 13 and f[27] == 113  # centre: channel 0 then 1


def synthetic(seed, shape=(12, 12, 12)):
    """Inputs of 3 channels and a target that is a non-linear function of their patches."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(1,) + shape + (3,)).astype(np.float32)
    target = np.tanh(x[..., :1]) + 0.5 * x[..., 1:2] * x[..., 2:3]
    target[:, 1:] += 0.3 * x[:, :-1, ..., :1]  # a neighbour's contribution
    return x, target.astype(np.float32)


def test_random_forest_learns_a_patch_mapping():
    x, y = synthetic(0)
    forest = RandomForestSynthesis(n_trees=20, min_samples_leaf=2, max_train_voxels=1500)
    forest.fit(x, y)
    x_test, y_test = synthetic(1)
    prediction = forest.predict(x_test)
    assert prediction.shape == y_test.shape
    mse = np.mean((prediction - y_test) ** 2)
    assert mse < 0.5 * np.var(y_test)  # explains more than half the variance on new data


def test_forest_uses_60_trees_by_default_and_subsamples_training_voxels():
    x, y = synthetic(0)
    assert RandomForestSynthesis().estimator.n_estimators == 60
    assert RandomForestSynthesis().estimator.max_features == pytest.approx(1 / 3)
    assert RandomForestSynthesis(n_trees=3).fit(x, y).n_train_voxels == 12 ** 3
    sampled = RandomForestSynthesis(n_trees=3, max_train_voxels=100).fit(x, y).n_train_voxels
    assert 60 < sampled < 140  # ~100 of the 1,728 voxels, drawn at random


def test_modality_propagation_averages_the_k_nearest_target_centres():
    x, y = synthetic(0, shape=(6, 6, 6))
    one = ModalityPropagation(k=1).fit(x, y)
    np.testing.assert_allclose(one.predict(x), y, rtol=1e-6)  # each patch is its own neighbour
    # k = 2: the voxel's own value and its nearest other patch's, averaged
    two = ModalityPropagation(k=2).fit(x, y)
    features = patch_features(x[0], np.argwhere(np.ones((6, 6, 6), bool)))
    distances = ((features[:, None] - features[None]) ** 2).sum(-1)
    np.fill_diagonal(distances, np.inf)
    expected = (y[0].ravel() + y[0].ravel()[distances.argmin(1)]) / 2
    np.testing.assert_allclose(two.predict(x)[0].ravel(), expected, rtol=1e-5)


def test_mask_limits_training_and_prediction():
    x, y = synthetic(0, shape=(6, 6, 6))
    mask = np.zeros((1, 6, 6, 6), bool)
    mask[0, 1:5, 1:5, 1:5] = True
    prediction = ModalityPropagation(k=1).fit(x, y, mask).predict(x, mask)
    assert np.all(prediction[0][~mask[0]] == 0)
    np.testing.assert_allclose(prediction[0][mask[0]], y[0][mask[0]], rtol=1e-6)


def test_bad_input_raises_one_line_errors():
    x, y = synthetic(0, shape=(4, 4, 4))
    model = ModalityPropagation(k=1)
    with pytest.raises(ConfigError, match="fitted"):
        model.predict(x)
    bad = x.copy()
    bad[0, 0, 0, 0, 0] = np.nan
    with pytest.raises(ImageContentError, match="NaN"):
        model.fit(bad, y)
    with pytest.raises(GeometryError, match="target"):
        model.fit(x, y[:, :3])
    with pytest.raises(ImageContentError, match="empty"):
        model.fit(x, y, np.zeros((1, 4, 4, 4), bool))
    model.fit(x, y)
    with pytest.raises(ConfigError, match="3 inputs"):
        model.predict(x[..., :2])
