"""Losses of the thesis: voxel losses (eqs. 2.1, 3.4, 3.5, 4.4) and the conditional
adversarial losses (eqs. 3.1-3.3) with optional label smoothing (sec. 4.3.1); and one
structural term the thesis does not use, the gradient difference loss (Mathieu et al.,
2016), added to MSE or L1 (``mse+grad``, ``l1+grad``) for sharper images.

Voxel losses (by name: :func:`get`) take ``(y_true, y_pred, roi=None)``: float tensors (B, D, H, W, 1) and the int
label map (B, D, H, W, 1) of the TFRecords, 1 lesion, 2 NAWM, 3 other. Any label other
than 1 or 2 counts as "other" (other = every remaining voxel of the example). A region
with no voxel in an example (no lesion in a healthy control) simply drops out.
Adversarial losses take the discriminator's per-patch probabilities (B, nD, nH, nW, 2),
channel 1 "real", and sum the patches' cross-entropies, then average over the batch
(sec. 3.2.4: "the sum of the cross-entropy losses from all the local patches").
"""
from __future__ import annotations

import keras
from keras import ops

from data_tools.contracts import LOSS_NAMES, look_up_option

LESION, NAWM = 1, 2
N_REGIONS = 3  # lesion, NAWM, other (eqs. 3.5, 4.4)
EPSILON = 1e-7


def mse(y_true, y_pred, roi=None):
    """Mean squared error over voxels and examples (eq. 2.1). ``roi`` is ignored."""
    return ops.mean(ops.square(ops.cast(y_true, "float32") - ops.cast(y_pred, "float32")))


def l1(y_true, y_pred, roi=None):
    """Mean absolute error over voxels and examples: the Sketcher's L1 (eq. 3.4)."""
    return ops.mean(_abs_error(y_true, y_pred))


def roi_masks(roi):
    """(lesion, NAWM, other) float masks of the label map, flattened to (B, M)."""
    roi = _flat(ops.cast(roi, "int32"))
    lesion = ops.equal(roi, LESION)
    nawm = ops.equal(roi, NAWM)
    other = ops.logical_not(ops.logical_or(lesion, nawm))
    return tuple(ops.cast(mask, "float32") for mask in (lesion, nawm, other))


def weighted_l1(y_true, y_pred, roi):
    """The Refiner's weighted L1 (eq. 3.5), on the scale of the plain L1.

    Eq. 3.5 is 1/(N*M) * sum_i (sum over lesion, NAWM and other of the mean absolute
    error of example i inside that region), N examples of M voxels. Its constant 1/M
    makes it M/3 times smaller than the L1 (eq. 3.4) for the same error (1e-5 on a 64^3
    patch), so with one lambda the Refiner would train on the adversarial loss alone;
    the thesis gives no lambda_R (sec. 3.2.2). msgan replaces 1/M by 1/3, the number of
    regions: a constant factor, i.e. a choice of lambda_R, under which a uniform error e
    gives e as the L1 does, at any patch size. Region sizes are counted per example; a
    region absent from an example (no lesion in a control) contributes 0.
    """
    error = _flat(_abs_error(y_true, y_pred))
    n_examples, _ = _batch_and_voxels(error)
    per_example = 0.0
    for mask in roi_masks(roi):
        count = ops.sum(mask, axis=1)
        region_sum = ops.sum(error * mask, axis=1)
        per_example = per_example + region_sum / ops.maximum(count, 1.0)  # empty -> 0
    return ops.sum(per_example) / (N_REGIONS * n_examples)


def normalized_weighted_l1(y_true, y_pred, roi, per_example=True):
    """The adaptive attention regularisation, or normalised weighted L1 (eq. 4.4), times 3.

    Eq. 4.4 is 1/(2*n*m) * sum_i sum_j w_j |I_ij - Î_ij| with w_j = 1 - m_roi/m for the
    region of voxel j. For a uniform error e it gives e * sum_r f_r (1 - f_r) / 2 (f_r the
    regions' fractions): at most e/3, and about e/6 on brain patches, which would give
    the Refiner a sixth of the Sketcher's reconstruction weight. msgan multiplies it by
    3, a constant (a choice of the lambda the thesis leaves open, sec. 4.2.3). A uniform
    error then costs 3 * sum_r f_r (1 - f_r) / 2 times what the L1 costs: 1 only for three
    regions of equal size, less whenever they differ, as on brain patches where "other"
    tissue fills most voxels (regions of 2 %, 30 % and 68 % give 0.67: about two thirds
    of the L1, not the L1 itself).
    With ``per_example=True`` m_roi is counted in each example (of m voxels); otherwise
    over the whole batch, as a fraction of its n*m voxels.
    """
    error = _flat(_abs_error(y_true, y_pred))
    n_examples, n_voxels = _batch_and_voxels(error)
    weights = 0.0
    for mask in roi_masks(roi):
        if per_example:
            fraction = ops.sum(mask, axis=1, keepdims=True) / n_voxels
        else:
            fraction = ops.sum(mask) / (n_examples * n_voxels)
        weights = weights + mask * (1.0 - fraction)
    return N_REGIONS * ops.sum(weights * error) / (2.0 * n_examples * n_voxels)


