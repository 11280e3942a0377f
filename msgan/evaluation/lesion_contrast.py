"""FLAIR lesion contrast (eq. 2.4) and lesion detectability by a threshold segmentation.

Ratio 1 compares the mean intensity of the lesions with the normal-appearing white matter
(NAWM, white matter outside the lesions); Ratio 2 with the *surrounding* NAWM, the
lesions dilated by 5 voxels and kept inside white matter. Eq. 2.4 averages the
per-subject ratios over subjects; :func:`contrast_ratios` gives one subject's pair.

The detectability check segments hyperintense white matter the same reproducible way in
the true and the synthetic FLAIR and compares the two segmentations by DICE. It is in the
spirit of thesis sec. 2.3.2 but is *not* the external segmentation pipeline used there.
The same threshold gives the false-positive lesion volume of a synthetic FLAIR (issue 26):
hyperintense white matter the synthetic image has and the real one has not, away from the
expert lesions (:func:`false_positive_lesion_volume`).
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

SURROUNDING_VOXELS = 5
#: false-positive lesions: threshold at NAWM mean + FP_K SD, clusters of at least
#: FP_MIN_VOXELS voxels, the expert lesions grown by FP_DILATION voxels count as lesion
FP_K, FP_MIN_VOXELS, FP_DILATION = 3.0, 10, 1


def surrounding_nawm(lesions: np.ndarray, wm: np.ndarray, voxels: int = SURROUNDING_VOXELS) -> np.ndarray:
    """NAWM within ``voxels`` voxels of a lesion: the dilation of the lesions, inside WM, minus lesions.

    The dilation uses the 6-connected structuring element iterated ``voxels`` times
    (scipy.ndimage.binary_dilation).
    """
    lesions = np.asarray(lesions, bool)
    grown = ndimage.binary_dilation(lesions, iterations=voxels)
    return grown & np.asarray(wm, bool) & ~lesions


def contrast_ratios(image: np.ndarray, lesions: np.ndarray, wm: np.ndarray,
                    voxels: int = SURROUNDING_VOXELS) -> dict[str, float]:
    """One subject's terms of eq. 2.4: I(lesions)/I(NAWM) and I(lesions)/I(SNAWM).

    Returns NaN for a ratio whose regions are empty (no lesions, no NAWM).
    """
    lesions = np.asarray(lesions, bool)
    nawm = np.asarray(wm, bool) & ~lesions
    snawm = surrounding_nawm(lesions, wm, voxels)

    def ratio(den_mask):
        if not lesions.any() or not den_mask.any():
            return float("nan")
        return float(image[lesions].mean() / image[den_mask].mean())

    return {"ratio1": ratio(nawm), "ratio2": ratio(snawm)}


def threshold_segmentation(image: np.ndarray, wm: np.ndarray, lesions: np.ndarray, k: float = 2.0) -> np.ndarray:
    """White-matter voxels brighter than mean + k SD of the NAWM intensities of ``image``.

    The white matter and lesion masks only define where to look and the reference
    tissue; the same masks are used for true and synthetic FLAIR, so the segmentations
    differ only by the images.
    """
    wm = np.asarray(wm, bool) | np.asarray(lesions, bool)
    nawm = wm & ~np.asarray(lesions, bool)
    values = image[nawm]
    threshold = values.mean() + k * values.std()
    return wm & (image > threshold)


def false_positive_lesions(synthetic: np.ndarray, real: np.ndarray, wm: np.ndarray, lesions: np.ndarray,
                           k: float = FP_K, min_voxels: int = FP_MIN_VOXELS,
                           dilation: int = FP_DILATION) -> np.ndarray:
    """Lesions the synthetic FLAIR shows and neither the real FLAIR nor the expert mask has.

    Both images are thresholded by the same rule, :func:`threshold_segmentation` with ``k``
    (white-matter and lesion voxels brighter than mean + k SD of *that image's* NAWM), so
    the result does not change under a positive linear rescaling of either image. A
    candidate voxel is hyperintense in the synthetic image, not hyperintense in the real
    one, and outside the expert lesions grown by ``dilation`` voxels (6-connected steps);
    the candidates are grouped into 26-connected clusters and only clusters of at least
    ``min_voxels`` voxels are kept (a lesion, not scattered voxels near the threshold).
    Without an expert mask (all false), only the real image's hyperintensity is excused.
    """
    lesions = np.asarray(lesions, bool)
    excused = threshold_segmentation(real, wm, lesions, k) | lesions
    if dilation > 0:  # (scipy's iterations=0 would dilate until nothing changes)
        excused |= ndimage.binary_dilation(lesions, iterations=dilation)
    candidates = threshold_segmentation(synthetic, wm, lesions, k) & ~excused
    labels, _ = ndimage.label(candidates, structure=np.ones((3, 3, 3), bool))
    sizes = np.bincount(labels.ravel())
    keep = sizes >= min_voxels
    keep[0] = False
    return keep[labels]


def false_positive_lesion_volume(synthetic: np.ndarray, real: np.ndarray, wm: np.ndarray, lesions: np.ndarray,
                                 voxel_ml: float, **options) -> float:
    """Volume (mL) of :func:`false_positive_lesions` (``options``: its k, min_voxels, dilation)."""
    return float(false_positive_lesions(synthetic, real, wm, lesions, **options).sum() * voxel_ml)
