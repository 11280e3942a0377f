"""The losses against values worked by hand on 4-voxel examples.

Example A: y_true (1, 2, 3, 4), y_pred (0, 0, 3, 8), so |error| = (1, 2, 0, 4), with
ROI labels (lesion, NAWM, NAWM, other). Example B (a healthy control): the same images
with labels (NAWM, NAWM, other, other), i.e. no lesion.
"""
import math

import keras
import numpy as np
import pytest

from msgan import losses

TRUE = np.array([1, 2, 3, 4], np.float32)
PRED = np.array([0, 0, 3, 8], np.float32)
ROI_A = np.array([1, 2, 2, 3], np.int32)
ROI_B = np.array([2, 2, 3, 3], np.int32)  # no lesion


def vol(*examples):
    """Stack 4-voxel vectors into (B, 1, 2, 2, 1) volumes."""
    return np.stack([np.reshape(e, (1, 2, 2, 1)) for e in examples])


def value(x):
    return float(keras.ops.convert_to_numpy(x))


def test_mse_and_l1_are_voxel_means():
    assert value(losses.mse(vol(TRUE), vol(PRED))) == pytest.approx((1 + 4 + 0 + 16) / 4)
    assert value(losses.l1(vol(TRUE), vol(PRED), vol(ROI_A))) == pytest.approx(7 / 4)


def test_weighted_l1_eq_3_5_by_hand():
    # A: lesion mean 1/1, NAWM mean (2+0)/2, other 4/1 -> 6, times 1/(N*3) (eq. 3.5's 1/M
    # replaced by 1/3 regions) = 1/3
    assert value(losses.weighted_l1(vol(TRUE), vol(PRED), vol(ROI_A))) == pytest.approx(2.0)
    # B, no lesion: NAWM (1+2)/2 + other (0+4)/2 = 3.5, over 3 regions; no NaN
    b = value(losses.weighted_l1(vol(TRUE), vol(PRED), vol(ROI_B)))
    assert b == pytest.approx(3.5 / 3)
    # both: (6 + 3.5) / (N=2 * 3)
    both = losses.weighted_l1(vol(TRUE, TRUE), vol(PRED, PRED), vol(ROI_A, ROI_B))
    assert value(both) == pytest.approx(9.5 / 6)


def test_normalized_weighted_l1_eq_4_4_by_hand():
    # A: fractions lesion 1/4, NAWM 2/4, other 1/4 -> weights .75, .5, .5, .75
    # sum w|e| = .75*1 + .5*2 + .5*0 + .75*4 = 4.75, times 3/(2nm) = 3/8
    a = losses.normalized_weighted_l1(vol(TRUE), vol(PRED), vol(ROI_A))
    assert value(a) == pytest.approx(3 * 4.75 / 8)
    # B, no lesion: all weights .5 -> 3 * 3.5 / 8
    b = losses.normalized_weighted_l1(vol(TRUE), vol(PRED), vol(ROI_B))
    assert value(b) == pytest.approx(3 * 3.5 / 8)
    # per example over the batch: 3 * (4.75 + 3.5) / (2 * n=2 * m=4)
    both = losses.normalized_weighted_l1(vol(TRUE, TRUE), vol(PRED, PRED), vol(ROI_A, ROI_B))
    assert value(both) == pytest.approx(3 * 8.25 / 16)


def test_normalized_weighted_l1_counted_over_the_batch():
    # 8 voxels: lesion 1, NAWM 4, other 3 -> weights 7/8, 1/2, 5/8
    # A: 7/8*1 + 1/2*(2+0) + 5/8*4 = 4.375; B: 1/2*(1+2) + 5/8*(0+4) = 4
    both = losses.normalized_weighted_l1(vol(TRUE, TRUE), vol(PRED, PRED), vol(ROI_A, ROI_B),
                                         per_example=False)
    assert value(both) == pytest.approx(3 * 8.375 / 16)


def test_a_uniform_error_over_three_equal_regions_costs_what_the_l1_costs():
    """The scale that lets one lambda serve the Sketcher (L1) and the Refiner (WL1/NWL1):
    with eq. 3.5's own 1/M the WL1 of a 6-voxel example would be 1/2 of this, of a 64^3
    patch 1e-5 of it."""
    true = np.zeros(6, np.float32)
    pred = np.full(6, 0.7, np.float32)
    roi = np.array([1, 1, 2, 2, 3, 3], np.int32)
    six = lambda x: np.reshape(x, (1, 1, 2, 3, 1))  # noqa: E731
    for loss in (losses.l1, losses.weighted_l1, losses.normalized_weighted_l1):
        assert value(loss(six(true), six(pred), six(roi))) == pytest.approx(0.7)


