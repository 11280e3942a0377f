"""Fig. 4.6: demyelinating and remyelinating voxels inside the baseline lesions, true vs predicted.

The maps are classified as ``msgan evaluate`` does with its defaults (threshold source
``same``: a map with the controls' maps of the same source; distance to CSF in each
session's own space): :mod:`msgan.evaluation.demyelination` and
:func:`msgan.evaluation.longitudinal.dynamic_maps`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from data_tools.io.cohort import Cohort
from data_tools.io.nifti import load_volume
from msgan.evaluation.demyelination import (DEFAULT_BIN_MM, demyelinated_map, distance_to_csf,
                                            pool_control_statistics)
from msgan.evaluation.longitudinal import dynamic_maps
from msgan.evaluation.runner import find_prediction


def _masks(session):
    lesions = session.load("lesions").data.astype(bool) if session.has("lesions") else None
    wm = session.load("wm").data.astype(bool)
    distance = distance_to_csf(session.load("csf").data, session.load("PIB").zooms, where=session.path("csf"))
    return lesions, wm, distance


def _thresholds(cohort: Cohort, pred_dir: Path, bin_mm: float):
    true, pred = [], []
    for subject in cohort.subjects.values():
        if subject.group != "HC" or "t0" not in subject.sessions:
            continue
        session = subject.sessions["t0"]
        path = find_prediction(pred_dir, session, "PIB")
        if path is None:
            continue
        lesions, wm, distance = _masks(session)
        nawm = wm if lesions is None else wm & ~lesions
        true.append((session.load("PIB").data, distance, nawm))
        pred.append((load_volume(path).data, distance, nawm))
    if not true:
        return None
    return pool_control_statistics(true, bin_mm), pool_control_statistics(pred, bin_mm)


def dynamic_voxel_maps(cohort: Cohort, pred_dir: str | Path, patients: list[str],
                       bin_mm: float = DEFAULT_BIN_MM) -> list[dict]:
    """Per patient: the axial slice through most baseline lesion voxels, its T1, the lesions,
    and the (demyelinating, remyelinating) maps from the true and the predicted PIB."""
    pred_dir = Path(pred_dir)
    thresholds = _thresholds(cohort, pred_dir, bin_mm)
    if thresholds is None:
        return []
    out = []
    for pid in patients:
        sessions = cohort.subjects[pid].sessions
        if not {"t0", "t1"} <= set(sessions):
            continue
        maps = {"true": [], "predicted": []}
        lesions = None
        for name in ("t0", "t1"):
            session = sessions[name]
            path = find_prediction(pred_dir, session, "PIB")
            if path is None:
                break
            own_lesions, _, distance = _masks(session)
            lesions = own_lesions if name == "t0" else lesions  # the baseline lesion load, sec. 4.2.5
            for key, pet, thr in (("true", session.load("PIB").data, thresholds[0]),
                                  ("predicted", load_volume(path).data, thresholds[1])):
                maps[key].append(demyelinated_map(pet, lesions, distance, thr))
        if lesions is None or len(maps["predicted"]) < 2:
            continue
        z = int(lesions.reshape(-1, lesions.shape[2]).sum(0).argmax())
        background = sessions["t0"].load("T1").data[:, :, z] if sessions["t0"].has("T1") \
            else sessions["t0"].load("PIB").data[:, :, z]
        out.append({"subject": pid, "z": z, "background": background, "lesions": lesions[:, :, z],
                    **{key: tuple(m[:, :, z] for m in dynamic_maps(*pair, lesions)) for key, pair in maps.items()}})
    return out


def draw_dynamic_voxels(panels: list[dict], path: Path) -> Path:
    """Rows = patients; columns = T1 with lesions (white), predicted, true; demyelinating voxels
    red, remyelinating blue (the colours of Fig. 4.6)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(panels), 3, figsize=(7.5, 2.6 * len(panels)), squeeze=False)
    for row, panel in zip(axes, panels):
        base = panel["background"] / max(float(np.percentile(panel["background"], 99)), 1e-6)
        for ax, key in zip(row, ("T1", "predicted", "true")):
            rgb = np.repeat(np.clip(base, 0, 1)[..., None], 3, -1)
            rgb[panel["lesions"]] = (1.0, 1.0, 1.0)
            if key != "T1":
                demyelinating, remyelinating = panel[key]
                rgb[demyelinating] = (1.0, 0.1, 0.1)
                rgb[remyelinating] = (0.1, 0.3, 1.0)
            ax.imshow(np.rot90(rgb))
            ax.set_title(f"sub-{panel['subject']} z={panel['z']}: {key}", fontsize=8)
            ax.axis("off")
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path
