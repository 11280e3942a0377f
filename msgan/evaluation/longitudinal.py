"""Myelin content change between baseline (t0) and follow-up (t1) in lesions (sec. 4.2.5).

The lesional voxels of the baseline are followed to the follow-up: each is demyelinated
or normally myelinated at t0 and at t1 (:func:`msgan.evaluation.demyelination.demyelinated_map`
with the baseline lesion mask as region at both visits). Indices are percentages.
:func:`dynamic_voxel_panels` takes the maps an evaluation classified (``keep_maps``) to the
panels of Fig. 4.6, so the figure shows what the tables measured.
"""
from __future__ import annotations

import numpy as np

from data_tools.contracts import BASELINE, FOLLOW_UP
from data_tools.io.cohort import Cohort
from msgan.evaluation.constants import TRUTH
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


def dynamic_voxel_panels(cohort: Cohort, classified: dict, method: str, patients: list[str]) -> list[dict]:
    """Per patient both of whose visits were classified (``EvaluationResult.classified``,
    each map classified with that evaluation's thresholds and distance to CSF, in its
    threshold space): the axial slice through most baseline lesion voxels, its T1, the
    lesions, and the (demyelinating, remyelinating) maps from the true and from ``method``'s PIB."""
    out = []
    for pid in patients:
        t0, t1 = classified.get((pid, BASELINE)), classified.get((pid, FOLLOW_UP))
        if t0 is None or t1 is None or not {TRUTH, method} <= set(t0["maps"]) & set(t1["maps"]):
            continue
        lesions = t0["lesions"]  # the baseline lesion load, that of both visits (sec. 4.2.5)
        z = int(lesions.reshape(-1, lesions.shape[2]).sum(0).argmax())
        session = cohort.subjects[pid].sessions[BASELINE]
        background = session.load("T1" if session.has("T1") else "PIB").data[:, :, z]
        out.append({"subject": pid, "z": z, "background": background, "lesions": lesions[:, :, z],
                    **{key: tuple(m[:, :, z] for m in dynamic_maps(t0["maps"][source], t1["maps"][source], lesions))
                       for key, source in (("true", TRUTH), ("predicted", method))}})
    return out
