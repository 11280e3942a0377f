"""Per-session measures, appended as rows to the evaluator's tables (see runner.py).

Each function takes the evaluator (for ``add``/``warn``/``figure_data``), one subject's
identifying columns and the arrays already loaded, and appends long-format rows: one per
subject, session and method. The summaries and statistics are built from these rows in
:mod:`msgan.evaluation.tables`.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from msgan.evaluation.constants import BASELINE, FOLLOW_UP, TRUTH
from msgan.evaluation.demyelination import demyelinated_map, percentage_demyelinated
from msgan.evaluation.image_quality import image_quality
from msgan.evaluation.lesion_contrast import contrast_ratios, threshold_segmentation
from msgan.evaluation.longitudinal import dynamic_maps, longitudinal_indices
from msgan.evaluation.myelin import prediction_discrepancy, roi_means, subject_rois
from msgan.evaluation.overlap import dice


def quality(ev, base: dict, truth: np.ndarray, preds: dict, brain: np.ndarray) -> None:
    for method, pred in preds.items():
        ev.add("quality", {**base, "method": method, **image_quality(truth, pred, brain)})


def flair(ev, base: dict, truth: np.ndarray, preds: dict, regions: dict) -> None:
    """Eq. 2.4 ratios for truth and predictions; threshold segmentations and their DICE."""
    wm, lesions = regions["wm"], regions["lesions"]
    if wm is None or base["group"] != "MS":
        return
    if not lesions.any():
        ev.warn(f"sub-{base['subject']}/ses-{base['session']}: patient without lesions in the lesion "
                "mask; left out of the lesion contrast")
        return
    k, dilation = ev.options.k, ev.options.dilation
    for method, image in {TRUTH: truth, **preds}.items():
        ev.add("contrast", {**base, "method": method, **contrast_ratios(image, lesions, wm, dilation)})
    seg_true = threshold_segmentation(truth, wm, lesions, k)
    for method, pred in preds.items():
        seg_pred = threshold_segmentation(pred, wm, lesions, k)
        ev.add("segmentation", {**base, "method": method, "dice": dice(seg_true, seg_pred),
                                "voxels_true": int(seg_true.sum()), "voxels_pred": int(seg_pred.sum()),
                                "dice_true_vs_lesion_mask": dice(seg_true, lesions)})


def myelin_rois(ev, base: dict, truth: np.ndarray, preds: dict, regions: dict) -> None:
    """Mean DVR per ROI, true and predicted, and their discrepancy (Tables 3.2, 4.2b)."""
    if regions["wm"] is None:
        return
    rois = subject_rois(base["group"], regions["wm"], regions["lesions"])
    true_means = roi_means(truth, rois)
    for method, pred in preds.items():
        pred_means = roi_means(pred, rois)
        for roi, true_mean in true_means.items():
            ev.add("roi", {**base, "method": method, "roi": roi, "true_mean": true_mean,
                           "pred_mean": pred_means[roi],
                           "discrepancy": prediction_discrepancy(true_mean, pred_means[roi])})


def demyelination(ev, base: dict, session, truth, preds: dict, load, distance: np.ndarray,
                  thresholds: dict) -> dict:
    """Static demyelinated maps in the lesion load: % over it, DICE true vs predicted.

    ``load`` is ``(lesion mask, its session)``: the session's own lesions, or the baseline's
    for the follow-up (sec. 4.2.5). Each map is classified with ``thresholds[its source]``;
    a method without thresholds (no control predicted) is left out. Returns what the
    longitudinal analysis needs (the lesion load and each source's demyelinated map).
    """
    lesions, load_session = load
    common = {"lesion_voxels": int(lesions.sum()), "lesion_load_session": load_session}
    true_map = demyelinated_map(truth.data, lesions, distance, thresholds[TRUTH])
    ev.add("demyelination", {**base, "method": TRUTH, **common, "threshold_maps": _source(ev, TRUTH),
                             "percent": percentage_demyelinated(true_map, lesions), "dice": dice(true_map, true_map)})
    maps = {TRUTH: true_map}
    for method, pred in preds.items():
        if method not in thresholds:
            continue
        maps[method] = demyelinated_map(pred, lesions, distance, thresholds[method])
        ev.add("demyelination", {**base, "method": method, **common, "threshold_maps": _source(ev, method),
                                 "percent": percentage_demyelinated(maps[method], lesions),
                                 "dice": dice(true_map, maps[method])})
    if session.has("demyelinated"):
        simulated = session.load("demyelinated").data
        ev.add("procedure", {**base, "dice_vs_simulated": dice(true_map, simulated & lesions),
                             "percent_simulated": percentage_demyelinated(simulated & lesions, lesions),
                             "percent_thresholded": percentage_demyelinated(true_map, lesions)})
    _keep_overlay(ev, base, truth.data, lesions, true_map, maps)
    return {"lesions": lesions, "maps": maps, "voxel_ml": float(np.prod(truth.zooms)) / 1000.0}


def _source(ev, method: str) -> str:
    """Whose control maps set the thresholds of ``method``'s maps."""
    return method if ev.options.threshold_source == "same" else TRUTH


def longitudinal(ev, subject, maps: dict) -> None:
    """The three indices of sec. 4.2.5 and the DICE of the dynamic maps, per method.

    Both visits' maps were classified inside the baseline lesions (see :func:`demyelination`).
    """
    t0, t1 = maps.get(BASELINE), maps.get(FOLLOW_UP)
    if t0 is None or t1 is None:
        missing = FOLLOW_UP if BASELINE in maps and maps[BASELINE] is not None else BASELINE
        ev.warn(f"sub-{subject.id}: patient without a usable ses-{missing} (true PIB, lesions, csf); "
                "left out of the longitudinal analysis and the clinical correlation")
        return
    lesions = t0["lesions"]
    classified = {method: (t0["maps"][method], t1["maps"][method]) for method in t0["maps"] if method in t1["maps"]}
    true_dyn = dynamic_maps(*classified[TRUTH], lesions)
    info = subject.info
    for method, (d0, d1) in classified.items():
        dyn = dynamic_maps(d0, d1, lesions)
        ev.add("longitudinal", {
            "subject": subject.id, "method": method, **longitudinal_indices(d0, d1, lesions),
            "dice_dynamic_demyelination": dice(true_dyn[0], dyn[0]),
            "dice_dynamic_remyelination": dice(true_dyn[1], dyn[1]),
            "edss": info.get("edss"), "age": info.get("age"), "sex": info.get("sex"),
            "t2_lesion_load": info.get("t2_lesion_load"),
            "baseline_lesion_ml": float(lesions.sum()) * t0["voxel_ml"],
        })


def example_slices(ev, subject, session, truth, preds: dict, regions: dict, inputs: Sequence[str]) -> None:
    """Keep one axial slice (through the lesions of the first patient) for the qualitative panel.

    ``inputs``: the task's input sequences, shown beside the images where the session has them.
    """
    current = ev.figure_data.get("example")
    is_patient = bool(regions["lesions"].any())
    if current is not None and (current["is_patient"] or not is_patient):
        return
    if len(preds) < len(ev.options.methods):
        return
    z = _slice_through(regions["lesions"] if is_patient else regions["brain"])
    shown = {name: session.load(name).data[:, :, z] for name in inputs if session.has(name)}
    ev.figure_data["example"] = {
        "label": session.label, "is_patient": is_patient, "z": z, "inputs": shown,
        "truth": truth.data[:, :, z], "preds": {m: p[:, :, z] for m, p in preds.items()},
    }


def _keep_overlay(ev, base, truth, lesions, true_map, maps) -> None:
    overlays = ev.figure_data.setdefault("overlays", [])
    if len(overlays) >= 2 or ev.options.reference not in maps:
        return
    z = _slice_through(lesions)
    overlays.append({"label": f"sub-{base['subject']}/ses-{base['session']}", "z": z,
                     "background": truth[:, :, z], "lesions": lesions[:, :, z],
                     "true": true_map[:, :, z], "pred": maps[ev.options.reference][:, :, z],
                     "dice": dice(true_map, maps[ev.options.reference])})


def _slice_through(mask: np.ndarray) -> int:
    """The axial slice holding most of ``mask`` (the middle slice if it is empty)."""
    counts = mask.reshape(-1, mask.shape[2]).sum(0)
    return int(counts.argmax()) if counts.any() else mask.shape[2] // 2
