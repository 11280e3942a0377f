"""Distance to CSF measured in MNI space: the thesis's group-level procedure (sec. 3.3.5).

The thesis set the demyelination thresholds at group level, after a non-linear
registration of every subject to MNI space (FSL FNIRT). Here each session's tissue image
(CSF 1, other brain 2, white matter and lesions 3, from its own masks) is registered onto
the same kind of image of the MNI152 template that nilearn ships (2 mm, no download; CSF =
brain voxels whose GM + WM probability is below 0.5): the affine stage of
:func:`data_tools.preprocessing.registration.register`, then a cubic B-spline (free-form) stage, both on
Mattes mutual information (SimpleITK). The template's distance-to-CSF map (mm of MNI
space) is then pulled back onto the session's grid through that transform, so every voxel
carries the distance of its MNI location: the controls' statistics per distance bin are
pooled in one common space, while PIB maps are never interpolated (each voxel is
classified on its own grid).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from data_tools.preprocessing.itk_bridge import array_to_itk, itk_to_array, sitk
from data_tools.preprocessing.registration import RegistrationError, RegistrationSettings, register
from msgan.evaluation.demyelination import distance_to_csf

TEMPLATE_RESOLUTION_MM = 2
#: white-matter voxels that may fall outside the template's field of view (brainstem ends)
MAX_OUTSIDE_FRACTION = 0.01
CSF, OTHER_BRAIN, WHITE_MATTER = 1, 2, 3


@dataclass(frozen=True)
class CsfTemplate:
    """A template's tissue image (SimpleITK, labels as :func:`tissue_image`) and its distance
    to CSF in mm (SimpleITK, same grid)."""

    name: str
    tissue: object
    distance: object


@dataclass(frozen=True)
class MniRegistration:
    """How sessions are registered to the template (``None`` template: nilearn's MNI152)."""

    template: CsfTemplate | None = None
    affine: RegistrationSettings = RegistrationSettings()
    #: B-spline control point spacing: coarse enough to stay smooth, fine enough for ventricles
    bspline_spacing_mm: float = 40.0
    #: L-BFGS-B iterations
    bspline_iterations: int = 30
    #: the B-spline is fitted on the template-sized image shrunk by this factor: a 40 mm
    #: mesh needs no finer image, and the full-resolution level cost 20x the time (measured)
    bspline_shrink: int = 2


def tissue_image(brain: np.ndarray, csf: np.ndarray, white_matter: np.ndarray) -> np.ndarray:
    """float32 labels: 0 outside the brain, CSF 1, other brain 2, white matter 3.

    Piecewise-constant images of the same classes in subject and template give mutual
    information a clear optimum whatever MRI contrast either was segmented from.
    """
    out = np.where(np.asarray(brain, bool), OTHER_BRAIN, 0).astype(np.float32)
    out[np.asarray(csf, bool)] = CSF
    out[np.asarray(white_matter, bool)] = WHITE_MATTER
    return out


def csf_template(brain: np.ndarray, csf: np.ndarray, white_matter: np.ndarray, affine: np.ndarray,
                 name: str) -> CsfTemplate:
    """A :class:`CsfTemplate` from masks on ``affine`` (the MNI152's, or a test's)."""
    zooms = np.linalg.norm(np.asarray(affine, float)[:3, :3], axis=0)
    distance = distance_to_csf(csf, zooms, where=name).astype(np.float32)
    return CsfTemplate(name, array_to_itk(tissue_image(brain, csf, white_matter), affine, name),
                       array_to_itk(distance, affine, name))


@functools.lru_cache(maxsize=1)
def mni152_csf_template() -> CsfTemplate:
    """nilearn's bundled MNI152 (ICBM 2009a, 2 mm): brain mask, GM and WM probability maps."""
    from nilearn import datasets

    brain_img = datasets.load_mni152_brain_mask(resolution=TEMPLATE_RESOLUTION_MM)
    gm = datasets.load_mni152_gm_template(resolution=TEMPLATE_RESOLUTION_MM).get_fdata()
    wm = datasets.load_mni152_wm_template(resolution=TEMPLATE_RESOLUTION_MM).get_fdata()
    brain = brain_img.get_fdata() > 0
    return csf_template(brain, brain & (gm + wm < 0.5), brain & (wm >= 0.5), brain_img.affine,
                        "nilearn MNI152 2 mm")


def _bspline_stage(fixed, moving, affine, how: MniRegistration, label):
    """Cubic B-spline on top of ``affine`` (fixed -> moving points); the composite transform."""
    tx = sitk()
    settings = how.affine
    extent = [size * spacing for size, spacing in zip(fixed.GetSize(), fixed.GetSpacing())]
    mesh = [max(1, int(round(e / how.bspline_spacing_mm))) for e in extent]
    bspline = tx.BSplineTransformInitializer(fixed, mesh, order=3)
    reg = tx.ImageRegistrationMethod()
    reg.SetMetricAsMattesMutualInformation(numberOfHistogramBins=settings.histogram_bins)
    reg.SetMetricSamplingStrategy(reg.RANDOM)
    voxels = float(np.prod(fixed.GetSize()))
    reg.SetMetricSamplingPercentage(min(1.0, max(settings.sampling[-1], settings.min_samples / voxels)),
                                    settings.seed)
    reg.SetInterpolator(tx.sitkLinear)
    reg.SetOptimizerAsLBFGSB(gradientConvergenceTolerance=1e-5, numberOfIterations=how.bspline_iterations,
                             maximumNumberOfCorrections=5,
                             maximumNumberOfFunctionEvaluations=4 * how.bspline_iterations)
    reg.SetShrinkFactorsPerLevel([how.bspline_shrink])
    reg.SetSmoothingSigmasPerLevel([float(how.bspline_shrink)])
    reg.SmoothingSigmasAreSpecifiedInPhysicalUnitsOn()
    reg.SetMovingInitialTransform(affine)
    reg.SetInitialTransform(bspline, inPlace=True)
    try:
        reg.Execute(fixed, moving)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise RegistrationError(f"B-spline registration to the template failed in ITK: {first}", label) from None
    # ITK applies the last transform of a composite first: the B-spline, then the affine.
    return tx.CompositeTransform([affine, bspline]), float(reg.GetMetricValue())


def template_distance(brain: np.ndarray, csf: np.ndarray, white_matter: np.ndarray, affine: np.ndarray,
                      how: MniRegistration | None = None, label=None) -> tuple[np.ndarray, float]:
    """Each voxel's distance to CSF (mm) at its location in the template's space.

    Returns ``(distance on the session's grid, final Mattes MI of the B-spline stage)``.
    A registration that leaves more than 1 % of the session's white matter outside the
    template's field of view is a :class:`RegistrationError`; fewer such voxels take the
    distance of the nearest voxel inside.
    """
    tx = sitk()
    how = how or MniRegistration()
    template = how.template or mni152_csf_template()
    tissue = tissue_image(brain, csf, white_matter)
    full = array_to_itk(tissue, affine, label)
    # The template is 2 mm: average the session down to about its voxel size first
    # (transforms live in physical space, so they hold on the full-resolution grid).
    target = template.tissue.GetSpacing()
    factors = [max(1, int(round(t / s))) for t, s in zip(target, full.GetSpacing())]
    fixed = tx.BinShrink(full, factors) if max(factors) > 1 else full
    affine_tx, _ = register(fixed, template.tissue, model="affine", settings=how.affine, label=label)
    transform, metric = _bspline_stage(fixed, template.tissue, affine_tx, how, label)
    pulled = tx.Resample(template.distance, full, transform, tx.sitkLinear, float("nan"), tx.sitkFloat32)
    distance = itk_to_array(pulled).astype(np.float64)
    outside = ~np.isfinite(distance)
    wm = np.asarray(white_matter, bool)
    if outside[wm].mean() > MAX_OUTSIDE_FRACTION:
        raise RegistrationError(f"{int(outside[wm].sum())} of {int(wm.sum())} white-matter voxels map outside "
                                f"{template.name} after registration", label)
    if outside.any():  # a few voxels past the template's field of view: the nearest voxel inside's
        nearest = ndimage.distance_transform_edt(outside, return_distances=False, return_indices=True)
        distance = distance[tuple(nearest)]
    return distance, -metric
