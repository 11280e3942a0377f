"""Voxel-wise agreement of two binary masks (DICE), used by every segmentation comparison."""
from __future__ import annotations

import numpy as np


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """DICE = 2|A & B| / (|A| + |B|).

    Two empty masks have no DICE (0/0): NaN, shown as n/a and left out of means. Scoring
    them 1 would let every patient without, say, dynamic remyelination in either map
    raise the mean agreement of maps that were never compared voxel by voxel.
    """
    a = np.asarray(a, bool)
    b = np.asarray(b, bool)
    total = int(a.sum()) + int(b.sum())
    if total == 0:
        return float("nan")
    return 2.0 * int((a & b).sum()) / total
