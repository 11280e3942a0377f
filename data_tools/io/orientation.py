"""Bring a volume to another axis orientation (e.g. a model's ``LAS``) and back.

A scan stored ``RAS`` with a correct affine is the same image as its ``LAS`` copy; only
the order of its voxels differs. A network, though, learned one voxel order. msgan turns
the arrays to the orientation the model was trained in before predicting (nibabel's
``io_orientation``/``ornt_transform``/``apply_orientation``: flips and axis swaps, no
interpolation) and turns the prediction back, so it is written on the input's own grid
and affine.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from nibabel import orientations as ornt


@dataclass(frozen=True)
class Reorientation:
    """The flips/permutation from a volume's orientation to ``codes`` and back."""

    forward: np.ndarray  # nibabel orientation transform, input -> codes
    backward: np.ndarray  # codes -> input
    shape: tuple[int, int, int]  # the input's spatial shape

    @property
    def is_identity(self) -> bool:
        return bool(np.array_equal(self.forward[:, 0], np.arange(3)) and np.all(self.forward[:, 1] == 1))

    def apply(self, array: np.ndarray) -> np.ndarray:
        """The array (spatial axes first; channels after) in the target orientation."""
        return np.ascontiguousarray(ornt.apply_orientation(array, self.forward))

    def undo(self, array: np.ndarray) -> np.ndarray:
        """An array in the target orientation back in the input's voxel order."""
        return np.ascontiguousarray(ornt.apply_orientation(array, self.backward))

    def affine(self, affine: np.ndarray) -> np.ndarray:
        """The affine of the reoriented array (the same points in space)."""
        return affine @ ornt.inv_ornt_aff(self.forward, self.shape)


def reorientation(affine: np.ndarray, shape, codes: str) -> Reorientation:
    """How to bring a volume of ``affine`` and spatial ``shape`` to axis ``codes`` (e.g. ``"LAS"``)."""
    source = ornt.io_orientation(affine)
    target = ornt.axcodes2ornt(tuple(codes))
    return Reorientation(ornt.ornt_transform(source, target), ornt.ornt_transform(target, source),
                         tuple(int(n) for n in shape[:3]))
