"""FLAIR lesion contrast (eq. 2.4) and lesion detectability by a threshold segmentation.

Ratio 1 compares the mean intensity of the lesions with the normal-appearing white matter
(NAWM, white matter outside the lesions); Ratio 2 with the *surrounding* NAWM, the
lesions dilated by 5 voxels and kept inside white matter. Eq. 2.4 averages the
per-subject ratios over subjects; :func:`contrast_ratios` gives one subject's pair.

The detectability check segments hyperintense white matter the same reproducible way in
the true and the synthetic FLAIR and compares the two segmentations by DICE. It is in the
spirit of thesis sec. 2.3.2 but is *not* the external segmentation pipeline used there.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

SURROUNDING_VOXELS = 5


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
