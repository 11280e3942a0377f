"""Per-subject anatomy: the MNI152 2009 tissue maps nilearn ships, randomly warped.

The templates (T1-derived brain mask, grey- and white-matter probability maps) come
from nilearn's package data, so no download is needed. Each subject gets a global
scaling about the brain centre and a smooth random displacement field, so no two
subjects share the same anatomy on the voxel grid. CSF is what the brain mask holds
beyond grey and white matter; the ventricles are the CSF deep inside the brain.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from data_tools.errors import ConfigError
from data_tools.simulation.fields import smooth_random_field

#: Margin (mm) kept around the template's brain when cropping the output grid.
CROP_MARGIN_MM = 6.0
#: CSF farther than this from the brain's outer surface is ventricular (mm).
VENTRICLE_DEPTH_MM = 15.0


@dataclass
class Templates:
    """Tissue probability maps on a template grid (voxel size ``voxel_mm``)."""

    brain: np.ndarray
    gm: np.ndarray
    wm: np.ndarray
    affine: np.ndarray

    @property
    def voxel_mm(self) -> float:
        return float(self.affine[0, 0])


@dataclass
class Anatomy:
    """One subject's tissue fractions and labels on the output grid."""

    f_gm: np.ndarray
    f_wm: np.ndarray
    f_csf: np.ndarray
    brain: np.ndarray
    gm: np.ndarray
    wm: np.ndarray
    csf: np.ndarray
    ventricle_distance_mm: np.ndarray  # distance to the nearest ventricular CSF voxel
    affine: np.ndarray

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.brain.shape

    @property
    def voxel_mm(self) -> float:
        return float(self.affine[0, 0])


@functools.lru_cache(maxsize=2)
def load_templates(template_resolution: int) -> Templates:
    """MNI152 2009 brain mask, GM and WM maps from nilearn's package data (1 or 2 mm)."""
    from nilearn import datasets

    def arr(img):
        return np.asarray(img.get_fdata(), dtype=np.float32)

    brain_img = datasets.load_mni152_brain_mask(resolution=template_resolution)
    gm = arr(datasets.load_mni152_gm_template(resolution=template_resolution))
    wm = arr(datasets.load_mni152_wm_template(resolution=template_resolution))
    total = gm + wm
    over = total > 1.0
    gm[over] /= total[over]  # probabilities of exclusive classes cannot add above 1
    wm[over] /= total[over]
    return Templates(brain=arr(brain_img), gm=gm, wm=wm, affine=brain_img.affine.copy())


def check_resolution(resolution: float) -> float:
    """The voxel size in mm, if the simulation supports it (0.5-8 mm)."""
    if not 0.5 <= resolution <= 8.0:
        raise ConfigError(f"resolution must be between 0.5 and 8 mm, got {resolution:g}")
    return float(resolution)


def output_grid(resolution: float) -> tuple[tuple[int, int, int], np.ndarray]:
    """Shape and affine of the simulated volumes: MNI space cropped to the brain, ``resolution`` mm."""
    resolution = check_resolution(resolution)
    tpl = load_templates(1 if resolution < 2 else 2)
    idx = np.argwhere(tpl.brain > 0.5)
    lo_mm = tpl.affine[:3, :3] @ idx.min(0) + tpl.affine[:3, 3] - CROP_MARGIN_MM
    hi_mm = tpl.affine[:3, :3] @ idx.max(0) + tpl.affine[:3, 3] + CROP_MARGIN_MM
    shape = tuple(int(np.ceil((hi - lo) / resolution)) + 1 for lo, hi in zip(lo_mm, hi_mm))
    affine = np.diag([resolution, resolution, resolution, 1.0])
    affine[:3, 3] = lo_mm
    return shape, affine


def _template_for(resolution: float) -> Templates:
    """The template whose voxels are no larger than ``resolution``, pre-smoothed when coarser.

    Sampling a 1 mm map at 4 mm without smoothing would alias; a Gaussian with the SD that
    turns the template voxel into the output voxel keeps the tissue fractions honest.
    """
    tpl = load_templates(1 if resolution < 2 else 2)
    ratio = resolution / tpl.voxel_mm
    if ratio <= 1.0:
        return tpl
    sigma = np.sqrt(ratio ** 2 - 1.0) / 2.355
    smooth = functools.partial(ndimage.gaussian_filter, sigma=sigma, mode="constant")
    return Templates(brain=smooth(tpl.brain), gm=smooth(tpl.gm), wm=smooth(tpl.wm), affine=tpl.affine)


