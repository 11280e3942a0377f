"""The spaces models are trained in (a model card's ``space``): a template to register onto
and the voxel grid the model's inputs lie on.

``mni152``: nilearn's packaged MNI152 T1 at 1 mm, brain-extracted by its own mask (no
download), as the registration target; the grid is FSL's 1 mm MNI152 grid (182 x 218 x 182,
LAS), the one the shared real patients were registered to by the dataset's authors and the
shipped FLAIR models were trained on (their fingerprint refuses any other).
"""
from __future__ import annotations

import functools

import numpy as np

from data_tools.contracts import OUTPUT_SPACES, look_up_option

#: space name (``SPACE_NAMES``) -> (grid shape, nibabel affine of the grid)
SPACES = {
    "mni152": ((182, 218, 182), np.array([[-1.0, 0, 0, 90], [0, 1, 0, -126], [0, 0, 1, -72], [0, 0, 0, 1]])),
}
__all__ = ["OUTPUT_SPACES", "SPACES", "space_grid", "space_template"]


def space_grid(name: str):
    """The space's voxel grid as an empty SimpleITK image."""
    from data_tools.preprocessing.itk_bridge import array_to_itk

    shape, affine = look_up_option(name, SPACES, "model space")
    return array_to_itk(np.zeros(shape, np.uint8), affine, f"space {name}")


@functools.lru_cache(maxsize=4)
def space_template(name: str, resolution_mm: int = 1):
    """The brain-extracted template T1 of the space (float32 SimpleITK image) at 1 or 2 mm, read once."""
    from nilearn import datasets

    from data_tools.preprocessing.itk_bridge import array_to_itk

    look_up_option(name, SPACES, "model space")
    t1 = datasets.load_mni152_template(resolution=resolution_mm)
    brain = np.asarray(datasets.load_mni152_brain_mask(resolution=resolution_mm).get_fdata()) > 0
    array = np.where(brain, np.asarray(t1.get_fdata(), np.float32), 0).astype(np.float32)
    return array_to_itk(array, t1.affine, "nilearn MNI152 T1")
