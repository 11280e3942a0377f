"""Myelin-sensitive images from the true myelin content: MTR, DTI (AD, RD, FA) and PIB DVR.

Myelin content is relative to normal white matter (1.0): WM-type tissue carries
``1 - loss``, cortex :data:`~data_tools.simulation.tissue.GM_MYELIN`, CSF none.
DTI is simulated at its own 2 mm resolution and resampled to the grid; PIB is blurred
by the PET point-spread function (2.5 mm FWHM, the HRRT's resolution in sec. 3.3.1).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from scipy import ndimage

from data_tools.simulation import tissue

DTI_RESOLUTION_MM = 2.0
PET_FWHM_MM = 2.5
FWHM_TO_SD = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))


def myelin_content(anatomy, lesions) -> np.ndarray:
    """True myelin per voxel: f_WM (1 - loss) + f_GM * GM_MYELIN."""
    return (anatomy.f_wm * (1.0 - lesions.loss) + anatomy.f_gm * tissue.GM_MYELIN).astype(np.float32)


def fractional_anisotropy(ad: np.ndarray, rd: np.ndarray) -> np.ndarray:
    """FA of a cylindrically symmetric tensor (eigenvalues AD, RD, RD): |AD-RD| / sqrt(AD^2 + 2 RD^2)."""
    norm = np.sqrt(ad * ad + 2.0 * rd * rd)
    return np.where(norm > 0, np.abs(ad - rd) / np.maximum(norm, 1e-12), 0.0).astype(np.float32)


def mtr_map(rng: np.random.Generator, anatomy, lesions, oedema: np.ndarray, noise_pu: float = 1.0) -> np.ndarray:
    """MTR (percent units): tissue mixture, lowered by myelin loss and, less, by oedema."""
    wm_mtr = tissue.MTR_WM - tissue.MTR_DROP_PER_LOSS * lesions.loss - tissue.MTR_DROP_OEDEMA * oedema
    mtr = anatomy.f_csf * tissue.MTR_CSF + anatomy.f_gm * tissue.MTR_GM + anatomy.f_wm * wm_mtr
    mtr = mtr + noise_pu * rng.standard_normal(mtr.shape, dtype=np.float32)
    return np.where(anatomy.brain, np.clip(mtr, 0.0, 100.0), 0.0).astype(np.float32)


def _resample_through(volume: np.ndarray, voxel_mm: float, native_mm: float, noise: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Average ``volume`` onto a coarser ``native_mm`` grid, add noise there, resample back.

    When the output grid is already as coarse as ``native_mm`` the noise is added in place.
    """
    factor = voxel_mm / native_mm
    if factor >= 1.0:
        return noise(volume)
    smoothed = ndimage.gaussian_filter(volume, np.sqrt(1.0 / factor ** 2 - 1.0) * FWHM_TO_SD,
                                       mode="nearest")
    coarse = noise(ndimage.zoom(smoothed, factor, order=1, grid_mode=True, mode="nearest"))
    back = ndimage.zoom(coarse, np.array(volume.shape) / np.array(coarse.shape), order=1,
                        grid_mode=True, mode="nearest")
    out = np.zeros(volume.shape, np.float32)
    region = tuple(slice(0, min(a, b)) for a, b in zip(volume.shape, back.shape))
    out[region] = back[region]
    return out


def dti_maps(rng: np.random.Generator, anatomy, lesions, oedema: np.ndarray, coherence: np.ndarray,
             noise_sd: float = 0.03) -> dict[str, np.ndarray]:
    """AD, RD (um^2/ms) and FA, simulated at 2 mm and resampled to the grid.

    Eigenvalues mix linearly with tissue fractions (free water from CSF raises both).
    ``coherence`` (smooth, ~unit SD) varies WM anisotropy (fibre crossing, bundle packing).
    """
    axonal_loss = lesions.loss * lesions.axonal_fraction
    ad_wm = tissue.AD_WM * (1.0 + 0.1 * coherence) - tissue.AD_FALL_PER_AXON_LOSS * axonal_loss \
        + tissue.AD_RISE_OEDEMA * oedema
    rd_wm = tissue.RD_WM * (1.0 - 0.1 * coherence) + tissue.RD_RISE_PER_LOSS * lesions.loss \
        + tissue.RD_RISE_OEDEMA * oedema
    ad = anatomy.f_csf * tissue.D_CSF + anatomy.f_gm * tissue.AD_GM + anatomy.f_wm * ad_wm
    rd = anatomy.f_csf * tissue.D_CSF + anatomy.f_gm * tissue.RD_GM + anatomy.f_wm * rd_wm

    def add_noise(volume):
        return volume + noise_sd * rng.standard_normal(volume.shape).astype(np.float32)

    ad = np.clip(_resample_through(ad.astype(np.float32), anatomy.voxel_mm, DTI_RESOLUTION_MM, add_noise), 0.05, 4.0)
    rd = np.clip(_resample_through(rd.astype(np.float32), anatomy.voxel_mm, DTI_RESOLUTION_MM, add_noise), 0.05, 4.0)
    fa = fractional_anisotropy(ad, rd)
    return {name: np.where(anatomy.brain, values, 0.0).astype(np.float32)
            for name, values in (("FA", fa), ("RD", rd), ("AD", ad))}


def pib_dvr(myelin: np.ndarray, anatomy, subject_scale: float) -> np.ndarray:
    """Noise-free PIB DVR: base + slope * myelin + GM offset * f_GM - CSF deficit * f_CSF.

    ``subject_scale`` is a between-subject factor (tracer delivery, quantification).
    """
    dvr = (tissue.DVR_BASE + tissue.DVR_PER_MYELIN * myelin + tissue.DVR_GM_OFFSET * anatomy.f_gm
           - tissue.DVR_CSF_DEFICIT * anatomy.f_csf)
    return np.where(anatomy.brain, subject_scale * dvr, 0.0).astype(np.float32)


def pet_image(rng: np.random.Generator, dvr: np.ndarray, anatomy, noise_sd: float = 0.06) -> np.ndarray:
    """PIB DVR as measured: blurred by the 2.5 mm FWHM PSF plus spatially correlated noise."""
    sigma = PET_FWHM_MM * FWHM_TO_SD / anatomy.voxel_mm
    blurred = ndimage.gaussian_filter(dvr, sigma, mode="constant")
    noise = ndimage.gaussian_filter(rng.standard_normal(dvr.shape).astype(np.float32), max(sigma, 0.5))
    noise *= noise_sd / (noise.std() + 1e-12)
    return np.where(anatomy.brain, np.clip(blurred + noise, 0.0, None), 0.0).astype(np.float32)
