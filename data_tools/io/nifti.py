"""Load and save NIfTI volumes with nibabel, validating them and keeping their geometry.

Every image enters msgan through :func:`load_volume`, which turns each way a file can be
bad into one :class:`~data_tools.errors.MsganError` naming the file. Images written back
with :func:`save_like` keep the reference's affine, sform/qform codes and zooms.
"""
from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import nibabel as nib
import numpy as np

from data_tools.errors import GeometryError, ImageContentError, InputFileError
from data_tools.io.atomic import atomic_output_file

AFFINE_TOLERANCE = 1e-3


@dataclass
class Volume:
    """A 3-D image: voxels (float32 unless a mask), its affine, header and source file."""

    data: np.ndarray
    affine: np.ndarray
    header: nib.Nifti1Header
    path: Path

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.data.shape)

    @property
    def zooms(self) -> tuple[float, float, float]:
        return tuple(float(z) for z in self.header.get_zooms()[:3])


def load_volume(path: str | Path, *, mask: bool = False, allow_nonfinite: bool = False) -> Volume:
    """Read a 3-D NIfTI file; raise a one-line error naming ``path`` if it is unusable.

    ``mask=True`` additionally requires the values to be 0/1 and returns a bool array.
    A trailing singleton 4th dimension (common after some converters) is squeezed.
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError("file not found", path)
    if path.is_dir():
        raise InputFileError("is a folder, expected a NIfTI file", path)
    try:
        img = _read_gzip_checked(path) if path.name.endswith(".gz") else nib.load(str(path))
        if not isinstance(img, (nib.Nifti1Image, nib.Nifti2Image)):
            raise InputFileError(f"not a NIfTI image ({type(img).__name__})", path)
        data = np.asanyarray(img.dataobj)
    except InputFileError:
        raise
    except (gzip.BadGzipFile, zlib.error, EOFError) as exc:
        raise InputFileError(f"corrupt or truncated gzip data ({exc})", path) from None
    except (nib.filebasedimages.ImageFileError, nib.spatialimages.HeaderDataError):
        raise InputFileError("not a NIfTI image (nibabel cannot read it)", path) from None
    except (OSError, ValueError) as exc:
        raise InputFileError(f"cannot read image: {exc}", path) from None
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise ImageContentError(f"expected a 3-D image, got {data.ndim}-D shape {data.shape}", path)
    if mask:
        values = np.unique(data)
        if not np.isin(values, [0, 1]).all():
            shown = ", ".join(f"{v:g}" for v in values[~np.isin(values, [0, 1])][:5])
            raise ImageContentError(f"mask must contain only 0 and 1, found {shown}", path)
        data = data.astype(bool)
    else:
        data = data.astype(np.float32, copy=False)
        if not allow_nonfinite:
            bad = ~np.isfinite(data)
            if bad.any():
                raise ImageContentError(f"{int(bad.sum())} NaN or Inf voxels", path)
    return Volume(data=data, affine=img.affine.copy(), header=img.header.copy(), path=path)


def _read_gzip_checked(path: Path):
    """A ``.nii.gz`` decompressed whole, its gzip CRC-32 and length verified, as a NIfTI image.

    nibabel reads a gzip stream only as far as the voxels go, so the trailer's CRC and
    length are never checked and flipped bytes inside the stream are read as data.
    Decompressing once here (the trailer checked by ``gzip.decompress``) and handing the
    bytes to nibabel costs no second pass.
    """
    raw = gzip.decompress(path.read_bytes())  # BadGzipFile on a CRC or length mismatch
    sizeof_hdr = {int.from_bytes(raw[:4], order) for order in ("little", "big")}
    klass = nib.Nifti2Image if 540 in sizeof_hdr else nib.Nifti1Image
    if not sizeof_hdr & {348, 540}:
        raise nib.filebasedimages.ImageFileError("no NIfTI header")
    return klass.from_bytes(raw)


def check_same_grid(volumes: Sequence[Volume], tolerance: float = AFFINE_TOLERANCE) -> None:
    """Raise :class:`GeometryError` naming the first file whose shape or affine differs."""
    if not volumes:
        return
    ref = volumes[0]
    for vol in volumes[1:]:
        if vol.shape != ref.shape:
            raise GeometryError(f"shape {vol.shape} differs from {ref.path.name} {ref.shape}", vol.path)
        diff = float(np.abs(vol.affine - ref.affine).max())
        if diff > tolerance:
            raise GeometryError(
                f"affine differs from {ref.path.name} by up to {diff:.4g} (tolerance {tolerance:g})", vol.path)


def save_like(data: np.ndarray, reference: Volume, path: str | Path, *, overwrite: bool = False,
              dtype=np.float32) -> Path:
    """Write ``data`` with ``reference``'s affine, sform/qform codes and zooms, atomically."""
    data = np.asarray(data)
    if data.shape != reference.shape:
        raise GeometryError(f"cannot save shape {data.shape} on the grid of {reference.path.name} "
                            f"{reference.shape}", path)
    header = reference.header.copy()
    header.set_data_dtype(dtype)
    img = nib.Nifti1Image(data.astype(dtype), reference.affine, header)
    # Nifti1Image(affine, header) may reset the codes; restore the source's exactly.
    sform, scode = reference.header.get_sform(coded=True)
    qform, qcode = reference.header.get_qform(coded=True)
    img.set_sform(reference.affine if sform is None else sform, int(scode))
    img.set_qform(reference.affine if qform is None else qform, int(qcode))
    img.header["scl_slope"] = np.nan  # data are written unscaled
    img.header["scl_inter"] = np.nan
    with atomic_output_file(path, overwrite=overwrite) as tmp:
        nib.save(img, str(tmp))
    return Path(path)


def save_new(data: np.ndarray, affine: np.ndarray, path: str | Path, *, overwrite: bool = False,
             dtype=np.float32) -> Path:
    """Write a volume that has no source image (simulations), sform and qform set to scanner."""
    img = nib.Nifti1Image(np.asarray(data).astype(dtype), affine)
    img.set_sform(affine, 1)
    img.set_qform(affine, 1)
    img.header.set_xyzt_units("mm")
    with atomic_output_file(path, overwrite=overwrite) as tmp:
        nib.save(img, str(tmp))
    return Path(path)
