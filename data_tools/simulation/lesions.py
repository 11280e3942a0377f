"""White-matter lesions: where they fall, their shape, their myelin loss, how it evolves.

Lesion centres are drawn in deep white matter, more often near the ventricles (MS
lesions are typically periventricular); each lesion is a randomly oriented ellipsoid
of 3-15 mm diameter whose border is made irregular by a smooth random field, and is
clipped to the white-matter label, so no lesional voxel lies outside white matter.
Myelin loss is high in the core and low at the rim; some lesions are largely
remyelinated ("shadow plaques").
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

#: A lesional voxel whose myelin loss exceeds this is "demyelinated" in the ground truth.
DEMYELINATED_LOSS = 0.5
#: Probability that a lesion is largely remyelinated (loss scaled down to 10-40 %).
SHADOW_PLAQUE_PROBABILITY = 0.2
#: Gadolinium-enhancing (active, oedematous) lesions per patient and visit: 0..this.
MAX_ACTIVE_LESIONS = 3


@dataclass
class LesionState:
    """The lesions of one patient at one visit, on the output grid."""

    mask: np.ndarray          # bool
    loss: np.ndarray          # float32 myelin-loss fraction, 0 outside lesions
    radius: np.ndarray        # float32 normalised distance from the lesion centre (0 core, 1 rim)
    lesion_id: np.ndarray     # int32 label, 0 outside lesions
    axonal_fraction: np.ndarray  # float32 axonal loss as a fraction of myelin loss

    @property
    def demyelinated(self) -> np.ndarray:
        return self.mask & (self.loss > DEMYELINATED_LOSS)

    @property
    def n_lesions(self) -> int:
        return int(np.unique(self.lesion_id[self.mask]).size)


def empty_state(shape) -> LesionState:
    zeros = np.zeros(shape, np.float32)
    return LesionState(mask=np.zeros(shape, bool), loss=zeros, radius=np.ones(shape, np.float32),
                       lesion_id=np.zeros(shape, np.int32), axonal_fraction=zeros.copy())


def _random_rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((3, 3)))
    return q * np.sign(np.diag(r))


def _core_to_rim_loss(rng: np.random.Generator, radius: np.ndarray) -> np.ndarray:
    """Myelin loss across one lesion: a demyelinated core fading to a preserved rim."""
    core = rng.uniform(0.3, 0.8)
    peak, rim = rng.uniform(0.65, 1.0), rng.uniform(0.0, 0.15)
    t = np.clip((radius - core) / (1.0 - core), 0.0, 1.0)
    loss = rim + (peak - rim) * (1.0 - t * t * (3.0 - 2.0 * t))  # smoothstep from core to rim
    if rng.random() < SHADOW_PLAQUE_PROBABILITY:
        loss *= rng.uniform(0.1, 0.4)
    loss += rng.normal(0.0, 0.04, size=loss.shape)
    return np.clip(loss, 0.0, 1.0).astype(np.float32)


def place_lesions(rng: np.random.Generator, anatomy, *, n_range=(5, 40),
                  diameter_mm=(3.0, 15.0)) -> LesionState:
    """Draw a patient's lesions (count uniform in ``n_range``, diameters log-uniform)."""
    state = empty_state(anatomy.shape)
    vox = anatomy.voxel_mm
    candidates = np.flatnonzero(anatomy.wm & (anatomy.f_wm > 0.7))
    if candidates.size == 0:
        candidates = np.flatnonzero(anatomy.wm)
    # Periventricular preference: weight decays over 10 mm from the ventricles.
    weights = np.exp(-anatomy.ventricle_distance_mm.ravel()[candidates] / 10.0) + 0.1
    n = int(rng.integers(n_range[0], n_range[1] + 1))
    centres = rng.choice(candidates, size=n, replace=False, p=weights / weights.sum())
    for lesion, flat in enumerate(centres, start=1):
        centre = np.array(np.unravel_index(flat, anatomy.shape))
        diameter = float(np.exp(rng.uniform(np.log(diameter_mm[0]), np.log(diameter_mm[1]))))
        axes_mm = np.clip(diameter / 2 * (1 + 0.25 * rng.standard_normal(3)), 1.0, diameter_mm[1] / 2)
        half = int(np.ceil(1.4 * axes_mm.max() / vox)) + 1
        lo = np.maximum(centre - half, 0)
        hi = np.minimum(centre + half + 1, anatomy.shape)
        box = tuple(slice(a, b) for a, b in zip(lo, hi))
        offsets_mm = np.stack(np.meshgrid(*[np.arange(a, b) - c for a, b, c in zip(lo, hi, centre)],
                                          indexing="ij"), axis=-1) * vox
        local = offsets_mm @ _random_rotation(rng)
        radius = np.sqrt(((local / axes_mm) ** 2).sum(-1)).astype(np.float32)
        bumps = ndimage.gaussian_filter(rng.standard_normal(radius.shape), max(2.0 / vox, 0.7))
        bumps /= bumps.std() + 1e-12
        radius *= 1.0 + 0.2 * bumps  # irregular border
        inside = (radius <= 1.0) & anatomy.wm[box]
        inside[tuple(centre - lo)] = True  # every lesion keeps at least its centre voxel
        radius = np.clip(radius, 0.0, 1.0)
        loss = _core_to_rim_loss(rng, radius)
        axonal = np.float32(rng.uniform(0.2, 0.5))
        # Overlaps: the more damaged lesion wins the voxel.
        take = inside & (~state.mask[box] | (loss > state.loss[box]))
        for field, values in ((state.loss, loss), (state.radius, radius)):
            field[box][take] = values[take]
        state.lesion_id[box][take] = lesion
        state.axonal_fraction[box][take] = axonal
        state.mask[box] |= inside
    return state


