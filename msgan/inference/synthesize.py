"""``msgan synthesize``: raw scans in, the missing image out in the scan's own space.

The chain (docs/synthesize.md): :func:`msgan.inference.raw_chain.to_model_space` (N4,
registration of every input onto the reference, brain extraction, affine registration to
the template of the space the model card names), then the model's own normalisation and
whole-volume prediction (its SavedModel's ``predict_volume``, as ``msgan predict``), then the
prediction resampled back onto the reference input's grid, masked to its brain and written
with its affine and header (``space="model"``: on the model's grid instead).
Everything is checked before any work; the output, the QC figure and the intermediates
folder are each written all or nothing.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np
from tqdm import tqdm

from data_tools.contracts import look_up_option
from data_tools.errors import ConfigError, OutputExistsError
from data_tools.io.cohort import canonical_name
from data_tools.io.guard import check_outputs as guard_outputs
from data_tools.io.nifti import Volume
from msgan.inference.raw_chain import STEPS, ModelSpaceSession, to_model_space
from msgan.inference.spaces import OUTPUT_SPACES, SPACES

#: steps after :data:`raw_chain.STEPS`
PREDICT_STEPS = ("predict", "back", "write")


@dataclass
class Synthesis:
    """One session's synthetic image, on the grid it is to be written on."""

    image: np.ndarray
    affine: np.ndarray
    session: ModelSpaceSession
    model_prediction: np.ndarray
    seconds: dict[str, float]


def model_folder(model) -> Path:
    """The SavedModel folder of a shipped model's name or of a path."""
    path = Path(model)
    if path.exists():
        return path
    from msgan.inference.shipped import resolve_model

    return resolve_model(str(model))


def read_card(folder: Path):
    """The model card, which must name the space the model was trained in (no TensorFlow)."""
    from msgan.inference.predict import read_model_card

    card = read_model_card(folder)
    if card.space is None:
        raise ConfigError("the model card names no space the model was trained in; "
                          "msgan synthesize needs one (msgan predict takes preprocessed scans)", folder)
    look_up_option(card.space, SPACES, "model space", where=folder)
    return card


def load_model(model):
    """A :class:`SavedModelPredictor` from a shipped model's name or a SavedModel folder
    whose card names its space (a loaded predictor is returned as it is)."""
    from msgan.inference.predict import load_saved_model

    if not isinstance(model, (str, Path)):
        return model
    folder = model_folder(model)
    read_card(folder)
    return load_saved_model(folder)


def order_inputs(inputs: Mapping[str, str | Path], model_inputs, reference: str | None = None):
    """``(paths in the model's order, reference name)``; one line for a name the model does
    not take, a missing one, or a reference that is not an input."""
    given = {canonical_name(name): Path(path) for name, path in inputs.items()}
    unknown = sorted(set(given) - set(model_inputs))
    if unknown:
        raise ConfigError(f"the model does not take {', '.join(unknown)}; it takes {', '.join(model_inputs)}")
    missing = [n for n in model_inputs if n not in given]
    if missing:
        raise ConfigError(f"missing input {', '.join(missing)} (the model takes {', '.join(model_inputs)})")
    reference = canonical_name(reference) if reference else canonical_name(next(iter(inputs)))
    if reference not in given:
        raise ConfigError(f"reference {reference} is not an input ({', '.join(given)})")
    ordered = {n: given[n] for n in model_inputs}
    return {reference: ordered[reference], **ordered}, reference


def check_outputs(outputs: dict, inputs: dict, overwrite: bool) -> None:
    """Refuse an output that replaces or holds an input, two overlapping outputs
    (:func:`data_tools.io.guard.check_outputs`), or an output that exists without ``overwrite``."""
    guard_outputs(outputs, inputs)
    for out in outputs.values():
        if out is not None and Path(out).exists() and not overwrite:
            raise OutputExistsError("exists (--overwrite replaces it)", out)


