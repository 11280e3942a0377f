"""Fig. 4.6: demyelinating and remyelinating voxels inside the baseline lesions, true vs predicted.

The demyelinated maps are the evaluation's own (``evaluate(..., keep_maps=[method])``: each
map classified with the thresholds and the distance to CSF of that evaluation, in its
threshold space), so the figure shows what the tables measured;
:func:`msgan.evaluation.longitudinal.dynamic_maps` makes the dynamic maps of them.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from data_tools.contracts import BASELINE, FOLLOW_UP
from data_tools.io.cohort import Cohort
from msgan.evaluation.constants import TRUTH
from msgan.evaluation.longitudinal import dynamic_maps


def dynamic_voxel_maps(cohort: Cohort, classified: dict, method: str, patients: list[str]) -> list[dict]:
    """Per patient both of whose visits were classified (``EvaluationResult.classified``): the
    axial slice through most baseline lesion voxels, its T1, the lesions, and the
    (demyelinating, remyelinating) maps from the true and from ``method``'s PIB."""
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


def draw_dynamic_voxels(panels: list[dict], path: Path) -> Path:
    """Rows = patients; columns = T1 with lesions (white), predicted, true; demyelinating voxels
    red, remyelinating blue (the colours of Fig. 4.6)."""
    from msgan.experiments.chapter_report import pyplot, save_figure

    fig, axes = pyplot().subplots(len(panels), 3, figsize=(7.5, 2.6 * len(panels)), squeeze=False)
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
    return save_figure(fig, path)
