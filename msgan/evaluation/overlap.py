"""Voxel-wise agreement of two binary masks (DICE), used by every segmentation comparison."""
from __future__ import annotations

import numpy as np


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """DICE = 2|A & B| / (|A| + |B|).

    Two empty masks agree perfectly and score 1.0 (a patient with no dynamic
    remyelination in either the true or the predicted map is a correct prediction).
    """
    a = np.asarray(a, bool)
    b = np.asarray(b, bool)
    total = int(a.sum()) + int(b.sum())
    if total == 0:
        return 1.0
    return 2.0 * int((a & b).sum()) / total