def _gradient(loss, true, pred, roi):
    import tensorflow as tf

    pred = tf.Variable(pred)
    with tf.GradientTape() as tape:
        result = loss(true, pred, roi)
    return tape.gradient(result, pred).numpy().ravel()


def test_a_lesion_voxel_pulls_harder_under_the_region_weights_by_their_ratio():
    """A 16-voxel example, 1 lesion, 5 NAWM and 10 other voxels, every prediction too high.
    L1: each voxel's gradient 1/16. WL1: 1/(3 * n_region) -> lesion 1/3, i.e. 16/3 times
    the L1's, NAWM 16/15 times, other 16/30 times. NWL1 (x3): 3 * (1 - f) / (2 * 16) ->
    lesion 1.5 * 15/16 times the L1's, other 1.5 * 6/16 times."""
    roi = np.array([1] + [2] * 5 + [3] * 10, np.int32).reshape(1, 2, 2, 4, 1)
    true = np.zeros(roi.shape, np.float32)
    pred = np.ones(roi.shape, np.float32)
    plain = _gradient(losses.l1, true, pred, roi)
    np.testing.assert_allclose(plain, 1 / 16, rtol=1e-6)
    weighted = _gradient(losses.weighted_l1, true, pred, roi)
    assert weighted[0] / plain[0] == pytest.approx(16 / 3, rel=1e-5)
    assert weighted[1] / plain[1] == pytest.approx(16 / 15, rel=1e-5)
    assert weighted[-1] / plain[-1] == pytest.approx(16 / 30, rel=1e-5)
    normalized = _gradient(losses.normalized_weighted_l1, true, pred, roi)
    assert normalized[0] / plain[0] == pytest.approx(1.5 * 15 / 16, rel=1e-5)
    assert normalized[-1] / plain[-1] == pytest.approx(1.5 * 6 / 16, rel=1e-5)


def test_unlabelled_voxels_count_as_other():
    roi_zero = np.where(ROI_A == 3, 0, ROI_A)
    for loss in (losses.weighted_l1, losses.normalized_weighted_l1):
        assert value(loss(vol(TRUE), vol(PRED), vol(roi_zero))) == pytest.approx(
            value(loss(vol(TRUE), vol(PRED), vol(ROI_A))))


def test_roi_losses_are_finite_and_zero_for_a_perfect_prediction_without_lesion():
    for loss in (losses.weighted_l1, losses.normalized_weighted_l1):
        assert value(loss(vol(TRUE), vol(TRUE), vol(ROI_B))) == 0.0


def probs(p_real):
    """(B, n_patches, 1, 1, 2) probabilities from an array of P(real) of shape (B, n)."""
    p_real = np.asarray(p_real, np.float32)[..., None, None]
    return np.stack([1 - p_real, p_real], axis=-1)


def test_adversarial_losses_sum_patches_and_average_the_batch():
    # one example, two patches with P(real) 0.8 and 0.5
    g = value(losses.generator_adversarial_loss(probs([[0.8, 0.5]])))
    assert g == pytest.approx(-(math.log(0.8) + math.log(0.5)), rel=1e-5)
    # a batch of two identical examples has the same (mean) loss
    g2 = value(losses.generator_adversarial_loss(probs([[0.8, 0.5], [0.8, 0.5]])))
    assert g2 == pytest.approx(g, rel=1e-5)
    # D: real pairs judged (0.8, 0.5) real, fake pairs (0.2, 0.5) real
    d = value(losses.discriminator_loss(probs([[0.8, 0.5]]), probs([[0.2, 0.5]])))
    assert d == pytest.approx(-2 * (math.log(0.8) + math.log(0.5)), rel=1e-5)


def test_label_smoothing_draws_labels_in_the_thesis_ranges():
    seed = keras.random.SeedGenerator(1)
    p = probs(np.full((4, 50), 0.5))
    real = keras.ops.convert_to_numpy(losses.target_labels(p, True, True, seed))
    fake = keras.ops.convert_to_numpy(losses.target_labels(p, False, True, seed))
    assert real.shape == (4, 50, 1, 1)
    assert real.min() >= 0.9 and real.max() <= 1.0 and real.std() > 0
    assert fake.min() >= 0.0 and fake.max() <= 0.1 and fake.std() > 0
    # at P(real) = 0.5 every patch costs log 2 whatever the label: the smoothed loss is exact
    d = value(losses.discriminator_loss(p, p, label_smoothing=True, seed=seed))
    assert d == pytest.approx(2 * 50 * math.log(2), rel=1e-5)
    # smoothing lowers the penalty of a confident correct discriminator: labels < 1 cost
    confident = probs(np.full((1, 50), 0.999))
    hard = value(losses.discriminator_loss(confident, probs(np.full((1, 50), 0.001))))
    soft = value(losses.discriminator_loss(confident, probs(np.full((1, 50), 0.001)),
                                           label_smoothing=True, seed=seed))
    assert soft > hard