def _ventricle_distance(brain: np.ndarray, csf: np.ndarray, resolution: float) -> np.ndarray:
    """Distance (mm) to the ventricles: CSF deeper than VENTRICLE_DEPTH_MM below the brain surface.

    Only lesion placement uses it, so below 2 mm it is computed on a grid subsampled to
    about 2 mm and repeated back: two exact distance transforms at 1 mm cost seconds.
    """
    step = max(1, int(2.0 // resolution))
    sub = (slice(None, None, step),) * 3
    brain_s, csf_s, res_s = brain[sub], csf[sub], resolution * step
    depth_mm = ndimage.distance_transform_edt(brain_s, sampling=res_s)
    ventricles = csf_s & (depth_mm > VENTRICLE_DEPTH_MM)
    if ventricles.any():
        distance = ndimage.distance_transform_edt(~ventricles, sampling=res_s)
    else:  # only at very coarse resolutions; fall back to depth below the surface
        distance = depth_mm.max() - depth_mm
    for axis in range(3):
        distance = np.repeat(distance, step, axis=axis)
    return np.ascontiguousarray(distance[tuple(slice(0, n) for n in brain.shape)], dtype=np.float32)


def simulate_anatomy(rng: np.random.Generator, resolution: float, *, deformation_mm: float = 3.0,
                     scale_sd: float = 0.04) -> Anatomy:
    """Warp the templates onto the output grid with a random scaling and smooth displacement.

    ``deformation_mm`` is the SD of each displacement component (smoothing SD 12 mm);
    ``scale_sd`` the SD of the global scale factor (about the brain's centre).
    """
    shape, affine = output_grid(resolution)
    tpl = _template_for(resolution)
    scale = float(np.clip(1.0 + scale_sd * rng.standard_normal(), 0.85, 1.15))
    displacement = deformation_mm * smooth_random_field(rng, shape, resolution, 12.0, n_fields=3)

    centre_mm = affine[:3, :3] @ ((np.array(shape) - 1) / 2.0) + affine[:3, 3]
    coords = np.empty((3, *shape), dtype=np.float32)
    for axis in range(3):
        out_mm = affine[axis, 3] + resolution * np.arange(shape[axis], dtype=np.float32)
        view = [1, 1, 1]
        view[axis] = shape[axis]
        source_mm = centre_mm[axis] + (out_mm - centre_mm[axis]) / scale
        source_mm = source_mm.reshape(view) + displacement[axis]
        coords[axis] = (source_mm - tpl.affine[axis, 3]) / tpl.voxel_mm
    del displacement

    def warp(volume):
        return ndimage.map_coordinates(volume, coords, order=1, mode="constant", cval=0.0,
                                       output=np.float32)

    brain = warp(tpl.brain) > 0.5
    f_gm = np.where(brain, warp(tpl.gm), 0.0).astype(np.float32)
    f_wm = np.where(brain, warp(tpl.wm), 0.0).astype(np.float32)
    del coords
    np.clip(f_gm, 0.0, 1.0, out=f_gm)
    np.clip(f_wm, 0.0, 1.0, out=f_wm)
    f_csf = np.where(brain, np.clip(1.0 - f_gm - f_wm, 0.0, 1.0), 0.0).astype(np.float32)

    # Hard labels: the most probable class inside the brain (a partition of the brain).
    label = np.argmax(np.stack([f_csf, f_gm, f_wm]), axis=0)
    csf, gm, wm = (brain & (label == k) for k in range(3))

    ventricle_distance = _ventricle_distance(brain, csf, resolution)
    return Anatomy(f_gm=f_gm, f_wm=f_wm, f_csf=f_csf, brain=brain, gm=gm, wm=wm, csf=csf,
                   ventricle_distance_mm=ventricle_distance, affine=affine)
