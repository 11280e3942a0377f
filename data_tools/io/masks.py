"""Brain, white-matter and ROI masks of a session, given or estimated.

The lesion-aware losses (eqs. 3.5, 4.4) divide the whole image into three ROIs: lesions,
normal-appearing white matter (NAWM = WM minus lesions) and "other" (every remaining
voxel, background included). Evaluation ROIs stay inside the brain.
"""
from __future__ import annotations

import logging
from typing import Mapping, Sequence

import numpy as np

from data_tools.errors import ImageContentError
from data_tools.io.cohort import Session

log = logging.getLogger(__name__)

LESION, NAWM, OTHER = 1, 2, 3  # values of the ROI label map


def brain_mask(session: Session, inputs: Sequence[str],
               loaded: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
    """The given ``brainmask``, else the voxels non-zero in every input (brain-extracted data).

    ``loaded``: arrays the caller has read already, by name (the brainmask, inputs), so
    no file is read twice. An empty result is an error naming the session.
    """
    loaded = loaded or {}
    if session.has("brainmask"):
        mask = loaded["brainmask"] if "brainmask" in loaded else session.load("brainmask").data
        where = session.path("brainmask")
    else:
        mask = None
        arrays = (loaded[name] if name in loaded else session.load(name).data for name in inputs)
        for array in arrays:
            nonzero = array != 0
            mask = nonzero if mask is None else mask & nonzero
        where = session.label
    if mask is None or not mask.any():
        raise ImageContentError("brain mask is empty", where)
    return mask


def lesion_mask(session: Session, shape: tuple[int, ...]) -> np.ndarray:
    """The ``lesions`` mask, or an all-false mask when the session has none (controls)."""
    return session.load("lesions").data if session.has("lesions") else np.zeros(shape, bool)


def estimate_white_matter(t1: np.ndarray, brain: np.ndarray, seed: int = 0) -> np.ndarray:
    """White matter as the brightest class of a 3-class Gaussian mixture on T1 in the brain.

    T1-weighted contrast orders CSF < GM < WM; scikit-learn's GaussianMixture does the fit
    on at most 200k brain voxels, and every brain voxel is then assigned to a class.
    """
    from sklearn.mixture import GaussianMixture

    values = t1[brain].reshape(-1, 1).astype(np.float64)
    rng = np.random.default_rng(seed)
    sample = values if len(values) <= 200_000 else values[rng.choice(len(values), 200_000, replace=False)]
    gmm = GaussianMixture(n_components=3, random_state=seed).fit(sample)
    wm_class = int(np.argmax(gmm.means_.ravel()))
    wm = np.zeros(t1.shape, bool)
    wm[brain] = gmm.predict(values) == wm_class
    return wm


def white_matter_mask(session: Session, brain: np.ndarray, lesions: np.ndarray,
                      loaded: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
    """The given ``wm`` mask, else a T1 Gaussian-mixture estimate; lesions always included.
    ``loaded``: arrays read already, by name (``wm``, ``T1``), as for :func:`brain_mask`."""
    loaded = loaded or {}
    if session.has("wm"):
        wm = loaded["wm"] if "wm" in loaded else session.load("wm").data
    elif session.has("T1"):
        log.info("%s: no wm mask given; estimating white matter by a 3-class Gaussian mixture on T1",
                 session.label)
        wm = estimate_white_matter(loaded["T1"] if "T1" in loaded else session.load("T1").data, brain)
    else:
        raise ImageContentError("no wm mask and no T1 to estimate white matter from", session.label)
    return wm | lesions


def roi_labels(lesions: np.ndarray, wm: np.ndarray) -> np.ndarray:
    """uint8 map: 1 lesion, 2 NAWM (WM outside lesions), 3 other (everything else)."""
    labels = np.full(lesions.shape, OTHER, np.uint8)
    labels[wm & ~lesions] = NAWM
    labels[lesions] = LESION
    return labels
