"""A coarse brain mask from the MNI152 template that nilearn ships (no download).

nilearn's MNI152 T1 (2 mm) is registered affinely onto the subject's reference scan and
its brain mask is carried back with nearest-neighbour resampling. This is an atlas-based
approximation: coarser than a dedicated skull-stripping tool (FSL BET, HD-BET,
SynthStrip), since an affine map cannot follow each subject's cortical folding.
"""
from __future__ import annotations

import numpy as np

from data_tools.preprocessing.itk_bridge import array_to_itk
from data_tools.preprocessing.registration import RegistrationSettings, register

TEMPLATE_RESOLUTION_MM = 2


def mni152_template():
    """``(t1, brain_mask)`` as SimpleITK images (float32, uint8) from nilearn's bundled files."""
    from nilearn import datasets

    t1 = datasets.load_mni152_template(resolution=TEMPLATE_RESOLUTION_MM)
    mask = datasets.load_mni152_brain_mask(resolution=TEMPLATE_RESOLUTION_MM)
    t1_image = array_to_itk(np.asarray(t1.get_fdata(), dtype=np.float32), t1.affine, "nilearn MNI152 T1")
    mask_image = array_to_itk((np.asarray(mask.get_fdata()) > 0).astype(np.uint8), mask.affine,
                              "nilearn MNI152 brain mask")
    return t1_image, mask_image


def template_to_subject(reference, settings: RegistrationSettings | None = None, label=None):
    """Register the MNI152 T1 onto ``reference``: ``(transform, template_brain_mask)``.

    Resample the returned mask with the transform (nearest neighbour) to get the subject's
    brain mask on any grid in the reference's space.
    """
    from data_tools.preprocessing.itk_bridge import sitk

    t1, mask = mni152_template()
    # Matching a 2 mm template needs no finer reference: average voxels down to ~2 mm first
    # (the transform lives in physical space, so it holds for the full-resolution grid).
    factors = [max(1, int(round(TEMPLATE_RESOLUTION_MM / s))) for s in reference.GetSpacing()]
    fixed = sitk().BinShrink(reference, factors) if max(factors) > 1 else reference
    transform, _ = register(fixed, t1, model="affine", settings=settings, label=label)
    return transform, mask
