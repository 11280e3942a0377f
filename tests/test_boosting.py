"""The gradient-boosting baseline (issue 19): its features by hand, fit/predict, scale-freeness."""
import numpy as np
import pytest

from msgan.classic import GradientBoostingSynthesis
from msgan.classic.boosting import zscore_neighbourhood_features
from msgan.errors import ImageContentError
from msgan.classic.cohort import CLASSIC_MODELS, build_classic


def test_features_by_hand():
    volume = np.full((3, 3, 3, 1), 2.0, np.float32)
    volume[0, 0, 0], volume[2, 2, 2] = 1.0, 3.0
    brain = np.zeros((3, 3, 3), bool)
    brain[0, 0, 0] = brain[2, 2, 2] = True  # brain values 1 and 3: mean 2, SD 1
    f = zscore_neighbourhood_features(volume, brain)
    assert f.shape == (3, 3, 3, 3)
    assert f[0, 0, 0, 0] == -1 and f[2, 2, 2, 0] == 1 and f[1, 1, 1, 0] == 0
    # 3^3 mean at the corner, edges repeated: z(0,0,0) = -1 fills 2x2x2 of the 27 places
    assert f[0, 0, 0, 1] == pytest.approx(-8 / 27)
    assert f[1, 1, 1, 1] == pytest.approx(0.0)  # -1 and +1 once each
    # 7^3 at the corner: axis indices -3..3 -> 0 four times, 1 once, 2 twice:
    # (0,0,0) counted 4^3 = 64 times, (2,2,2) 2^3 = 8 times
    assert f[0, 0, 0, 2] == pytest.approx((-64 + 8) / 343)


def test_features_refuse_a_constant_channel():
    with pytest.raises(ImageContentError):
        zscore_neighbourhood_features(np.ones((4, 4, 4, 1), np.float32), None)


def synthetic(seed, shape=(12, 12, 12)):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(1,) + shape + (2,)).astype(np.float32)
    target = np.tanh(2 * x[..., :1]) + 0.5 * x[..., 1:2] ** 2
    return x, target.astype(np.float32)


def test_boosting_learns_and_ignores_each_subjects_scale():
    x, y = synthetic(0)
    model = GradientBoostingSynthesis(max_iter=30).fit(x, y)
    assert model.estimator.max_iter == 30 and model.n_train_voxels == 12 ** 3
    x_test, y_test = synthetic(1)
    prediction = model.predict(x_test)
    assert prediction.shape == y_test.shape
    assert np.mean((prediction - y_test) ** 2) < 0.5 * np.var(y_test)
    # another scanner: every channel scaled and shifted; per-subject z-scores undo it
    rescaled = model.predict(x_test * np.float32([1.4, 0.7]) + np.float32([30.0, -5.0]))
    np.testing.assert_allclose(rescaled, prediction, atol=1e-4)


def test_boosting_defaults_and_samples_per_example():
    model = GradientBoostingSynthesis()
    assert model.estimator.max_iter == 300 and model.estimator.early_stopping is False
    x = np.concatenate([synthetic(0)[0], synthetic(1)[0]])
    y = np.concatenate([synthetic(0)[1], synthetic(1)[1]])
    n = GradientBoostingSynthesis(max_iter=2, max_train_voxels=200).fit(x, y).n_train_voxels
    assert 300 < n < 500  # ~200 from each of the two examples
    mask = np.zeros(x.shape[:4], bool)
    mask[:, 2:10, 2:10, 2:10] = True
    masked = GradientBoostingSynthesis(max_iter=2).fit(x, y, mask=mask)
    assert masked.n_train_voxels == 2 * 8 ** 3
    assert (masked.predict(x, mask=mask)[~mask] == 0).all()


def test_boosting_is_a_classic_model_of_ablate():
    assert "gradient_boosting" in CLASSIC_MODELS
    assert isinstance(build_classic("gradient_boosting", 0), GradientBoostingSynthesis)
