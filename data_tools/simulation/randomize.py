"""Domain randomisation of the simulated inputs, so that a network learns anatomy, not one scanner.

As SynthSeg and SynthSR do (Billot et al., 2023; Iglesias et al., 2023), every session's
input images get their own draw of the things that differ between scanners and protocols:

- tissue intensities per sequence, drawn per tissue class (CSF, GM, normal WM, lesion):
  each class's mean is its physical signal (:mod:`.mri`) times a log-uniform factor in
  ``[1/contrast_spread, contrast_spread]``, so contrasts vary and can invert, and its
  within-class SD (a smooth texture of 2 mm correlation) a uniform fraction of that mean:
  a Gaussian mixture per class, centred on physics rather than on a uniform 25-225 as in
  SynthSeg, because the inputs of msgan's tasks are named sequences;
- a smooth multiplicative bias field, exp(SD x field) of 60 mm correlation, SD uniform;
- a slice thickness uniform in ``thickness_mm`` along a random axis: a Gaussian slice
  profile of FWHM = thickness along that axis only, sampling at the thickness, Rician noise
  of uniform SD added on that acquisition grid, linear resampling back to the grid.

The target (FLAIR) is not randomised: :func:`~data_tools.simulation.cohort.simulate_session`
draws it from its own random stream with the thesis's physics, so it is the same image
with and without randomisation. Lesion load and position are the lesion model's draws.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import ndimage

from data_tools.errors import ConfigError
from data_tools.simulation import mri
from data_tools.simulation.fields import linear_upsampling_matrix, smooth_random_field

#: the tissue classes whose mean and SD are drawn (lesion: the WM fraction of lesional voxels)
CLASSES = ("csf", "gm", "wm", "lesion")
#: the target of msgan's FLAIR tasks: never randomised
TARGET = "FLAIR"
TEXTURE_CORRELATION_MM = 2.0
BIAS_CORRELATION_MM = 60.0
FWHM_TO_SD = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))


@dataclass(frozen=True)
class RandomizeOptions:
    """Ranges of the per-session draws (each a ``(low, high)`` of a uniform draw)."""

    sequences: tuple[str, ...] = tuple(n for n in mri.MRI_NAMES if n != TARGET)
    contrast_spread: float = 1.5                   # class mean = physical x log-U(1/s, s)
    texture_sd: tuple[float, float] = (0.0, 0.1)   # within-class SD, fraction of the class mean
    bias: tuple[float, float] = (0.0, 0.3)         # SD of the log bias field
    thickness_mm: tuple[float, float] = (1.0, 6.0)
    noise: tuple[float, float] = (0.0, 0.05)       # Rician SD, fraction of SIGNAL_SCALE

    def validate(self) -> None:
        bad = [n for n in self.sequences if n not in mri.MRI_NAMES or n == TARGET]
        if bad or not self.sequences:
            raise ConfigError(f"randomised sequences must be among {', '.join(n for n in mri.MRI_NAMES if n != TARGET)}"
                              f" (the target {TARGET} stays physical), got {', '.join(self.sequences) or 'none'}")
        if not self.contrast_spread >= 1.0:
            raise ConfigError(f"contrast spread must be at least 1, got {self.contrast_spread:g}")
        for name in ("texture_sd", "bias", "thickness_mm", "noise"):
            low, high = getattr(self, name)
            if not 0.0 <= low <= high:
                raise ConfigError(f"randomisation range {name} must satisfy 0 <= low <= high, got {low:g}-{high:g}")
        if self.thickness_mm[1] <= 0.0:
            raise ConfigError("slice thickness range must reach above 0 mm")


@dataclass(frozen=True)
class SequenceDraw:
    """One sequence's draws in one session (written to ``simulation.json``)."""

    gains: dict                 # class -> factor on its physical mean
    texture_sd: float
    bias_sd: float
    thickness_mm: float
    axis: int
    noise: float

    def to_dict(self) -> dict:
        return {k: (round(v, 5) if isinstance(v, float) else
                    {c: round(g, 5) for c, g in v.items()} if isinstance(v, dict) else v)
                for k, v in asdict(self).items()}


def draw_sequence(rng: np.random.Generator, options: RandomizeOptions) -> SequenceDraw:
    """The random intensities, bias, slice thickness and noise of one sequence."""
    log_spread = np.log(options.contrast_spread)
    gains = {c: float(np.exp(rng.uniform(-log_spread, log_spread))) for c in CLASSES}
    return SequenceDraw(gains=gains, texture_sd=float(rng.uniform(*options.texture_sd)),
                        bias_sd=float(rng.uniform(*options.bias)),
                        thickness_mm=float(rng.uniform(*options.thickness_mm)),
                        axis=int(rng.integers(0, 3)), noise=float(rng.uniform(*options.noise)))