#: weight of the gradient difference term in ``mse+grad`` and ``l1+grad``
GRADIENT_DIFFERENCE_WEIGHT = 1.0


def gradient_difference(y_true, y_pred, power=1):
    """Gradient difference loss (Mathieu, Couprie & LeCun, ICLR 2016), in 3-D: over the
    D, H and W axes, the sum of the means of | |finite difference of y_true| - |finite
    difference of y_pred| | ** ``power``. A blurred prediction has weaker edges than the
    truth and pays for it, where MSE and L1 favour the blur. An axis of one voxel adds 0.
    """
    y_true, y_pred = ops.cast(y_true, "float32"), ops.cast(y_pred, "float32")
    total = 0.0
    for axis in (1, 2, 3):
        size = y_true.shape[axis]
        if size is not None and size < 2:
            continue
        edge_true = ops.abs(_difference(y_true, axis))
        edge_pred = ops.abs(_difference(y_pred, axis))
        total = total + ops.mean(ops.abs(edge_true - edge_pred) ** power)
    return total


def with_gradient_difference(base, power, weight=GRADIENT_DIFFERENCE_WEIGHT):
    """The voxel loss ``base`` plus ``weight`` times :func:`gradient_difference` (with ``power``)."""
    def loss(y_true, y_pred, roi=None):
        return base(y_true, y_pred, roi) + weight * gradient_difference(y_true, y_pred, power)

    loss.__name__ = f"{base.__name__}_grad"
    return loss


#: MSE plus the squared gradient difference; L1 plus the absolute one (same scale each)
mse_grad = with_gradient_difference(mse, power=2)
l1_grad = with_gradient_difference(l1, power=1)

#: the voxel losses by the names ``--loss`` and ``config.json`` use (``LOSS_NAMES``, in that order)
LOSSES = dict(zip(LOSS_NAMES, (mse, l1, weighted_l1, normalized_weighted_l1, mse_grad, l1_grad)))


def get(identifier):
    """The voxel loss ``fn(y_true, y_pred, roi=None)`` called ``identifier`` (one of
    :data:`LOSS_NAMES`); a callable is returned as is (as ``keras.losses.get``). Any other
    name is one ``ConfigError`` listing the losses."""
    if callable(identifier):
        return identifier
    return look_up_option(identifier, LOSSES, "loss")


def patch_cross_entropy(probabilities, real_label):
    """Cross-entropy of per-patch probabilities against "real" labels in [0, 1], summed over
    patches and averaged over the batch. ``real_label`` broadcasts to (B, nD, nH, nW)."""
    probabilities = ops.clip(ops.cast(probabilities, "float32"), EPSILON, 1.0)
    p_fake, p_real = probabilities[..., 0], probabilities[..., 1]
    per_patch = -(real_label * ops.log(p_real) + (1.0 - real_label) * ops.log(p_fake))
    per_example = ops.sum(ops.reshape(per_patch, (ops.shape(per_patch)[0], -1)), axis=1)
    return ops.mean(per_example)


def target_labels(probabilities, real, label_smoothing=False, seed=None):
    """Per-patch "real" labels: 1 for real and 0 for fake, or with ``label_smoothing``
    (sec. 4.3.1, Salimans 2016) drawn uniformly in [0.9, 1] for real and [0, 0.1] for fake.
    ``seed``: a ``keras.random.SeedGenerator`` (for fresh draws at each training step) or None.
    """
    shape = ops.shape(probabilities)[:-1]
    if not label_smoothing:
        return ops.ones(shape) if real else ops.zeros(shape)
    low, high = (0.9, 1.0) if real else (0.0, 0.1)
    return keras.random.uniform(shape, minval=low, maxval=high, seed=seed)


def discriminator_loss(real_probabilities, fake_probabilities, label_smoothing=False, seed=None):
    """The discriminator's side of eqs. 3.1-3.3: D maximises log D(x, y) + log(1 - D(x, G(x))),
    i.e. minimises the cross-entropy of real pairs against "real" and of generated pairs
    against "fake"."""
    real_labels = target_labels(real_probabilities, True, label_smoothing, seed)
    fake_labels = target_labels(fake_probabilities, False, label_smoothing, seed)
    return (patch_cross_entropy(real_probabilities, real_labels)
            + patch_cross_entropy(fake_probabilities, fake_labels))


def generator_adversarial_loss(fake_probabilities):
    """The generator's side of eqs. 3.1-3.3, in the non-saturating form -log D(x, G(x))
    (Goodfellow 2014), which has the same fixed point as minimising log(1 - D(x, G(x))) but
    does not vanish while D wins early in training. Labels are never smoothed for G."""
    return patch_cross_entropy(fake_probabilities, 1.0)


def _abs_error(y_true, y_pred):
    return ops.abs(ops.cast(y_true, "float32") - ops.cast(y_pred, "float32"))


def _difference(x, axis):
    """Forward finite difference of ``x`` along ``axis`` (one shorter there)."""
    before = (slice(None),) * axis
    return x[(*before, slice(1, None))] - x[(*before, slice(None, -1))]


def _flat(x):
    return ops.reshape(x, (ops.shape(x)[0], -1))


def _batch_and_voxels(flat):
    shape = ops.shape(flat)
    return ops.cast(shape[0], "float32"), ops.cast(shape[1], "float32")
