"""MR images from tissue properties: the standard signal equations, bias field, Rician noise.

Each sequence's signal is computed per tissue and mixed by the voxel's tissue fractions
(partial volume); lesional voxels get their own relaxation times. Inversion times are
solved from the equations so that FLAIR nulls CSF and DIR nulls CSF and white matter.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from data_tools.simulation import tissue

#: The order in which the MR images are simulated (each draws its own noise and bias).
MRI_NAMES = ("T1", "T2", "PD", "T1SE", "DIR", "T1POST", "FLAIR")
#: Brightest tissue signal of each image after scaling (arbitrary scanner units).
SIGNAL_SCALE = 1000.0


def spoiled_gradient_echo(pd, t1, t2, tr, te, flip_deg):
    """Steady-state spoiled gradient echo (FLASH): PD sin a (1-E1)/(1-cos a E1) e^(-TE/T2)."""
    a = np.deg2rad(flip_deg)
    e1 = np.exp(-tr / t1)
    return pd * np.sin(a) * (1.0 - e1) / (1.0 - np.cos(a) * e1) * np.exp(-te / t2)


def spin_echo(pd, t1, t2, tr, te):
    """Spin echo with full refocusing: PD (1 - e^(-TR/T1)) e^(-TE/T2)."""
    return pd * (1.0 - np.exp(-tr / t1)) * np.exp(-te / t2)


def inversion_recovery(pd, t1, t2, tr, te, ti):
    """Magnitude inversion recovery: PD |1 - 2 e^(-TI/T1) + e^(-TR/T1)| e^(-TE/T2).

    Longitudinal magnetisation is taken as saturated by each readout (TE << TR).
    """
    return pd * np.abs(1.0 - 2.0 * np.exp(-ti / t1) + np.exp(-tr / t1)) * np.exp(-te / t2)


def double_inversion_recovery(pd, t1, t2, tr, te, ti1, ti2):
    """Magnitude DIR, inversions TI1 and TI2 (TI1 > TI2) before the readout.

    Mz/M0 = 1 - 2 e^(-TI2/T1) + 2 e^(-TI1/T1) - e^(-TR/T1) (Redpath & Smith, BJR 1994),
    from saturation at the readout, recovery, two inversions and recoveries.
    """
    mz = 1.0 - 2.0 * np.exp(-ti2 / t1) + 2.0 * np.exp(-ti1 / t1) - np.exp(-tr / t1)
    return pd * np.abs(mz) * np.exp(-te / t2)


def flair_null_ti(t1_null: float, tr: float) -> float:
    """Inversion time nulling a tissue of T1 ``t1_null``: TI = T1 ln(2 / (1 + e^(-TR/T1)))."""
    return float(t1_null * np.log(2.0 / (1.0 + np.exp(-tr / t1_null))))


@functools.lru_cache(maxsize=None)
def dir_null_tis(t1_a: float, t1_b: float, tr: float) -> tuple[float, float]:
    """(TI1, TI2) nulling two T1s at once in :func:`double_inversion_recovery`."""
    def residual(x):
        ti1, ti2 = x
        return [1 - 2 * np.exp(-ti2 / t1) + 2 * np.exp(-ti1 / t1) - np.exp(-tr / t1) for t1 in (t1_a, t1_b)]

    ti1, ti2 = optimize.fsolve(residual, [0.75 * t1_a, 0.65 * t1_b], xtol=1e-10)
    return float(ti1), float(ti2)


@dataclass(frozen=True)
class Protocol:
    """3 T acquisition parameters (ms, degrees), typical of clinical MS protocols."""

    t1w_tr: float = 20.0     # 3-D FLASH T1-w
    t1w_te: float = 4.0
    t1w_flip: float = 25.0
    t2_tr: float = 5000.0    # dual-echo turbo spin echo: PD and T2
    t2_te: float = 100.0
    pd_te: float = 10.0
    t1se_tr: float = 600.0   # T1 spin echo
    t1se_te: float = 10.0
    flair_tr: float = 9000.0
    flair_te: float = 90.0
    dir_tr: float = 7500.0
    dir_te: float = 25.0

    @property
    def flair_ti(self) -> float:
        return flair_null_ti(tissue.CSF.t1_ms, self.flair_tr)

    @property
    def dir_tis(self) -> tuple[float, float]:
        return dir_null_tis(tissue.CSF.t1_ms, tissue.WM.t1_ms, self.dir_tr)


PROTOCOL = Protocol()


def signal(name: str, pd, t1, t2, protocol: Protocol = PROTOCOL):
    """Noise-free signal of sequence ``name`` for tissue properties (arrays or scalars)."""
    p = protocol
    if name in ("T1", "T1POST"):
        return spoiled_gradient_echo(pd, t1, t2, p.t1w_tr, p.t1w_te, p.t1w_flip)
    if name == "T2":
        return spin_echo(pd, t1, t2, p.t2_tr, p.t2_te)
    if name == "PD":
        return spin_echo(pd, t1, t2, p.t2_tr, p.pd_te)
    if name == "T1SE":
        return spin_echo(pd, t1, t2, p.t1se_tr, p.t1se_te)
    if name == "FLAIR":
        return inversion_recovery(pd, t1, t2, p.flair_tr, p.flair_te, p.flair_ti)
    if name == "DIR":
        return double_inversion_recovery(pd, t1, t2, p.dir_tr, p.dir_te, *p.dir_tis)
    raise ValueError(f"unknown MR sequence {name}")


def _tissue_signals(name: str) -> tuple[float, float, float]:
    return tuple(float(signal(name, t.pd, t.t1_ms, t.t2_ms)) for t in (tissue.CSF, tissue.GM, tissue.WM))


def class_signals(name: str, anatomy, lesion_loss: np.ndarray, lesion_mask: np.ndarray,
                  oedema: np.ndarray, gadolinium_mm: np.ndarray | None = None
                  ) -> tuple[float, float, float, np.ndarray, float]:
    """Signals of CSF, GM, normal WM and, per voxel, of the white-matter fraction (its
    lesional voxels with the lesion's own T1/T2/PD), and the factor that scales the
    brightest tissue to SIGNAL_SCALE."""
    s_csf, s_gm, s_wm = _tissue_signals(name)
    wm_signal = np.full(anatomy.shape, s_wm, dtype=np.float32)
    t1, t2, pd = tissue.lesion_relaxation(lesion_loss[lesion_mask], oedema[lesion_mask])
    if gadolinium_mm is not None:
        t1 = tissue.t1_with_gadolinium(t1, gadolinium_mm[lesion_mask])
    wm_signal[lesion_mask] = signal(name, pd, t1, t2)
    return s_csf, s_gm, s_wm, wm_signal, SIGNAL_SCALE / max(s_csf, s_gm, s_wm)


def noise_free_image(name: str, anatomy, lesion_loss: np.ndarray, lesion_mask: np.ndarray,
                     oedema: np.ndarray, gadolinium_mm: np.ndarray | None = None) -> np.ndarray:
    """Partial-volume mixture of tissue signals, scaled so the brightest tissue is SIGNAL_SCALE.

    In lesional voxels the white-matter fraction has the lesion's own T1/T2/PD.
    """
    s_csf, s_gm, _, wm_signal, scale = class_signals(name, anatomy, lesion_loss, lesion_mask, oedema,
                                                     gadolinium_mm)
    image = anatomy.f_csf * s_csf + anatomy.f_gm * s_gm + anatomy.f_wm * wm_signal
    return (image * scale).astype(np.float32)


def add_rician_noise(rng: np.random.Generator, image: np.ndarray, sigma: float) -> np.ndarray:
    """Magnitude of the image plus complex Gaussian noise of SD ``sigma`` per channel."""
    real = image + sigma * rng.standard_normal(image.shape, dtype=np.float32)
    imag = sigma * rng.standard_normal(image.shape, dtype=np.float32)
    return np.sqrt(real * real + imag * imag)
