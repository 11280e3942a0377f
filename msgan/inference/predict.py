"""Predict whole sessions of a cohort and write NIfTI files in the inputs' space and units.

``predict_cohort`` writes ``<out>/<subject>/<session>/<TARGET>_pred.nii.gz`` (and
``<TARGET>_pred_sd.nii.gz`` with Monte-Carlo dropout) for every selected session, all or
nothing: the folder appears only when every session succeeded. Each prediction is float32,
0 outside the brain, with the first input's affine, header and sform/qform codes.

The predictor is either a :class:`~msgan.inference.pipeline.VolumePredictor` (from a run
folder, :func:`predictor_from_run`) or a :class:`SavedModelPredictor` (an exported model).
"""
from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import nibabel as nib
import numpy as np
from tqdm import tqdm

from data_tools.contracts import TASKS, ModelCard, RunConfig
from data_tools.errors import CohortError, ConfigError, ImageContentError, InputFileError
from data_tools.io.atomic import atomic_output_dir
from data_tools.io.bids import bids_pattern
from data_tools.io.cohort import Cohort, Session
from data_tools.io.fingerprint import compare as compare_fingerprint
from data_tools.io.fingerprint import looks_skull_stripped, session_fingerprint
from data_tools.io.masks import brain_mask
from data_tools.io.nifti import save_like
from data_tools.io.orientation import Reorientation, reorientation
from data_tools.shards.normalize import Normalizer
from msgan.inference.timing import describe, timed

log = logging.getLogger(__name__)

MODEL_CARD = ModelCard.FILE


def prediction_path(out: str | Path, subject: str, session: str, target: str, sd: bool = False) -> Path:
    """``<out>/<subject>/<session>/<TARGET>_pred.nii.gz`` (``sd``: ``<TARGET>_pred_sd.nii.gz``, the
    Monte-Carlo dropout SD): the one layout in which ``msgan predict`` writes a session's
    prediction of ``target`` and every other writer (cross-validation, classic methods, the
    chapters, ``msgan ablate``) and reader (``msgan evaluate``, its figures) names it."""
    return Path(out) / subject / session / f"{target}_pred{'_sd' if sd else ''}.nii.gz"


def check_task(task: str, target: str, expected_task: str | None, where) -> None:
    """Refuse a run/model of an unknown task, or of another task than the one asked for."""
    if task not in TASKS:
        raise ConfigError(f"task {task!r} is not a prediction task ({', '.join(TASKS)})", where)
    if TASKS[task].target != target:
        raise ConfigError(f"task {task} predicts {TASKS[task].target}, but the target is {target}", where)
    if expected_task is not None and task != expected_task:
        raise ConfigError(f"this is a {task} model; --task asked for {expected_task}", where)


def predictor_from_run(run_dir: str | Path, overlap: float | None = None, blend: str = "gaussian",
                       window: Sequence[int] | None = None, batch_size: int = 1,
                       expected_task: str | None = None, tile: int = 256, noise_samples: int = 0,
                       precision: str | None = None, jit_compile: bool | None = None):
    """``(VolumePredictor, config)`` for a finished run folder (``msgan.training.load_run``).

    The window is the run's patch size unless ``window`` is given; stride-1 networks use
    exact halo tiling instead, on tiles of up to ``tile``^3 output voxels (smaller tiles
    use less memory and give the same result). ``overlap`` defaults to 0.25 (MONAI's
    default) for blending and 0 for halo tiling (it needs none). ``noise_samples``: the
    Sketcher's z at inference, 0 for z = 0 or K for the mean over K fixed draws.
    ``precision``/``jit_compile`` (:mod:`msgan.training.precision`; None: the enclosing
    ``compute_settings``, float32 without XLA by default): how the network computes.
    """
    from msgan.inference.geometry import plan_for_model
    from msgan.inference.pipeline import VolumePredictor
    from msgan.training import load_run
    from msgan.training.precision import check_precision, current_settings

    default_precision, default_jit = current_settings()
    precision = precision or default_precision
    jit_compile = default_jit if jit_compile is None else jit_compile
    model, config, normalizer = load_run(run_dir, check_precision(precision, jit_compile))
    where = Path(run_dir) / RunConfig.FILE
    for key in ("task", "target"):
        if getattr(config, key) is None:
            raise ConfigError(f"run configuration lacks {key!r}", where)
    inputs = list(config.inputs)
    check_task(config.task, config.target, expected_task, where)
    plan = plan_for_model(model, patch=tuple(window) if window else config.window,
                          overlap=overlap, blend=blend, batch_size=batch_size, tile=(tile,) * 3)
    return VolumePredictor(model, inputs, config.target, normalizer, plan, noise_samples=noise_samples,
                           jit_compile=jit_compile), config


