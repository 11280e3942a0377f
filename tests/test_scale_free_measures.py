"""Scale-free SSIM and brain correlation (issue 19) against hand-worked values."""
import numpy as np
import pytest

from msgan.evaluation.image_quality import (brain_correlation, image_quality, match_brain_moments,
                                            scale_free_ssim, ssim)


def test_match_brain_moments_by_hand():
    true = np.array([1.0, 2.0, 3.0, 4.0, 0.0])
    brain = np.array([True, True, True, True, False])
    np.testing.assert_allclose(match_brain_moments(np.array([10.0, 20, 30, 40, 0]), true, brain),
                               [1, 2, 3, 4, 0])
    # z = [-1, -1, 1, 1]; truth mean 2.5, SD sqrt(1.25); outside the brain untouched
    matched = match_brain_moments(np.array([0.0, 0, 1, 1, 7]), true, brain)
    s = np.sqrt(1.25)
    np.testing.assert_allclose(matched, [2.5 - s, 2.5 - s, 2.5 + s, 2.5 + s, 7])


def test_brain_correlation_by_hand():
    true = np.array([1.0, 2, 3, 4, 100])
    pred = np.array([1.0, 3, 2, 4, -100])
    brain = np.array([1, 1, 1, 1, 0], bool)
    # deviations (-1.5, -.5, .5, 1.5) and (-1.5, .5, -.5, 1.5): sum of products 4, squares 5 and 5
    assert brain_correlation(true, pred, brain) == pytest.approx(0.8)
    assert np.isnan(brain_correlation(true, np.ones(5), brain))


def brain_volume(seed=0, shape=(16, 16, 16)):
    rng = np.random.default_rng(seed)
    brain = np.ones(shape, bool)
    brain[0] = False  # one background slab; SSIM windows elsewhere see only brain
    true = np.where(brain, 100 + 20 * rng.normal(size=shape), 0.0)
    return true, brain


def test_scale_free_ssim_ignores_scale_and_offset_but_not_structure():
    true, brain = brain_volume()
    rescaled = np.where(brain, 0.5 * true + 200, 0.0)  # another scanner's units
    assert ssim(true, rescaled, brain) < 0.6
    assert scale_free_ssim(true, rescaled, brain) == pytest.approx(1.0)
    other, _ = brain_volume(seed=1)  # same moments, unrelated structure
    assert scale_free_ssim(true, other, brain) < 0.2
    q = image_quality(true, rescaled, brain)
    assert q["ssim_scale_free_brain"] == pytest.approx(1.0) and q["correlation_brain"] == pytest.approx(1.0)
    assert q["ssim_brain"] < 0.6
