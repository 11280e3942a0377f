"""Linear registration with SimpleITK: Mattes mutual information, rigid then affine.

The thesis registers every sequence of a visit onto one reference (FLAIR in ch. 2, the
PIB DVR map in ch. 3-4; sec. 2.2.3, 3.3.1, 4.3.1) with an affine model. Here a rigid
(Euler3D) stage initialised by centring the images starts a multi-resolution affine
stage, both driven by Mattes mutual information, which works across sequences.

Transforms follow ITK's convention: they map points of the *fixed* image (the
reference) to the *moving* one, which is what resampling the moving image onto the
reference's grid needs. A registration that raises inside ITK, ends with almost no
mutual information, or returns a degenerate matrix is a :class:`RegistrationError`
naming the session and sequence; nothing is resampled with it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from data_tools.contracts import look_up_option
from data_tools.errors import ImageContentError
from data_tools.preprocessing.itk_bridge import sitk, transform_to_matrix

#: ``rigid`` (Euler3D) or ``affine`` (rigid, then affine)
REGISTRATION_MODELS = ("rigid", "affine")


class RegistrationError(ImageContentError):
    """A registration failed, diverged or ended with a poor similarity."""


@dataclass(frozen=True)
class RegistrationSettings:
    """Knobs of :func:`register`; the defaults suit brain MRI at 1-3 mm."""

    shrink_factors: tuple[int, ...] = (4, 2, 1)
    smoothing_sigmas_mm: tuple[float, ...] = (2.0, 1.0, 0.0)
    #: fraction of voxels sampled by the metric at each level
    sampling: tuple[float, ...] = (0.25, 0.1, 0.02)
    #: fewest voxels the metric samples at any level (see ``_sampling``)
    min_samples: int = 20000
    histogram_bins: int = 50
    iterations: int = 200
    #: first and smallest optimizer steps, in mm of voxel shift
    learning_rate_mm: float = 2.0
    min_step_mm: float = 0.01
    #: a final Mattes MI above ``-min_mutual_information`` means the images share no structure
    min_mutual_information: float = 0.1
    #: the affine stage may scale each axis within [1/max_scale, max_scale]
    max_scale: float = 1.5
    seed: int = 1


def _sampling(fixed, settings: RegistrationSettings, levels: int) -> list[float]:
    """Per-level sampled fraction, raised so that each level draws ``min_samples`` voxels.

    Mutual information estimated from a few hundred samples is biased upwards, which
    would let a failed registration of a small image pass the metric check.
    """
    voxels = float(np.prod(fixed.GetSize()))
    pairs = zip(settings.shrink_factors[-levels:], settings.sampling[-levels:])
    return [min(1.0, max(fraction, settings.min_samples * shrink ** 3 / voxels)) for shrink, fraction in pairs]


def _method(fixed, settings: RegistrationSettings, levels: int | None = None):
    tx = sitk()
    levels = len(settings.shrink_factors) if levels is None else levels
    reg = tx.ImageRegistrationMethod()
    reg.SetMetricAsMattesMutualInformation(numberOfHistogramBins=settings.histogram_bins)
    reg.SetMetricSamplingStrategy(reg.RANDOM)
    reg.SetMetricSamplingPercentagePerLevel(_sampling(fixed, settings, levels), settings.seed)
    reg.SetInterpolator(tx.sitkLinear)
    # Regular-step descent: plain gradient descent with a convergence window stopped
    # 2-3 mm short of a known rigid motion on real scans; this reaches < 0.5 mm.
    reg.SetOptimizerAsRegularStepGradientDescent(learningRate=settings.learning_rate_mm,
                                                 minStep=settings.min_step_mm,
                                                 numberOfIterations=settings.iterations,
                                                 relaxationFactor=0.5)
    reg.SetOptimizerScalesFromPhysicalShift()
    reg.SetShrinkFactorsPerLevel(list(settings.shrink_factors[-levels:]))
    reg.SetSmoothingSigmasPerLevel(list(settings.smoothing_sigmas_mm[-levels:]))
    reg.SmoothingSigmasAreSpecifiedInPhysicalUnitsOn()
    return reg


def _run(reg, fixed, moving, label):
    # ITK's Mattes MI adds up per-thread partial sums: with several threads their order, hence
    # the transform, changes from run to run (ch. 3/4's MNI thresholds did). One thread makes
    # the same input give the same transform; the method's own SetNumberOfThreads does not
    # reach the metric, ITK's global default does.
    tx = sitk()
    threads = tx.ProcessObject_GetGlobalDefaultNumberOfThreads()
    tx.ProcessObject_SetGlobalDefaultNumberOfThreads(1)
    try:
        transform = reg.Execute(fixed, moving)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise RegistrationError(f"registration failed in ITK: {first}", label) from None
    finally:
        tx.ProcessObject_SetGlobalDefaultNumberOfThreads(threads)
    return transform, float(reg.GetMetricValue())


def _check(transform, metric: float, settings: RegistrationSettings, label) -> None:
    if not np.isfinite(metric) or metric > -settings.min_mutual_information:
        raise RegistrationError(
            f"registration did not converge: final mutual information {-metric:.3f} is below "
            f"{settings.min_mutual_information:g} (the images share no structure)", label)
    linear = transform_to_matrix(transform)[:3, :3]
    scales = np.linalg.svd(linear, compute_uv=False)
    if not (1 / settings.max_scale <= scales.min() and scales.max() <= settings.max_scale) \
            or np.linalg.det(linear) <= 0:
        raise RegistrationError(
            f"registration diverged: affine scales {np.round(scales, 2).tolist()} outside "
            f"[{1 / settings.max_scale:.2f}, {settings.max_scale:g}]", label)


def register(fixed, moving, *, model: str = "affine", settings: RegistrationSettings | None = None,
             moving_mask=None, label: str | None = None):
    """Register ``moving`` onto ``fixed``; return ``(transform, final_metric)``.

    ``model`` is ``"rigid"`` (Euler3D only, for longitudinal alignment) or ``"affine"``
    (rigid, then an affine stage starting from the rigid result). The returned transform
    maps fixed-space points to moving-space points (an Euler3DTransform or an
    AffineTransform), ready for :func:`resample` and for ``sitk.WriteTransform``.
    """
    look_up_option(model, REGISTRATION_MODELS, "registration model")
    tx = sitk()
    settings = settings or RegistrationSettings()
    fixed = tx.Cast(fixed, tx.sitkFloat32)
    moving = tx.Cast(moving, tx.sitkFloat32)
    try:
        initial = tx.CenteredTransformInitializer(fixed, moving, tx.Euler3DTransform(),
                                                  tx.CenteredTransformInitializerFilter.MOMENTS)
    except RuntimeError:  # an all-zero image has no centre of mass
        raise RegistrationError("registration failed: an image is empty (all voxels equal)", label) from None
    rigid_reg = _method(fixed, settings)
    rigid_reg.SetInitialTransform(initial, inPlace=False)
    if moving_mask is not None:
        rigid_reg.SetMetricMovingMask(moving_mask)
    rigid, metric = _run(rigid_reg, fixed, moving, label)
    rigid = tx.Euler3DTransform(tx.CompositeTransform(rigid).GetNthTransform(0)) \
        if rigid.GetName() == "CompositeTransform" else tx.Euler3DTransform(rigid)
    if model == "rigid":
        _check(rigid, metric, settings, label)
        return rigid, metric
    affine = tx.AffineTransform(3)
    affine.SetCenter(rigid.GetCenter())
    affine.SetMatrix(rigid.GetMatrix())
    affine.SetTranslation(rigid.GetTranslation())
    # The rigid stage did the coarse work: the affine stage refines on the finer levels.
    affine_reg = _method(fixed, settings, levels=min(2, len(settings.shrink_factors)))
    affine_reg.SetInitialTransform(affine, inPlace=False)
    if moving_mask is not None:
        affine_reg.SetMetricMovingMask(moving_mask)
    result, metric = _run(affine_reg, fixed, moving, label)
    result = tx.CompositeTransform(result).GetNthTransform(0) if result.GetName() == "CompositeTransform" \
        else result
    result = tx.AffineTransform(result)
    _check(result, metric, settings, label)
    return result, metric


def resample(image, grid, transform=None, *, mask: bool = False):
    """``image`` resampled onto ``grid`` (a SimpleITK image giving size/spacing/origin/direction).

    Linear interpolation for images, nearest neighbour for masks; outside the moving
    image the value is 0.
    """
    tx = sitk()
    transform = transform if transform is not None else tx.Transform()
    interpolator = tx.sitkNearestNeighbor if mask else tx.sitkLinear
    pixel = tx.sitkUInt8 if mask else tx.sitkFloat32
    return tx.Resample(image, grid, transform, interpolator, 0.0, pixel)