# --- the gradient difference term (``mse+grad``, ``l1+grad``), on example A -----------
# vol() makes (D, H, W) = (1, 2, 2): true [[1, 2], [3, 4]], pred [[0, 0], [3, 8]]. Along H the
# edges are |3-1|, |4-2| = 2, 2 against |3-0|, |8-0| = 3, 8: differences 1, 6. Along W
# |2-1|, |4-3| = 1, 1 against |0-0|, |8-3| = 0, 5: differences 1, 4. D has one voxel: 0.
# power 1: (1+6)/2 + (1+4)/2 = 6; power 2: (1+36)/2 + (1+16)/2 = 27.

def test_gradient_difference_by_hand():
    assert value(losses.gradient_difference(vol(TRUE), vol(PRED), power=1)) == pytest.approx(6.0)
    assert value(losses.gradient_difference(vol(TRUE), vol(PRED), power=2)) == pytest.approx(27.0)
    # Same edges, shifted level: no gradient difference (MSE and L1 see the shift).
    assert value(losses.gradient_difference(vol(TRUE), vol(TRUE + 5.0))) == pytest.approx(0.0)
    w = losses.GRADIENT_DIFFERENCE_WEIGHT
    assert value(losses.get("mse+grad")(vol(TRUE), vol(PRED))) == pytest.approx(21 / 4 + w * 27.0)
    assert value(losses.get("l1+grad")(vol(TRUE), vol(PRED), vol(ROI_A))) == pytest.approx(7 / 4 + w * 6.0)


def test_gradient_difference_matches_numpy_in_3d_and_penalises_blur():
    from scipy import ndimage

    rng = np.random.default_rng(0)
    truth = rng.standard_normal((2, 5, 6, 7, 1)).astype(np.float32)
    pred = rng.standard_normal((2, 5, 6, 7, 1)).astype(np.float32)
    expected = sum(np.mean(np.abs(np.abs(np.diff(truth, axis=k)) - np.abs(np.diff(pred, axis=k))) ** 2)
                   for k in (1, 2, 3))
    assert value(losses.gradient_difference(truth, pred, power=2)) == pytest.approx(expected, rel=1e-5)
    # A blurred copy and a noisy copy with the same MSE: the gradient term prefers the noisy one.
    blurred = ndimage.gaussian_filter(truth, (0, 1, 1, 1, 0))
    noisy = truth + rng.standard_normal(truth.shape).astype(np.float32) * np.sqrt(np.mean((blurred - truth) ** 2))
    assert value(losses.mse(truth, noisy)) == pytest.approx(value(losses.mse(truth, blurred)), rel=0.1)
    assert value(losses.gradient_difference(truth, blurred)) > value(losses.gradient_difference(truth, noisy))


@pytest.mark.parametrize("name", ["mse+grad", "l1+grad"])
def test_gradient_of_the_combined_losses_matches_finite_differences(name):
    import tensorflow as tf

    rng = np.random.default_rng(1)
    truth = rng.standard_normal((1, 3, 3, 3, 1))
    pred = tf.Variable(rng.standard_normal((1, 3, 3, 3, 1)))
    loss = losses.get(name)
    with tf.GradientTape() as tape:
        total = loss(tf.constant(truth, tf.float64), tf.cast(pred, tf.float64))
    grad = tape.gradient(total, pred).numpy()
    assert np.all(np.isfinite(grad)) and np.abs(grad).max() > 0
    step, base = 1e-4, pred.numpy()
    for index in [(0, 0, 0, 0, 0), (0, 1, 1, 1, 0), (0, 2, 0, 1, 0)]:
        shifted = [base.copy(), base.copy()]
        shifted[0][index] += step
        shifted[1][index] -= step
        plus, minus = (float(loss(truth, s)) for s in shifted)
        assert grad[index] == pytest.approx((plus - minus) / (2 * step), rel=1e-2, abs=1e-4)
