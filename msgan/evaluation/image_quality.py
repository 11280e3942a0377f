"""Global image quality of a prediction: MSE (eq. 3.8), PSNR (eq. 3.9) and 3-D SSIM.

All three come from scikit-image. PSNR follows eq. 3.9, whose MAX is the maximum of the
*true* image (scikit-image's ``data_range``); SSIM uses the truth's range as data range.
Each measure is computed over the whole volume and inside the brain mask.

Across scanners a synthetic image's absolute scale is arbitrary, its structure and
contrast are not (issue 19): :func:`scale_free_ssim` is the brain SSIM after matching the
prediction's brain mean and SD to the truth's, and :func:`brain_correlation` the Pearson
correlation of the brain voxels (scipy).
"""
from __future__ import annotations

import numpy as np
from scipy.stats import pearsonr
from skimage.metrics import mean_squared_error, peak_signal_noise_ratio, structural_similarity


def mse(true: np.ndarray, pred: np.ndarray) -> float:
    """Mean squared error between the true and predicted voxels (eq. 3.8)."""
    return float(mean_squared_error(np.asarray(true, np.float64), np.asarray(pred, np.float64)))


def psnr(true: np.ndarray, pred: np.ndarray) -> float:
    """PSNR = 20 log10(MAX) - 10 log10(MSE), MAX the maximum of the true image (eq. 3.9).

    A perfect prediction (MSE 0) gives ``inf``.
    """
    true = np.asarray(true, np.float64)
    pred = np.asarray(pred, np.float64)
    if np.array_equal(true, pred):
        return float("inf")
    return float(peak_signal_noise_ratio(true, pred, data_range=float(true.max())))


def _ssim_map(true: np.ndarray, pred: np.ndarray) -> tuple[float, np.ndarray]:
    """scikit-image's 3-D SSIM (7-voxel window, data range of the truth): mean and local map."""
    true = np.asarray(true, np.float64)
    pred = np.asarray(pred, np.float64)
    data_range = float(true.max() - true.min()) or 1.0  # a constant truth: any non-zero range
    win = min(7, *[s if s % 2 else s - 1 for s in true.shape])
    score, local = structural_similarity(true, pred, data_range=data_range, win_size=win, full=True)
    return float(score), local


def ssim(true: np.ndarray, pred: np.ndarray, region: np.ndarray | None = None) -> float:
    """3-D SSIM (scikit-image, 7-voxel window, data range of the truth).

    With ``region`` the local SSIM map is averaged over those voxels only, so the
    structure around the brain edge still counts but the empty background does not.
    """
    score, local = _ssim_map(true, pred)
    return score if region is None else float(local[np.asarray(region, bool)].mean())


def match_brain_moments(pred: np.ndarray, true: np.ndarray, brain: np.ndarray) -> np.ndarray:
    """``pred`` with its brain voxels linearly mapped to the truth's brain mean and SD
    (population SDs); voxels outside the brain are left as they are."""
    brain = np.asarray(brain, bool)
    pred = np.asarray(pred, np.float64)
    inside, reference = pred[brain], np.asarray(true, np.float64)[brain]
    spread = inside.std()
    z = (inside - inside.mean()) / spread if spread > 0 else np.zeros_like(inside)
    matched = pred.copy()
    matched[brain] = z * reference.std() + reference.mean()
    return matched


def scale_free_ssim(true: np.ndarray, pred: np.ndarray, brain: np.ndarray) -> float:
    """:func:`ssim` inside ``brain`` of :func:`match_brain_moments` (prediction) vs the truth."""
    return ssim(true, match_brain_moments(pred, true, brain), brain)


def brain_correlation(true: np.ndarray, pred: np.ndarray, brain: np.ndarray) -> float:
    """Pearson correlation of the brain voxels (scipy.stats.pearsonr); NaN for a constant one."""
    brain = np.asarray(brain, bool)
    a, b = np.asarray(true, np.float64)[brain], np.asarray(pred, np.float64)[brain]
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(pearsonr(a, b)[0])


def image_quality(true: np.ndarray, pred: np.ndarray, brain: np.ndarray) -> dict[str, float]:
    """MSE, PSNR and SSIM over the whole volume and inside ``brain``; the scale-free SSIM
    and the correlation inside ``brain``."""
    brain = np.asarray(brain, bool)
    score, local = _ssim_map(true, pred)  # one SSIM pass serves both regions
    return {
        "mse": mse(true, pred),
        "psnr": psnr(true, pred),
        "ssim": score,
        "mse_brain": mse(true[brain], pred[brain]),
        "psnr_brain": psnr(true[brain], pred[brain]),
        "ssim_brain": float(local[brain].mean()),
        "ssim_scale_free_brain": scale_free_ssim(true, pred, brain),
        "correlation_brain": brain_correlation(true, pred, brain),
    }
