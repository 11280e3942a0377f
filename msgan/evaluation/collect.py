"""Per-session measures as long-format rows: one per subject, session and method.

Each collector takes one subject's identifying columns (``base``) and the arrays the
runner already loaded, and returns rows (a list, or ``{table: rows}`` when it fills more
than one table); none keeps state. The runner (:mod:`msgan.evaluation.runner`) decides
which collectors apply to a session, states the gaps and assembles the rows; the
summaries and statistics are built from them in :mod:`msgan.evaluation.tables`.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from msgan.evaluation.constants import TRUTH
from msgan.evaluation.demyelination import demyelinated_map, percentage_demyelinated
from msgan.evaluation.image_quality import image_quality
from msgan.evaluation.lesion_contrast import contrast_ratios, threshold_segmentation
from msgan.evaluation.longitudinal import dynamic_maps, longitudinal_indices
from msgan.evaluation.myelin import prediction_discrepancy, roi_means, subject_rois
from msgan.evaluation.overlap import dice

#: table name -> its rows, as a collector that fills several tables returns them
Rows = dict[str, list[dict]]


def quality(base: dict, truth: np.ndarray, preds: dict, brain: np.ndarray) -> list[dict]:
    """Image quality of each method's prediction (table ``quality``)."""
    return [{**base, "method": method, **image_quality(truth, pred, brain)} for method, pred in preds.items()]


def flair(base: dict, truth: np.ndarray, preds: dict, lesions: np.ndarray, wm: np.ndarray,
          k: float, dilation: int) -> Rows:
    """Eq. 2.4 ratios for truth and predictions (``contrast``); threshold segmentations and
    their DICE (``segmentation``). ``lesions`` must hold voxels."""
    contrast = [{**base, "method": method, **contrast_ratios(image, lesions, wm, dilation)}
                for method, image in {TRUTH: truth, **preds}.items()]
    seg_true = threshold_segmentation(truth, wm, lesions, k)
    segmentation = []
    for method, pred in preds.items():
        seg_pred = threshold_segmentation(pred, wm, lesions, k)
        segmentation.append({**base, "method": method, "dice": dice(seg_true, seg_pred),
                             "voxels_true": int(seg_true.sum()), "voxels_pred": int(seg_pred.sum()),
                             "dice_true_vs_lesion_mask": dice(seg_true, lesions)})
    return {"contrast": contrast, "segmentation": segmentation}


def myelin_rois(base: dict, truth: np.ndarray, preds: dict, wm: np.ndarray, lesions: np.ndarray) -> list[dict]:
    """Mean DVR per ROI, true and predicted, and their discrepancy (table ``roi``; Tables 3.2, 4.2b)."""
    rois = subject_rois(base["group"], wm, lesions)
    true_means = roi_means(truth, rois)
    rows = []
    for method, pred in preds.items():
        pred_means = roi_means(pred, rois)
        for roi, true_mean in true_means.items():
            rows.append({**base, "method": method, "roi": roi, "true_mean": true_mean,
                         "pred_mean": pred_means[roi],
                         "discrepancy": prediction_discrepancy(true_mean, pred_means[roi])})
    return rows