@dataclass
class SavedModelPredictor:
    """An exported SavedModel's ``predict_volume`` signature and its model card."""

    path: Path
    card: ModelCard
    signature: object
    loaded: object = None  # the restored object; keeps the signature's variables alive
    _pipeline: object = field(default=None, repr=False)

    @property
    def inputs(self) -> list[str]:
        return list(self.card.inputs)

    @property
    def target(self) -> str:
        return self.card.target

    @property
    def normalizer(self) -> Normalizer:
        """The normalisation the SavedModel's graph applies (its card's copy)."""
        if self.card.normalization is None:  # an older card: nothing known to be scale-free
            return Normalizer()
        return Normalizer.from_dict(self.card.normalization, self.path / "assets" / MODEL_CARD)

    def predict(self, volumes: np.ndarray, brainmask: np.ndarray, timings: dict | None = None) -> np.ndarray:
        """As :meth:`VolumePredictor.predict`: msgan's own pipeline around the exported
        network, so a model exported earlier also skips the windows outside the brain;
        the exported ``predict_volume`` graph only where that cannot be rebuilt (the mean
        over fixed draws of z)."""
        import tensorflow as tf

        pipeline = self.pipeline()
        if pipeline is not None:
            return pipeline.predict(volumes, brainmask, timings)
        with timed(timings, "predict"):
            out = self.signature(volumes=tf.constant(volumes, tf.float32),
                                 brainmask=tf.constant(brainmask, tf.float32))
            return out["prediction"].numpy()

    def pipeline(self):
        """A :class:`VolumePredictor` of the card's normalisation and window plan around the
        ``serving_default`` network (cached), or None when the card asks for K draws of z."""
        from msgan.inference.pipeline import VolumePredictor
        from msgan.inference.sliding_window import WindowPlan

        if self._pipeline is None:
            serving = self.loaded.signatures.get("serving_default") if self.loaded is not None else None
            if serving is None or not self.card.window or (self.card.noise or {}).get("noise_samples"):
                return None

            def network(patches):
                return serving(patches=patches)["prediction"]
            self._pipeline = VolumePredictor(network, self.inputs, self.target, self.normalizer,
                                             WindowPlan.from_dict(self.card.window))
        return self._pipeline


def read_model_card(path: str | Path, expected_task: str | None = None) -> ModelCard:
    """The checked model card of an ``msgan export`` SavedModel folder (no TensorFlow needed)."""
    path = Path(path)
    if not (path / "saved_model.pb").is_file():
        raise InputFileError("not a SavedModel folder (no saved_model.pb)", path)
    card_path = path / "assets" / MODEL_CARD
    if not card_path.is_file():
        raise InputFileError(f"no assets/{MODEL_CARD}: not exported by msgan export", path)
    card = ModelCard.from_json(card_path)
    check_task(card.task, card.target, expected_task, card_path)
    return card


def load_saved_model(path: str | Path, expected_task: str | None = None) -> SavedModelPredictor:
    """Load an ``msgan export`` SavedModel; one-line errors if it is not one."""
    import tensorflow as tf

    card = read_model_card(path, expected_task)
    path = Path(path)
    seconds: dict[str, float] = {}
    try:
        with timed(seconds, "load"):
            loaded = tf.saved_model.load(str(path))
    except (OSError, ValueError, tf.errors.OpError) as exc:
        raise InputFileError(f"cannot load SavedModel ({type(exc).__name__})", path) from None
    log.info("%s: model loaded in %.1f s", path, seconds["load"])
    if "predict_volume" not in loaded.signatures:
        raise ConfigError(f"SavedModel has no 'predict_volume' signature (has "
                          f"{', '.join(sorted(loaded.signatures)) or 'none'})", path)
    return SavedModelPredictor(path, card, loaded.signatures["predict_volume"], loaded)


