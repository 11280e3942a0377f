"""Intensity-inhomogeneity (bias field) correction with N4 (Tustison 2010; thesis sec. 2.2.3).

The field is estimated on a shrunken copy of the image (fast) inside a head mask, then
evaluated at full resolution and divided out, which is how N4 is meant to be used on
1 mm scans.
"""
from __future__ import annotations

from data_tools.errors import ImageContentError
from data_tools.preprocessing.itk_bridge import sitk

DEFAULT_SHRINK = 4
DEFAULT_ITERATIONS = (50, 50, 30)


def head_mask(image):
    """Voxels above an Otsu threshold, closed and with holes (ventricles) filled: uint8 0/1."""
    tx = sitk()
    mask = tx.OtsuThreshold(image, 0, 1, 200)
    mask = tx.BinaryMorphologicalClosing(mask, [2, 2, 2], tx.sitkBall, 1)
    return tx.BinaryFillhole(mask, fullyConnected=False, foregroundValue=1)


def n4_correct(image, mask=None, *, shrink_factor: int = DEFAULT_SHRINK,
               iterations=DEFAULT_ITERATIONS, label: str | None = None):
    """N4-correct a SimpleITK float image inside ``mask`` (default :func:`head_mask`).

    ``iterations`` gives the iterations per fitting level (its length is the number of
    levels). Returns the corrected float32 image on the input's grid; voxels outside the
    mask are divided by the same smooth field, so the background stays continuous.
    """
    tx = sitk()
    image = tx.Cast(image, tx.sitkFloat32)
    if mask is None:
        mask = head_mask(image)
    mask = tx.Cast(mask, tx.sitkUInt8)
    if tx.GetArrayViewFromImage(mask).sum() == 0:
        raise ImageContentError("no head voxels found for N4 bias correction (empty mask)", label)
    shrink = max(1, int(shrink_factor))
    # N4 fits log intensities: shift strictly positive (interpolation leaves small negatives).
    low = float(tx.GetArrayViewFromImage(image).min())
    offset = 1.0 - low if low <= 0 else 0.0
    positive = image + offset if offset else image
    small = tx.Shrink(positive, [shrink] * 3) if shrink > 1 else positive
    small_mask = tx.Shrink(mask, [shrink] * 3) if shrink > 1 else mask
    n4 = tx.N4BiasFieldCorrectionImageFilter()
    n4.SetMaximumNumberOfIterations([int(i) for i in iterations])
    n4.Execute(small, small_mask)
    log_field = n4.GetLogBiasFieldAsImage(positive)
    corrected = positive / tx.Exp(log_field)
    if offset:
        corrected = corrected - offset
    return tx.Cast(corrected, tx.sitkFloat32)
