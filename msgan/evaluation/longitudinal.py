"""Myelin content change between baseline (t0) and follow-up (t1) in lesions (sec. 4.2.5).

The lesional voxels of the baseline are followed to the follow-up: each is demyelinated
or normally myelinated at t0 and at t1 (:func:`msgan.evaluation.demyelination.demyelinated_map`
with the baseline lesion mask as region at both visits). Indices are percentages.
"""
from __future__ import annotations

import numpy as np

from msgan.evaluation.demyelination import percentage_demyelinated


def dynamic_maps(demyelinated_t0: np.ndarray, demyelinated_t1: np.ndarray,
                 lesions_t0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(dynamic demyelination, dynamic remyelination) voxel maps inside the baseline lesions.

    Demyelinating: normal at t0, demyelinated at t1. Remyelinating: demyelinated at t0,
    normal at t1.
    """
    region = np.asarray(lesions_t0, bool)
    d0 = np.asarray(demyelinated_t0, bool) & region
    d1 = np.asarray(demyelinated_t1, bool) & region
    return region & ~d0 & d1, region & d0 & ~d1


def global_change_index(demyelinated_t0: np.ndarray, demyelinated_t1: np.ndarray,
                        lesions_t0: np.ndarray) -> float:
    """Global index of myelin content change: % demyelinated at t1 minus % at t0, both over
    the baseline lesion load (sec. 4.2.5). Positive: demyelination predominates."""
    return (percentage_demyelinated(demyelinated_t1, lesions_t0)
            - percentage_demyelinated(demyelinated_t0, lesions_t0))


def dynamic_demyelination_index(demyelinated_t0: np.ndarray, demyelinated_t1: np.ndarray,
                                lesions_t0: np.ndarray) -> float:
    """% of the lesional voxels normally myelinated at t0 that are demyelinated at t1 (sec. 4.2.5).

    NaN when no lesional voxel is normal at t0.
    """
    region = np.asarray(lesions_t0, bool)
    normal_t0 = region & ~np.asarray(demyelinated_t0, bool)
    demyelinating, _ = dynamic_maps(demyelinated_t0, demyelinated_t1, lesions_t0)
    n = int(normal_t0.sum())
    return 100.0 * int(demyelinating.sum()) / n if n else float("nan")


def dynamic_remyelination_index(demyelinated_t0: np.ndarray, demyelinated_t1: np.ndarray,
                                lesions_t0: np.ndarray) -> float:
    """% of the lesional voxels demyelinated at t0 that are normal at t1 (sec. 4.2.5).

    NaN when no lesional voxel is demyelinated at t0.
    """
    region = np.asarray(lesions_t0, bool)
    demyelinated_t0 = region & np.asarray(demyelinated_t0, bool)
    _, remyelinating = dynamic_maps(demyelinated_t0, demyelinated_t1, lesions_t0)
    n = int(demyelinated_t0.sum())
    return 100.0 * int(remyelinating.sum()) / n if n else float("nan")


def longitudinal_indices(demyelinated_t0: np.ndarray, demyelinated_t1: np.ndarray,
                         lesions_t0: np.ndarray) -> dict[str, float]:
    """The three indices of sec. 4.2.5 for one patient, one map pair."""
    return {
        "global_change": global_change_index(demyelinated_t0, demyelinated_t1, lesions_t0),
        "dynamic_demyelination": dynamic_demyelination_index(demyelinated_t0, demyelinated_t1, lesions_t0),
        "dynamic_remyelination": dynamic_remyelination_index(demyelinated_t0, demyelinated_t1, lesions_t0),
    }