def select_sessions(cohort: Cohort, inputs: Sequence[str], subjects: Sequence[str] | None = None,
                    session: str | None = None, skip_incomplete: bool = False) -> list[Session]:
    """The sessions to predict; every one must have every input (checked before any work),
    or with ``skip_incomplete`` those lacking one are left out and listed in a warning."""
    sessions = cohort.select(subjects).sessions(session)
    if skip_incomplete:
        incomplete = {ses.label: [n for n in inputs if not ses.has(n)] for ses in sessions}
        incomplete = {label: missing for label, missing in incomplete.items() if missing}
        if incomplete:
            log.warning("skipped %d session(s) lacking an input: %s", len(incomplete),
                        "; ".join(f"{label} ({', '.join(m)})" for label, m in incomplete.items()))
        sessions = [ses for ses in sessions if ses.label not in incomplete]
    if not sessions:
        raise CohortError(f"no session{' ' + session if session else ''} to predict", cohort.source)
    for ses in sessions:
        missing = [name for name in inputs if not ses.has(name)]
        if missing:  # a BIDS dataset's user knows the files by their BIDS names
            named = [f"{bids_pattern(n)} ({n})" if ses.bids is not None else n for n in missing]
            raise CohortError(f"{', '.join(named)} is missing (an input of this model; "
                              "--skip-incomplete leaves such sessions out)", ses.label)
    return sessions


def _check_mc_possible(predictor, samples: int) -> None:
    """Refuse Monte-Carlo dropout before any work when it cannot run."""
    from msgan.inference.uncertainty import dropout_layers, mc_dropout

    if not hasattr(predictor, "model"):
        raise ConfigError("--samples needs the run folder (--run); an exported SavedModel "
                          "only holds the deterministic prediction")
    if samples < 2:
        raise ConfigError(f"--samples needs at least 2 passes to estimate a standard deviation, got {samples}")
    if not dropout_layers(predictor.model):
        with mc_dropout(predictor.model):  # raises the ConfigError naming the model
            pass


def check_fingerprint(predictor, session: Session, volumes, brain, affine, fingerprint: dict | None,
                      force: bool = False) -> list[str]:
    """Compare the session (``volumes`` on the grid ``affine``) with the model's training
    fingerprint; stop with one line naming the session and what differs, or with
    ``force`` return the differences as warnings."""
    if not fingerprint:
        return []
    own = session_fingerprint(volumes, predictor.inputs, brain, affine)
    problems = [d.message for d in compare_fingerprint(fingerprint, own, predictor.normalizer.scale_free(predictor.inputs))]
    if problems and not force:
        raise ImageContentError(f"unlike the model's training scans: {'; '.join(problems)} "
                                "(--force predicts anyway)", session.label)
    for problem in problems:
        log.warning("%s: unlike the model's training scans: %s", session.label, problem)
    return problems


def model_orientation(fingerprint: dict | None, affine, shape) -> Reorientation | None:
    """How to turn the session's arrays to the orientation the model was trained in (None:
    already in it, or the model does not say)."""
    known = (fingerprint or {}).get("orientation") or []
    if not known or "".join(nib.aff2axcodes(affine)) in known:
        return None
    return reorientation(affine, shape, known[0])


def masked_like_training(session: Session, volumes: np.ndarray, brain: np.ndarray, affine,
                         fingerprint: dict | None) -> np.ndarray:
    """``volumes`` times the session's brain mask when the model learned from brain-extracted
    scans and these are whole heads with a mask beside them (``msgan preprocess`` output)."""
    if not session.has("brainmask") or (fingerprint or {}).get("brain_extracted") != [True]:
        return volumes
    voxel_ml = float(abs(np.linalg.det(affine[:3, :3]))) / 1000.0
    if looks_skull_stripped(volumes[..., 0], voxel_ml):
        return volumes
    return volumes * brain[..., None]


def predict_session(predictor, session: Session, samples: int = 0, progress: bool = False,
                    fingerprint: dict | None = None, force: bool = False, warnings: list | None = None,
                    timings: dict | None = None):
    """``(prediction, sd or None, reference volume)`` for one session.

    Inputs are read (shape/affine checked), the brain mask taken or estimated
    (:func:`data_tools.io.masks.brain_mask`) and applied to whole heads when the model
    learned from brain-extracted scans (:func:`masked_like_training`), the arrays turned to
    the model's orientation (:func:`model_orientation`), the session compared with the
    model's training ``fingerprint`` (:func:`check_fingerprint`; differences are appended
    to ``warnings``); ``samples`` >= 2 runs MC dropout. The prediction comes back in the
    input's own voxel order, negative values clipped at 0 (FLAIR intensities and PIB DVRs
    are never negative; a network's output can dip below in dark brain regions).
    ``timings``: seconds per stage are added to it (``load``, ``normalise``, ``predict``;
    :mod:`msgan.inference.timing`).
    """
    with timed(timings, "load"):
        volumes, reference = session.stack(predictor.inputs)
        brain = brain_mask(session, predictor.inputs)
        if brain.shape != reference.shape:
            raise CohortError(f"brain mask shape {brain.shape} differs from {reference.shape}",
                              session.path("brainmask"))
        volumes = masked_like_training(session, volumes, brain, reference.affine, fingerprint)
        turn = model_orientation(fingerprint, reference.affine, reference.shape)
        affine = reference.affine
        if turn is not None:
            volumes, brain, affine = turn.apply(volumes), turn.apply(brain), turn.affine(reference.affine)
        found = check_fingerprint(predictor, session, volumes, brain, affine, fingerprint, force)
    if warnings is not None:
        warnings.extend(found)
    sd = None
    if samples:
        from msgan.inference.uncertainty import mc_dropout_predict

        _check_mc_possible(predictor, samples)
        with timed(timings, "predict"):
            prediction, sd = mc_dropout_predict(predictor, volumes, brain, samples, progress=progress)
    else:
        prediction = predictor.predict(volumes, brain, timings=timings)
    prediction = np.maximum(prediction, 0)
    if turn is not None:
        prediction, sd = turn.undo(prediction), (None if sd is None else turn.undo(sd))
    return prediction, sd, reference