def activity(rng: np.random.Generator, state: LesionState, concentration_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """Pick 0..MAX_ACTIVE_LESIONS active lesions: oedema map (0/1) and gadolinium map (mM).

    Enhancement is nodular (whole lesion) or ring-shaped (outer part), as on real scans.
    """
    oedema = np.zeros(state.mask.shape, np.float32)
    gadolinium = np.zeros(state.mask.shape, np.float32)
    ids = np.unique(state.lesion_id[state.mask])
    n_active = min(int(rng.integers(0, MAX_ACTIVE_LESIONS + 1)), ids.size)
    for lesion in rng.choice(ids, size=n_active, replace=False):
        voxels = state.lesion_id == lesion
        oedema[voxels] = 1.0
        enhancing = voxels if rng.random() < 0.5 else voxels & (state.radius > 0.6)
        gadolinium[enhancing if enhancing.any() else voxels] = concentration_mm
    return oedema, gadolinium


def evolve(rng: np.random.Generator, state: LesionState, demyelination_rate: float,
           remyelination_rate: float) -> LesionState:
    """The follow-up state: some intact lesional voxels demyelinate, some demyelinated remyelinate.

    ``demyelination_rate`` is the fraction of non-demyelinated lesional voxels that become
    demyelinated (nearest the cores first), ``remyelination_rate`` the fraction of
    demyelinated voxels that recover (from the rims inwards), as in the indices of sec. 4.2.5.
    """
    loss = state.loss.copy()
    demyelinated = state.demyelinated
    jitter = rng.normal(0.0, 0.15, size=state.mask.shape).astype(np.float32)
    order_key = state.radius + jitter

    remyelinating = np.flatnonzero(demyelinated)
    n_remy = int(round(remyelination_rate * remyelinating.size))
    if n_remy:
        chosen = remyelinating[np.argsort(-order_key.ravel()[remyelinating])[:n_remy]]
        loss.ravel()[chosen] = rng.uniform(0.0, 0.25, n_remy)

    intact = np.flatnonzero(state.mask & ~demyelinated)
    n_demy = int(round(demyelination_rate * intact.size))
    if n_demy:
        chosen = intact[np.argsort(order_key.ravel()[intact])[:n_demy]]
        loss.ravel()[chosen] = rng.uniform(0.6, 0.95, n_demy)
    return LesionState(mask=state.mask, loss=loss, radius=state.radius, lesion_id=state.lesion_id,
                       axonal_fraction=state.axonal_fraction)