def class_mixture(name: str, draw: SequenceDraw, anatomy, lesions, oedema, gadolinium_mm) -> np.ndarray:
    """Partial-volume mixture of the drawn class means (physical signal x gain), SIGNAL_SCALE units."""
    s_csf, s_gm, s_wm, wm_signal, scale = mri.class_signals(name, anatomy, lesions.loss, lesions.mask,
                                                            oedema, gadolinium_mm)
    g = draw.gains
    wm_term = np.where(lesions.mask, wm_signal * g["lesion"], s_wm * g["wm"])
    image = anatomy.f_csf * (s_csf * g["csf"]) + anatomy.f_gm * (s_gm * g["gm"]) + anatomy.f_wm * wm_term
    return (image * scale).astype(np.float32)


def _along(matrix: np.ndarray, volume: np.ndarray, axis: int) -> np.ndarray:
    """``matrix`` (m, n) applied to the length-n ``axis`` of ``volume``."""
    moved = np.tensordot(matrix, np.moveaxis(volume, axis, 0), axes=(1, 0))
    return np.ascontiguousarray(np.moveaxis(moved, 0, axis), dtype=np.float32)


def thick_slices(volume: np.ndarray, voxel_mm: float, thickness_mm: float, axis: int,
                 noise=None) -> np.ndarray:
    """``volume`` as acquired in slices ``thickness_mm`` thick along ``axis``, back on its grid.

    The slice profile is a Gaussian of FWHM ``thickness_mm`` (the part the grid's own voxels
    do not already hold: sqrt(thickness^2 - voxel^2)); slices are sampled every
    ``thickness_mm``, ``noise(acquired)`` (if given) is applied there, and linear
    interpolation brings them back. Thinner than a voxel: only the noise.
    """
    noise = noise or (lambda acquired: acquired)
    n = volume.shape[axis]
    step = thickness_mm / voxel_mm
    if step <= 1.0 or n < 2:
        return noise(volume.astype(np.float32))
    sigma = np.sqrt(thickness_mm ** 2 - voxel_mm ** 2) * FWHM_TO_SD / voxel_mm
    blurred = ndimage.gaussian_filter1d(volume.astype(np.float32), sigma, axis=axis, mode="nearest")
    n_slices = max(2, int(np.ceil((n - 1) / step)) + 1)
    acquired = _along(linear_upsampling_matrix(n_slices, n, 1.0 / step), blurred, axis)
    return _along(linear_upsampling_matrix(n, n_slices, step), noise(acquired), axis)


def randomized_image(rng: np.random.Generator, name: str, draw: SequenceDraw, anatomy, lesions,
                     oedema, gadolinium_mm) -> np.ndarray:
    """One input image: drawn class means and texture, bias, slice thickness, noise; brain-extracted."""
    image = class_mixture(name, draw, anatomy, lesions, oedema, gadolinium_mm)
    voxel = anatomy.voxel_mm
    if draw.texture_sd > 0:
        image *= 1.0 + draw.texture_sd * smooth_random_field(rng, anatomy.shape, voxel, TEXTURE_CORRELATION_MM)[0]
    if draw.bias_sd > 0:
        image *= np.exp(draw.bias_sd * smooth_random_field(rng, anatomy.shape, voxel, BIAS_CORRELATION_MM)[0])
    sigma = draw.noise * mri.SIGNAL_SCALE

    def rician(acquired):
        return mri.add_rician_noise(rng, acquired, sigma) if sigma > 0 else acquired

    image = thick_slices(np.where(anatomy.brain, image, 0.0), voxel, draw.thickness_mm, draw.axis, rician)
    return np.where(anatomy.brain, np.maximum(image, 0.0), 0.0).astype(np.float32)


def randomize_inputs(rng: np.random.Generator, anatomy, lesions, oedema, gadolinium_mm,
                     options: RandomizeOptions) -> tuple[dict[str, np.ndarray], dict[str, dict]]:
    """The randomised input images of one session and the draws that made them, by sequence.

    Gadolinium shortens lesion T1 in T1POST only, as in the physical simulation.
    """
    images, draws = {}, {}
    for name in options.sequences:
        draw = draw_sequence(rng, options)
        images[name] = randomized_image(rng, name, draw, anatomy, lesions, oedema,
                                        gadolinium_mm if name == "T1POST" else None)
        draws[name] = draw.to_dict()
    return images, draws
