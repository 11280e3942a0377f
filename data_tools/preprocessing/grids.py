"""Output voxel grids for preprocessing: resampling to a voxel size and cropping around the brain.

A grid is a SimpleITK image used only for its size, spacing, origin and direction.
Everything is resampled once, from its native file onto the final grid, so interpolation
happens a single time whatever the chain of transforms.
"""
from __future__ import annotations

import numpy as np

from data_tools.errors import ConfigError, ImageContentError
from data_tools.preprocessing.itk_bridge import sitk


def make_grid(size, spacing, origin, direction):
    """An empty uint8 image with the given geometry."""
    grid = sitk().Image([int(s) for s in size], sitk().sitkUInt8)
    grid.SetSpacing([float(s) for s in spacing])
    grid.SetOrigin([float(o) for o in origin])
    grid.SetDirection([float(d) for d in direction])
    return grid


def resampled_grid(grid, voxel_size_mm: float):
    """The same field of view as ``grid`` with isotropic voxels of ``voxel_size_mm``.

    The outer voxel edges stay where they were (up to rounding of the voxel count).
    """
    if not voxel_size_mm or voxel_size_mm <= 0:
        raise ConfigError(f"voxel size must be positive, got {voxel_size_mm}")
    spacing = np.asarray(grid.GetSpacing())
    size = np.asarray(grid.GetSize())
    new_size = np.maximum(1, np.round(size * spacing / voxel_size_mm)).astype(int)
    direction = np.asarray(grid.GetDirection()).reshape(3, 3)
    # Voxel centres sit half a voxel inside the edge: move the origin by the difference.
    origin = np.asarray(grid.GetOrigin()) + direction @ ((voxel_size_mm - spacing) / 2)
    return make_grid(new_size, [voxel_size_mm] * 3, origin, grid.GetDirection())


def crop_grid(grid, mask, size, where=None):
    """A ``size`` (D, H, W) sub-grid of ``grid`` centred on the bounding box of ``mask``.

    ``mask`` is a 0/1 SimpleITK image on ``grid``. The crop may reach outside ``grid``
    (a brain larger than the crop is cut, a smaller image is padded with zeros on resampling).
    """
    array = sitk().GetArrayViewFromImage(mask)  # (z, y, x)
    if not array.any():
        raise ImageContentError("cannot crop around the brain: the brain mask is empty", where)
    nz = np.nonzero(array)
    lo = np.array([a.min() for a in nz][::-1])  # back to (x, y, z) = (i, j, k)
    hi = np.array([a.max() for a in nz][::-1])
    centre = (lo + hi) / 2.0
    start = np.floor(centre - (np.asarray(size) - 1) / 2.0).astype(int)
    origin = grid.TransformContinuousIndexToPhysicalPoint([float(s) for s in start])
    return make_grid(size, grid.GetSpacing(), origin, grid.GetDirection())
