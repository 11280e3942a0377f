"""Raw scans of one session brought into a model's space: N4, registration onto the
reference input, brain extraction, affine registration to the space's template.

:func:`to_model_space` is the first half of ``msgan synthesize``
(:mod:`msgan.inference.synthesize`) and what brings raw training sessions into a model's
space (``scripts/prepare_raw_sessions.py``). Every image is resampled once, from its N4'd
native grid onto the model grid, through the composed transforms. Transforms follow ITK
(docs/ARCHITECTURE.md, "Preprocessing"): ``<moving>_to_<fixed>`` maps points of the fixed
image to the moving one, as ``msgan preprocess`` writes them.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

from data_tools.errors import ImageContentError
from data_tools.io.nifti import Volume, load_volume

log = logging.getLogger(__name__)

#: a plausible adult brain, litres; outside it the extraction failed (``force`` goes on)
BRAIN_LITRES = (0.8, 2.2)
#: voxel size (mm) of the template the reference is registered to: the affine needs no finer
#: (the transform holds in physical space for the model's 1 mm grid); at 1 mm it took 174 s
TEMPLATE_MM = 2
#: the chain's steps, in order (one progress-bar tick each); prediction steps follow
STEPS = ("read", "n4", "register", "brain", "to_space", "resample")


@dataclass
class ModelSpaceSession:
    """A session on the model's grid, and what takes it back to the reference's grid."""

    reference_name: str
    reference: Volume                      # the reference input as read (its grid and header)
    images: dict[str, np.ndarray]          # name -> array on the model grid, 0 outside the brain
    brain: np.ndarray                      # bool, model grid
    grid_affine: np.ndarray                # nibabel affine of the model grid
    native_brain: np.ndarray               # bool, the reference's grid
    transforms: dict[str, object] = field(default_factory=dict)  # SimpleITK transforms, by name
    native: dict[str, object] = field(default_factory=dict)      # N4'd SimpleITK images, by name
    seconds: dict[str, float] = field(default_factory=dict)      # step -> wall seconds
    brain_extractor: str = ""


class _Steps:
    """Times each step and ticks the caller's progress callback."""

    def __init__(self, tick: Callable[[str], None] | None):
        self.tick, self.seconds, self._start = tick, {}, time.perf_counter()

    def done(self, step: str) -> None:
        now = time.perf_counter()
        self.seconds[step] = now - self._start
        self._start = now
        if self.tick is not None:
            self.tick(step)


def read_inputs(paths: Mapping[str, str | Path | Volume], masks: tuple[str, ...] = ()) -> dict[str, Volume]:
    """Every input read and checked (3-D, finite; one line naming the file otherwise);
    volumes read already are kept; ``masks`` are read as masks (0/1, bool)."""
    return {name: p if isinstance(p, Volume) else load_volume(p, mask=name in masks) for name, p in paths.items()}


def check_brain_volume(brain: np.ndarray, voxel_ml: float, force: bool, where) -> None:
    """Stop on an empty or implausible brain mask (``force``: warn and go on)."""
    litres = float(brain.sum()) * voxel_ml / 1000
    if litres == 0:
        raise ImageContentError("brain extraction found no brain", where)
    lo, hi = BRAIN_LITRES
    if not lo <= litres <= hi:
        problem = (f"brain mask of {litres:.2f} L is outside the plausible {lo}-{hi} L "
                   "(extraction failed, or not a head?)")
        if not force:
            raise ImageContentError(problem + "; --force goes on", where)
        log.warning("%s: %s", where, problem)


def _register_inputs(native: dict, reference_name: str, model: str, transforms: dict) -> None:
    from data_tools.preprocessing.registration import register

    for name, image in native.items():
        if name != reference_name:
            transforms[f"{name}_to_{reference_name}"], _ = register(
                native[reference_name], image, model=model, label=f"{name} onto {reference_name}")


def _extract(native, reference_name, transforms, extractor, label):
    from data_tools.preprocessing.brain_extraction import choose_extractor, extract_brain

    method = choose_extractor(extractor)
    use_t1 = method == "deepbrain" and "T1" in native and reference_name != "T1"
    mask = extract_brain(native[reference_name], native["T1"] if use_t1 else None,
                         transforms.get(f"T1_to_{reference_name}") if use_t1 else None,
                         label=label, method=method)
    return mask, method


def _to_template(stripped, space: str, label):
    """The ``to_space`` step shared by :func:`to_model_space` and :func:`stripped_to_model_space`:
    ``stripped`` (the skull-stripped reference, SimpleITK) registered affinely to ``space``'s
    template; the reference -> space transform."""
    from data_tools.preprocessing.registration import register
    from msgan.inference.spaces import space_template

    to_space, _ = register(space_template(space, TEMPLATE_MM), stripped, model="affine",
                           label=f"{label} onto the {space} template")
    return to_space


