"""What ``msgan synthesize`` writes: the synthetic image, its QC figure, the intermediates.

Each file or folder is written all or nothing (:mod:`data_tools.io.atomic`).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from data_tools.io.atomic import atomic_output_dir
from data_tools.io.nifti import save_like, save_new


def write_synthesis(result, out: str | Path, space: str, overwrite: bool = False) -> Path:
    """The synthetic image: with the reference input's affine and header (``native``), or on
    the model's grid (``model``)."""
    if space == "native":
        return save_like(result.image, result.session.reference, out, overwrite=overwrite)
    return save_new(result.image, result.affine, out, overwrite=overwrite)


def write_qc(result, path: str | Path, target: str, space: str, overwrite: bool = False) -> Path:
    """Inputs, brain outline and output on three views at true aspect, on the output's grid."""
    from data_tools.preprocessing.itk_bridge import itk_to_array, volume_to_itk
    from data_tools.preprocessing.qc import draw_rows, save_figure
    from data_tools.preprocessing.registration import resample

    session = result.session
    if space == "model":
        rows, brain = dict(session.images), session.brain
        spacing = np.linalg.norm(session.grid_affine[:3, :3], axis=0)
    else:
        grid = volume_to_itk(session.reference)
        rows = {}
        for name, image in session.native.items():
            key = f"{name}_to_{session.reference_name}"
            rows[name] = itk_to_array(resample(image, grid, session.transforms.get(key)))
        brain, spacing = session.native_brain, session.reference.zooms
    rows[f"{target} (synthetic)"] = result.image
    title = f"{session.reference.path.name}: brain by {session.brain_extractor}"
    return save_figure(draw_rows(title, rows, brain, spacing), path, overwrite)


def write_intermediate(result, folder: str | Path, space: str, overwrite: bool = False) -> Path:
    """Transforms (ITK .tfm), the brain masks, and the inputs and prediction on the model grid."""
    from data_tools.preprocessing.itk_bridge import sitk

    session = result.session
    with atomic_output_dir(folder, overwrite=overwrite) as tmp:
        for name, transform in session.transforms.items():
            sitk().WriteTransform(transform, str(tmp / f"{name}.tfm"))
        save_like(session.native_brain, session.reference, tmp / "brainmask_native.nii.gz", dtype=np.uint8)
        save_new(session.brain, session.grid_affine, tmp / f"brainmask_{space}.nii.gz", dtype=np.uint8)
        for name, image in session.images.items():
            save_new(image, session.grid_affine, tmp / f"{name}_{space}.nii.gz")
        save_new(result.model_prediction, session.grid_affine, tmp / f"prediction_{space}.nii.gz")
    return Path(folder)