def back_to_reference(session: ModelSpaceSession, prediction: np.ndarray, space: str) -> np.ndarray:
    """The model-grid prediction on the reference input's grid (linear), masked to its brain."""
    from data_tools.preprocessing.itk_bridge import array_to_itk, itk_to_array, volume_to_itk
    from data_tools.preprocessing.registration import resample

    to_reference = session.transforms[f"{session.reference_name}_to_{space}"]
    image = array_to_itk(prediction.astype(np.float32), session.grid_affine)
    grid = volume_to_itk(session.reference)
    native = itk_to_array(resample(image, grid, to_reference.GetInverse()))
    return np.where(session.native_brain, native, 0).astype(np.float32)


def run_chain(predictor, paths: Mapping[str, Path | Volume], reference: str, space: str = "native",
              extractor: str = "auto", registration: str = "rigid", force: bool = False,
              progress: bool = True, label: str = "synthesize") -> Synthesis:
    """The whole chain for one session in memory (nothing written)."""
    look_up_option(space, OUTPUT_SPACES, "output space")
    model_space = predictor.card.space
    with tqdm(total=len(STEPS) + len(PREDICT_STEPS) - 1, desc=label, unit="step", disable=not progress) as bar:
        def tick(step):
            bar.set_postfix_str(step)
            bar.update()

        session = to_model_space(paths, model_space, reference, extractor, registration, force, tick)
        seconds = dict(session.seconds)
        start = time.perf_counter()
        stack = np.stack([session.images[n] for n in predictor.inputs], axis=-1)
        prediction = predictor.predict(stack, session.brain.astype(np.float32))
        seconds["predict"] = time.perf_counter() - start
        tick("predict")
        start = time.perf_counter()
        if space == "native":
            image, affine = back_to_reference(session, prediction, model_space), session.reference.affine
        else:
            image, affine = prediction, session.grid_affine
        seconds["back"] = time.perf_counter() - start
        tick("back")
    return Synthesis(image, affine, session, prediction, seconds)


def synthesize(model, inputs: Mapping[str, str | Path], out: str | Path, *, reference: str | None = None,
               space: str = "native", extractor: str = "auto", registration: str = "rigid",
               qc: str | Path | None = None, keep_intermediate: str | Path | None = None,
               force: bool = False, overwrite: bool = False, progress: bool = True) -> Synthesis:
    """``msgan synthesize``: write the missing image of one session to ``out``.

    ``model``: a shipped model's name, a SavedModel folder or a loaded predictor;
    ``inputs``: name -> raw NIfTI file; ``reference``: the input the others are registered
    onto and the output's grid (default: the first); ``space``: ``native`` (the
    reference's grid) or ``model``; ``qc``: a PNG to draw; ``keep_intermediate``: a
    folder for the transforms, the masks and the model-grid images.
    """
    from msgan.inference.raw_chain import read_inputs
    from msgan.inference.synthesis_output import write_intermediate, write_qc, write_synthesis

    look_up_option(space, OUTPUT_SPACES, "output space")
    if isinstance(model, (str, Path)):  # every check before loading TensorFlow and the model
        card = read_card(model_folder(model))
        model_inputs = card.inputs
    else:
        model_inputs = model.inputs
    paths, reference = order_inputs(inputs, model_inputs, reference)
    check_outputs({"--out": out, "--qc": qc, "--keep-intermediate": keep_intermediate},
                  {f"--input {name}": path for name, path in paths.items()}, overwrite)
    volumes = read_inputs(paths)
    predictor = load_model(model)
    result = run_chain(predictor, volumes, reference, space, extractor, registration, force, progress)
    start = time.perf_counter()
    write_synthesis(result, out, space, overwrite)
    if qc is not None:
        write_qc(result, qc, predictor.target, space, overwrite)
    if keep_intermediate is not None:
        write_intermediate(result, keep_intermediate, predictor.card.space, overwrite)
    result.seconds["write"] = time.perf_counter() - start
    return result