def predict_cohort(predictor, cohort: Cohort, out: str | Path | None, subjects: Sequence[str] | None = None,
                   session: str | None = None, samples: int = 0, overwrite: bool = False,
                   progress: bool = True, bids_out: str | Path | None = None,
                   provenance: dict | None = None, skip_incomplete: bool = False,
                   fingerprint: dict | None = None, force: bool = False) -> list[Path]:
    """Predict every selected session into ``out`` and/or, as BIDS derivatives, into
    ``bids_out/derivatives/msgan`` (:mod:`msgan.inference.bids_out`), each all or nothing;
    returns the image files written. ``provenance``: :func:`bids_out.model_provenance`;
    ``fingerprint``: the model's training fingerprint (sessions unlike it stop the command,
    or with ``force`` are predicted and their sidecars record the warning)."""
    from msgan.inference import bids_out as bids

    if out is None and bids_out is None:
        raise ConfigError("give an output folder (--out) or a BIDS derivatives root (--bids-out)")
    sessions = select_sessions(cohort, predictor.inputs, subjects, session, skip_incomplete)
    if samples:
        _check_mc_possible(predictor, samples)
    provenance = provenance or bids.model_provenance(predictor)
    raw_root = Path(cohort.source) if any(s.bids is not None for s in sessions) else None
    derivatives = Path(bids_out) / "derivatives" / bids.PIPELINE if bids_out is not None else None
    written = []
    with _no_empty_folders_left([p for p in (out, derivatives) if p is not None]), contextlib.ExitStack() as stack:
        plain = stack.enter_context(atomic_output_dir(out, overwrite=overwrite)) if out is not None else None
        bids_tmp = (stack.enter_context(atomic_output_dir(derivatives, overwrite=overwrite))
                    if derivatives is not None else None)
        if bids_tmp is not None:
            bids.write_description(bids_tmp, provenance, raw_root, derivatives)
        for ses in tqdm(sessions, desc="predict", unit="session", disable=not progress):
            warnings: list[str] = []
            timings: dict[str, float] = {}
            prediction, sd, reference = predict_session(predictor, ses, samples, progress=progress,
                                                        fingerprint=fingerprint, force=force,
                                                        warnings=warnings, timings=timings)
            with timed(timings, "write"):
                for image, is_sd in ((prediction, False), (sd, True)):
                    if plain is not None and image is not None:
                        where = (ses.subject, ses.name, predictor.target, is_sd)
                        save_like(image, reference, prediction_path(plain, *where))
                        written.append(prediction_path(out, *where))
                if bids_tmp is not None:
                    files = bids.write_session(bids_tmp, ses, prediction, sd, reference, provenance,
                                               raw_root, samples, warnings)
                    written += [derivatives / f.relative_to(bids_tmp) for f in files]
            log.info("%s: %s", ses.label, describe(timings))
    return written


@contextlib.contextmanager
def _no_empty_folders_left(outputs):
    """On failure, remove the folders above ``outputs`` that the block created and left
    empty (``--bids-out DIR`` makes ``DIR/derivatives/``: a refused run leaves none)."""
    tops = []
    for path in outputs:
        path = Path(path).absolute()
        top = None
        while not path.parent.exists():
            path = top = path.parent
        if top is not None:
            tops.append(top)
    try:
        yield
    except BaseException:
        for top in tops:
            for folder in sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)) + [top]:
                with contextlib.suppress(OSError):
                    folder.rmdir()  # only empty folders go
        raise