def demyelination(base: dict, truth, preds: dict, load, distance: np.ndarray, thresholds: dict,
                  threshold_source: str, simulated: np.ndarray | None = None) -> tuple[Rows, dict]:
    """Static demyelinated maps in the lesion load: % over it, DICE true vs predicted.

    ``truth`` is the true image (a ``Volume``). ``load`` is ``(lesion mask, its session)``:
    the session's own lesions, or the baseline's for the follow-up (sec. 4.2.5). Each map is
    classified with ``thresholds[its source]``; a method without thresholds (no control
    predicted) is left out. ``simulated``: the simulator's demyelinated truth, if any
    (table ``procedure``). Returns the rows and what the longitudinal analysis needs (the
    lesion load, each source's demyelinated map and the voxel volume in mL).
    """
    lesions, load_session = load
    common = {"lesion_voxels": int(lesions.sum()), "lesion_load_session": load_session}

    def source(method: str) -> str:  # whose control maps set the thresholds of method's maps
        return method if threshold_source == "same" else TRUTH

    true_map = demyelinated_map(truth.data, lesions, distance, thresholds[TRUTH])
    rows: Rows = {"demyelination": [{**base, "method": TRUTH, **common, "threshold_maps": source(TRUTH),
                                     "percent": percentage_demyelinated(true_map, lesions),
                                     "dice": dice(true_map, true_map)}]}
    maps = {TRUTH: true_map}
    for method, pred in preds.items():
        if method not in thresholds:
            continue
        maps[method] = demyelinated_map(pred, lesions, distance, thresholds[method])
        rows["demyelination"].append({**base, "method": method, **common, "threshold_maps": source(method),
                                      "percent": percentage_demyelinated(maps[method], lesions),
                                      "dice": dice(true_map, maps[method])})
    if simulated is not None:
        rows["procedure"] = [{**base, "dice_vs_simulated": dice(true_map, simulated & lesions),
                              "percent_simulated": percentage_demyelinated(simulated & lesions, lesions),
                              "percent_thresholded": percentage_demyelinated(true_map, lesions)}]
    return rows, {"lesions": lesions, "maps": maps, "voxel_ml": float(np.prod(truth.zooms)) / 1000.0}


def longitudinal(subject, t0: dict, t1: dict) -> list[dict]:
    """The three indices of sec. 4.2.5 and the DICE of the dynamic maps, per method.

    ``t0``, ``t1``: what :func:`demyelination` returned for each visit; both visits' maps
    were classified inside the baseline lesions.
    """
    lesions = t0["lesions"]
    classified = {method: (t0["maps"][method], t1["maps"][method]) for method in t0["maps"] if method in t1["maps"]}
    true_dyn = dynamic_maps(*classified[TRUTH], lesions)
    info = subject.info
    rows = []
    for method, (d0, d1) in classified.items():
        dyn = dynamic_maps(d0, d1, lesions)
        rows.append({
            "subject": subject.id, "method": method, **longitudinal_indices(d0, d1, lesions),
            "dice_dynamic_demyelination": dice(true_dyn[0], dyn[0]),
            "dice_dynamic_remyelination": dice(true_dyn[1], dyn[1]),
            "edss": info.get("edss"), "age": info.get("age"), "sex": info.get("sex"),
            "t2_lesion_load": info.get("t2_lesion_load"),
            "baseline_lesion_ml": float(lesions.sum()) * t0["voxel_ml"],
        })
    return rows


def replaces_example(current: dict | None, is_patient: bool) -> bool:
    """Whether a session replaces the qualitative panel's ``current`` example: the first
    session shown, then the first patient's (a patient's example is kept)."""
    return current is None or (not current["is_patient"] and is_patient)


def example_slice(session, truth, preds: dict, regions: dict, inputs: Sequence[str]) -> dict:
    """One axial slice (through the lesions of a patient, else the brain) for the qualitative panel.

    ``inputs``: the task's input sequences, shown beside the images where the session has them.
    """
    is_patient = bool(regions["lesions"].any())
    z = slice_through(regions["lesions"] if is_patient else regions["brain"])
    shown = {name: session.load(name).data[:, :, z] for name in inputs if session.has(name)}
    return {"label": session.label, "is_patient": is_patient, "z": z, "inputs": shown,
            "truth": truth.data[:, :, z], "preds": {m: p[:, :, z] for m, p in preds.items()}}


def overlay(base: dict, truth: np.ndarray, lesions: np.ndarray, true_map: np.ndarray, pred_map: np.ndarray) -> dict:
    """One slice of the true and predicted demyelinated maps over the image, for the figure."""
    z = slice_through(lesions)
    return {"label": f"sub-{base['subject']}/ses-{base['session']}", "z": z,
            "background": truth[:, :, z], "lesions": lesions[:, :, z],
            "true": true_map[:, :, z], "pred": pred_map[:, :, z], "dice": dice(true_map, pred_map)}


def slice_through(mask: np.ndarray) -> int:
    """The axial slice holding most of ``mask`` (the middle slice if it is empty)."""
    counts = mask.reshape(-1, mask.shape[2]).sum(0)
    return int(counts.argmax()) if counts.any() else mask.shape[2] // 2
