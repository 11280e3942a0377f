"""Tissue properties at 3 T, and how lesion properties follow myelin loss and oedema.

Values are textbook figures for healthy adult brain at 3 T; each is cited where defined.
Lesion values move with the voxel's myelin-loss fraction ``loss`` (0 intact, 1 complete)
and with oedema (active, gadolinium-enhancing lesions). Myelin content is expressed
relative to normal white matter (1.0).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Relaxation:
    t1_ms: float
    t2_ms: float
    pd: float  # water content relative to pure water


# T1 and T2 of WM and GM at 3 T: Wansapura et al., JMRI 1999 (WM 832/80 ms, GM 1331/110 ms);
# CSF T1 ~4.2 s at 3 T (Lu et al., JMRI 2005), CSF T2 ~2 s (Piechnik et al., MRM 2009).
# Proton density: WM 0.69, GM 0.80, CSF 1.0 (Tofts, Quantitative MRI of the Brain, 2003, ch. 4).
WM = Relaxation(t1_ms=832.0, t2_ms=80.0, pd=0.69)
GM = Relaxation(t1_ms=1331.0, t2_ms=110.0, pd=0.80)
CSF = Relaxation(t1_ms=4200.0, t2_ms=2000.0, pd=1.00)

# MS lesions at 3 T: T1 roughly 1000-1600 ms and T2 120-200 ms, longer the more tissue is
# destroyed (Vrenken et al., Radiology 2006; Neema et al., NeuroImage 2007); gliosis keeps
# even remyelinated lesions T2-hyperintense. Oedema adds free water.
LESION_T1_MS = (1050.0, 450.0, 200.0)   # base, per unit myelin loss, with oedema
LESION_T2_MS = (130.0, 60.0, 40.0)
LESION_PD = (0.76, 0.08, 0.05)

# Gadolinium: T1 relaxivity ~4 /mM/s at 3 T (Rohrer et al., Invest Radiol 2005) and
# ~0.15 mM in an enhancing lesion; shortens T1 as 1/T1' = 1/T1 + r1 C.
GD_RELAXIVITY_PER_MM_PER_MS = 4.0e-3
GD_LESION_CONCENTRATION_MM = 0.15

# Magnetisation transfer ratio (percent units) at 3 T: WM ~45-50, GM ~35-40, CSF ~0-5
# (e.g. Ropele et al., AJNR 2012). Demyelinated lesions fall to ~25-35 pu.
MTR_WM, MTR_GM, MTR_CSF = 47.0, 38.0, 4.0
MTR_DROP_PER_LOSS, MTR_DROP_OEDEMA = 17.0, 6.0

# Diffusivities in um^2/ms (= 1e-3 mm^2/s) at body temperature: free water (CSF) ~3.0;
# WM axial ~1.3-1.4 and radial ~0.5-0.6 (FA ~0.5 at 2 mm); cortex nearly isotropic.
# Radial diffusivity rises with demyelination (Song et al., NeuroImage 2002/2005), axial
# diffusivity falls with axonal loss; oedema raises both.
AD_WM, RD_WM = 1.35, 0.55
AD_GM, RD_GM = 0.95, 0.75
D_CSF = 3.0
RD_RISE_PER_LOSS, RD_RISE_OEDEMA = 0.45, 0.25
AD_FALL_PER_AXON_LOSS, AD_RISE_OEDEMA = 0.45, 0.20

# Myelin content relative to normal WM: cortex holds a small fraction of WM myelin.
GM_MYELIN = 0.15

# [11C]PIB DVR: ~1.7-1.9 in normal WM and ~1.1-1.3 in cortex of young healthy adults, lower
# in demyelinated lesions (Stankoff et al., Ann Neurol 2011; Bodini et al., Ann Neurol 2016).
# Modelled as DVR = base + slope * myelin + GM offset * f_GM - CSF deficit * f_CSF:
# WM 0.9 + 0.9 = 1.8, cortex 0.9 + 0.135 + 0.2 = 1.235, CSF 0.7, fully demyelinated 0.9.
DVR_BASE, DVR_PER_MYELIN, DVR_GM_OFFSET, DVR_CSF_DEFICIT = 0.9, 0.9, 0.2, 0.2


def lesion_relaxation(loss: np.ndarray, oedema: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """T1 (ms), T2 (ms) and PD of lesional tissue with myelin loss ``loss`` and oedema (0/1)."""
    loss = np.asarray(loss, np.float32)
    oedema = np.asarray(oedema, np.float32)
    t1 = LESION_T1_MS[0] + LESION_T1_MS[1] * loss + LESION_T1_MS[2] * oedema
    t2 = LESION_T2_MS[0] + LESION_T2_MS[1] * loss + LESION_T2_MS[2] * oedema
    pd = LESION_PD[0] + LESION_PD[1] * loss + LESION_PD[2] * oedema
    return t1, t2, pd


def t1_with_gadolinium(t1_ms: np.ndarray, concentration_mm: np.ndarray) -> np.ndarray:
    """T1 shortened by a gadolinium concentration (mM): 1/T1' = 1/T1 + r1 C."""
    return 1.0 / (1.0 / np.asarray(t1_ms, np.float32) + GD_RELAXIVITY_PER_MM_PER_MS * concentration_mm)
