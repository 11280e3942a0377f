"""Static myelin content per region (thesis sec. 3.3.2-3.3.4, Tables 3.2 and 4.2b, Fig. 3.7).

Three regions of interest: white matter of healthy controls (``WM_HC``), normal-appearing
white matter of patients (``NAWM``) and the patients' lesions (``lesions``). The
prediction discrepancy of a region is |mean true DVR - mean predicted DVR| in it; the
group tests and the Bland-Altman agreement are computed on per-subject region means.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

ROIS = ("WM_HC", "NAWM", "lesions")


def subject_rois(group: str, wm: np.ndarray, lesions: np.ndarray) -> dict[str, np.ndarray]:
    """The regions a subject contributes: WM for a control, NAWM and lesions for a patient."""
    wm = np.asarray(wm, bool)
    lesions = np.asarray(lesions, bool)
    if group == "HC":
        return {"WM_HC": wm & ~lesions}
    rois = {"NAWM": wm & ~lesions}
    if lesions.any():
        rois["lesions"] = lesions
    return rois


def roi_means(image: np.ndarray, rois: dict[str, np.ndarray]) -> dict[str, float]:
    """Mean voxel value of ``image`` in each non-empty region."""
    return {name: float(image[mask].mean()) for name, mask in rois.items() if mask.any()}


def prediction_discrepancy(true_mean: float, pred_mean: float) -> float:
    """|mean true - mean predicted| in one region of one subject (Tables 3.2, 4.2b)."""
    return abs(float(true_mean) - float(pred_mean))


@dataclass
class TTest:
    name: str
    statistic: float
    pvalue: float
    n: str
    test: str
    df: float  # scipy's degrees of freedom (n - 1 for the paired test; Welch's otherwise)


def group_tests(nawm_ms: dict[str, float], wm_hc: dict[str, float],
                lesions_ms: dict[str, float]) -> list[TTest]:
    """The two comparisons of sec. 3.3.4 on per-subject means (two-sided, scipy.stats).

    - patients' NAWM vs controls' WM: independent groups, Welch's t-test;
    - patients' lesions vs their own NAWM: the same patients, paired t-test.
    Each argument maps subject id -> region mean, one session's: a subject counts once.
    """
    out = []
    a = np.array(list(nawm_ms.values()))
    b = np.array(list(wm_hc.values()))
    if len(a) >= 2 and len(b) >= 2:
        res = stats.ttest_ind(a, b, equal_var=False)
        out.append(TTest("NAWM (MS) vs WM (HC)", float(res.statistic), float(res.pvalue),
                         f"{len(a)} MS, {len(b)} HC", "Welch two-sample, two-sided", float(res.df)))
    paired = sorted(set(nawm_ms) & set(lesions_ms))
    if len(paired) >= 2:
        res = stats.ttest_rel([lesions_ms[s] for s in paired], [nawm_ms[s] for s in paired])
        out.append(TTest("lesions vs NAWM (MS)", float(res.statistic), float(res.pvalue),
                         f"{len(paired)} MS", "paired, two-sided", float(res.df)))
    return out


def bland_altman(true: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """Bland-Altman agreement of paired measures: bias = mean(pred - true), limits bias +- 1.96 SD.

    SD is the sample standard deviation (ddof=1) of the differences.
    """
    diff = np.asarray(pred, np.float64) - np.asarray(true, np.float64)
    bias = float(diff.mean())
    sd = float(diff.std(ddof=1)) if len(diff) > 1 else float("nan")
    return {"bias": bias, "sd": sd, "lower": bias - 1.96 * sd, "upper": bias + 1.96 * sd, "n": len(diff)}
