"""SimpleITK <-> nibabel: one place that converts images, affines and transforms.

nibabel describes a grid by a 4x4 affine mapping voxel indices to RAS+ millimetres;
SimpleITK by spacing, an orthonormal direction matrix and an origin in LPS+ millimetres,
with arrays indexed (z, y, x). Everything in msgan that crosses between the two goes
through :func:`volume_to_itk` and :func:`itk_to_affine`, so the sign flip and the axis
order live in exactly one place (and one test).

SimpleITK is an optional dependency (the ``[preprocess]`` extra): :func:`sitk` imports it
on first use and turns its absence into a one-line :class:`ConfigError`.
"""
from __future__ import annotations

import functools
from pathlib import Path

import nibabel as nib
import numpy as np

from data_tools.errors import ConfigError, GeometryError
from data_tools.io.atomic import atomic_output_file
from data_tools.io.nifti import Volume

#: RAS+ <-> LPS+ (its own inverse).
RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0, 1.0])
#: Largest departure from orthonormal columns that ITK's direction matrix can absorb.
SHEAR_TOLERANCE = 1e-4


@functools.lru_cache(maxsize=None)
def sitk():
    """The SimpleITK module, or a :class:`ConfigError` saying how to install it."""
    try:
        import SimpleITK
    except ImportError:
        raise ConfigError("preprocessing needs SimpleITK: pip install 'msgan[preprocess]'") from None
    return SimpleITK


def affine_to_itk_geometry(affine: np.ndarray, where=None) -> tuple[tuple, tuple, tuple]:
    """A nibabel (RAS) affine -> ITK ``(spacing, direction, origin)`` in LPS.

    ITK cannot represent sheared grids; such an affine is a :class:`GeometryError`.
    """
    lps = RAS_TO_LPS @ np.asarray(affine, dtype=np.float64)
    linear = lps[:3, :3]
    spacing = np.linalg.norm(linear, axis=0)
    if np.any(spacing <= 0):
        raise GeometryError("affine has a zero-length voxel axis", where)
    direction = linear / spacing
    if np.abs(direction.T @ direction - np.eye(3)).max() > SHEAR_TOLERANCE:
        raise GeometryError("affine is sheared; ITK needs an orthogonal voxel grid", where)
    return tuple(spacing.tolist()), tuple(direction.ravel().tolist()), tuple(lps[:3, 3].tolist())


def itk_to_affine(image) -> np.ndarray:
    """The nibabel (RAS) affine of a SimpleITK image."""
    spacing = np.asarray(image.GetSpacing(), dtype=np.float64)
    direction = np.asarray(image.GetDirection(), dtype=np.float64).reshape(3, 3)
    lps = np.eye(4)
    lps[:3, :3] = direction * spacing
    lps[:3, 3] = image.GetOrigin()
    return RAS_TO_LPS @ lps


def array_to_itk(data: np.ndarray, affine: np.ndarray, where=None):
    """A nibabel-ordered ``(i, j, k)`` array on ``affine`` -> a SimpleITK image."""
    spacing, direction, origin = affine_to_itk_geometry(affine, where)
    image = sitk().GetImageFromArray(np.ascontiguousarray(np.asarray(data).transpose(2, 1, 0)))
    image.SetSpacing(spacing)
    image.SetDirection(direction)
    image.SetOrigin(origin)
    return image


def volume_to_itk(volume: Volume, pixel_type=None):
    """A loaded :class:`Volume` -> SimpleITK image (float32 images, uint8 masks)."""
    data = volume.data.astype(np.uint8) if volume.data.dtype == bool else volume.data.astype(np.float32)
    image = array_to_itk(data, volume.affine, volume.path)
    return image if pixel_type is None else sitk().Cast(image, pixel_type)


def itk_to_array(image) -> np.ndarray:
    """A SimpleITK image -> nibabel-ordered ``(i, j, k)`` array."""
    return sitk().GetArrayFromImage(image).transpose(2, 1, 0)


def save_itk_as_nifti(image, path: str | Path, *, codes: tuple[int, int] = (1, 1), dtype=np.float32,
                      overwrite: bool = False) -> Path:
    """Write a SimpleITK image with nibabel: the same affine in sform and qform, mm units.

    ``codes`` are the (sform, qform) codes, normally the reference scan's, so a scan in
    MNI or aligned space keeps saying so.
    """
    affine = itk_to_affine(image)
    img = nib.Nifti1Image(itk_to_array(image).astype(dtype), affine)
    img.set_sform(affine, int(codes[0]) or 1)
    img.set_qform(affine, int(codes[1]) or 1)
    img.header.set_xyzt_units("mm")
    with atomic_output_file(path, overwrite=overwrite) as tmp:
        nib.save(img, str(tmp))
    return Path(path)


def nifti_codes(volume: Volume) -> tuple[int, int]:
    """(sform code, qform code) of a loaded volume."""
    return int(volume.header["sform_code"]), int(volume.header["qform_code"])


# --- transforms ------------------------------------------------------------------------
def transform_to_matrix(transform) -> np.ndarray:
    """A linear ITK transform (Euler3D, Affine, ...) -> 4x4 LPS matrix of ``x -> A x + b``."""
    tx = sitk()
    if type(transform) is tx.Transform:  # a generic handle: get the concrete class
        transform = transform.Downcast()
    if isinstance(transform, tx.CompositeTransform):
        matrix = np.eye(4)
        # ITK applies the last added transform first.
        for k in range(transform.GetNumberOfTransforms()):
            matrix = matrix @ transform_to_matrix(transform.GetNthTransform(k))
        return matrix
    if isinstance(transform, tx.TranslationTransform):
        matrix = np.eye(4)
        matrix[:3, 3] = transform.GetOffset()
        return matrix
    if not hasattr(transform, "GetMatrix"):
        raise TypeError(f"not a linear transform: {transform.GetName()}")
    linear, translation, center = transform.GetMatrix(), transform.GetTranslation(), transform.GetCenter()
    a = np.asarray(linear, dtype=np.float64).reshape(3, 3)
    c = np.asarray(center, dtype=np.float64)
    matrix = np.eye(4)
    matrix[:3, :3] = a
    matrix[:3, 3] = np.asarray(translation, dtype=np.float64) + c - a @ c
    return matrix


def identity_transform():
    """The identity as an AffineTransform (writable to .tfm, composable)."""
    return sitk().AffineTransform(3)


def matrix_to_transform(matrix: np.ndarray):
    """A 4x4 LPS matrix -> a SimpleITK AffineTransform (centre at the origin)."""
    affine = sitk().AffineTransform(3)
    affine.SetMatrix(tuple(np.asarray(matrix[:3, :3], dtype=np.float64).ravel().tolist()))
    affine.SetTranslation(tuple(np.asarray(matrix[:3, 3], dtype=np.float64).tolist()))
    return affine


def compose(*transforms):
    """One AffineTransform applying ``transforms[-1]`` first and ``transforms[0]`` last.

    ITK transforms map points of the fixed (output) space to the moving (input) space, so
    resampling sequence S onto the baseline grid uses ``compose(seq_to_ref, ref_to_baseline)``.
    """
    matrix = np.eye(4)
    for transform in transforms:
        matrix = matrix @ transform_to_matrix(transform)
    return matrix_to_transform(matrix)