def _onto_space(to_space, brain, images: Mapping[str, object], space: str, *,
                to_reference: Mapping[str, object] | None = None, masks: tuple[str, ...] = ()):
    """The ``resample`` step shared by :func:`to_model_space` and :func:`stripped_to_model_space`:
    ``brain`` (the reference's mask) and each of ``images`` resampled once onto ``space``'s grid
    by ``to_space`` (:func:`_to_template`), 0 outside the brain.

    An image with a ``to_reference`` transform goes through it composed with ``to_space``
    (none: it lies on the reference's grid); ``masks`` go by nearest neighbour, as uint8.
    Returns ``(grid, brain on the grid, name -> array)``.
    """
    from data_tools.preprocessing.itk_bridge import compose, itk_to_array
    from data_tools.preprocessing.registration import resample
    from msgan.inference.spaces import space_grid

    grid = space_grid(space)
    brain_on_grid = itk_to_array(resample(brain, grid, to_space, mask=True)).astype(bool)
    arrays = {}
    for name, image in images.items():
        own = (to_reference or {}).get(name)
        chain = to_space if own is None else compose(own, to_space)
        is_mask = name in masks
        moved = itk_to_array(resample(image, grid, chain, mask=is_mask))
        arrays[name] = np.where(brain_on_grid, moved, 0).astype(np.uint8 if is_mask else np.float32)
    return grid, brain_on_grid, arrays


def to_model_space(paths: Mapping[str, str | Path | Volume], space: str, reference: str | None = None,
                   extractor: str = "auto", registration: str = "rigid", force: bool = False,
                   tick: Callable[[str], None] | None = None) -> ModelSpaceSession:
    """The session of ``paths`` (name -> raw NIfTI file, or its :class:`Volume`) on ``space``'s grid.

    ``reference``: the input every other is registered onto (default: the first);
    ``extractor``: ``auto``, ``hdbet`` or ``deepbrain``; ``registration``: ``rigid`` (the
    default: one head in one session; an affine FLAIR onto a 3 mm T1 diverged on patient04)
    or ``affine`` between inputs; ``tick(step)`` is called after each of :data:`STEPS`.
    """
    from data_tools.preprocessing.bias import n4_correct
    from data_tools.preprocessing.itk_bridge import itk_to_affine, itk_to_array, sitk, volume_to_itk

    steps = _Steps(tick)
    reference = reference or next(iter(paths))
    volumes = read_inputs(paths)
    steps.done("read")
    native = {name: n4_correct(volume_to_itk(v), label=str(v.path)) for name, v in volumes.items()}
    steps.done("n4")
    transforms: dict = {}
    _register_inputs(native, reference, registration, transforms)
    steps.done("register")
    ref_volume = volumes[reference]
    mask, method = _extract(native, reference, transforms, extractor, str(ref_volume.path))
    native_brain = itk_to_array(mask).astype(bool)
    check_brain_volume(native_brain, float(np.prod(ref_volume.zooms[:3])) / 1000, force, ref_volume.path)
    steps.done("brain")
    stripped = sitk().Mask(native[reference], mask)
    to_reference = {name: transforms[f"{name}_to_{reference}"] for name in native if name != reference}
    to_space = transforms[f"{reference}_to_{space}"] = _to_template(stripped, space, ref_volume.path)
    steps.done("to_space")
    grid, brain, images = _onto_space(to_space, mask, native, space, to_reference=to_reference)
    steps.done("resample")
    return ModelSpaceSession(reference, ref_volume, images, brain, itk_to_affine(grid), native_brain,
                             transforms, native, steps.seconds, method)


def stripped_to_model_space(paths: Mapping[str, str | Path | Volume], space: str, reference: str = "T1",
                            masks: tuple[str, ...] = ("lesions",)) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Scans already skull-stripped and co-registered (one grid) brought onto ``space``'s grid
    by the same affine registration to the template as :func:`to_model_space`'s ``to_space``.

    So that sessions registered elsewhere (the shared MNI patients, registered by the dataset's
    authors without scaling to the template) lie at the template's scale, as the raw sessions
    brought in by the chain do. Returns ``(name -> array, brain, grid affine)``; the brain is the
    reference's non-zero voxels, ``masks`` are resampled by nearest neighbour. ``paths`` may
    hold :class:`Volume` s read already (a mask's as :func:`load_volume` reads masks).
    """
    from data_tools.preprocessing.itk_bridge import itk_to_affine, volume_to_itk

    volumes = read_inputs(paths, masks)
    ref = volumes[reference]
    brain_native = Volume((ref.data != 0).astype(np.uint8), ref.affine, ref.header, ref.path)
    images = {name: volume_to_itk(Volume(v.data.astype(np.uint8), v.affine, v.header, v.path)
                                  if name in masks else v) for name, v in volumes.items()}
    to_space = _to_template(volume_to_itk(ref), space, ref.path)
    grid, brain, arrays = _onto_space(to_space, volume_to_itk(brain_native), images, space, masks=masks)
    return arrays, brain, itk_to_affine(grid)
