"""Export a trained run as a TensorFlow SavedModel that needs neither msgan nor Keras code.

Two signatures (written with ``keras.export.ExportArchive``):

- ``serving_default``: ``patches`` ``(B, d, h, w, C)`` normalised inputs -> ``prediction``
  ``(B, d, h, w, 1)``, the network's raw output in normalised target units;
- ``predict_volume``: ``volumes`` ``(D, H, W, C)`` raw inputs in the run's input order and
  ``brainmask`` ``(D, H, W)`` (1 inside the brain) -> ``prediction`` ``(D, H, W)`` in the
  target's units; the normalisation, sliding window and de-normalisation are the graph of
  :class:`~msgan.inference.pipeline.VolumePredictor`, the one ``msgan predict`` runs.

``assets/model_card.json`` describes the model (task, inputs and order, target and units,
normalisation, window, training subjects, validation metrics, versions).
"""
from __future__ import annotations

import csv
import math
from pathlib import Path

from data_tools.contracts import ModelCard, target_units
from data_tools.io.atomic import atomic_output_dir
from msgan._version import __version__
from msgan.inference.predict import MODEL_CARD
from msgan.models.precision import model_precision


def best_validation_metrics(run_dir: Path) -> dict:
    """Best (lowest) value of every ``val_*`` column of the run's ``history.csv``, if any."""
    path = Path(run_dir) / "history.csv"
    if not path.is_file():
        return {}
    best: dict[str, float] = {}
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            for key, value in row.items():
                if not key or not key.startswith("val_"):
                    continue
                try:
                    number = float(value)
                except (TypeError, ValueError):
                    continue
                if math.isfinite(number):
                    best[key] = min(best.get(key, number), number)
    return best


def training_sessions(config) -> list[str] | None:
    """``subject/session`` of every training session, from the run's shard index (if still there)."""
    from data_tools.shards.tfrecords import read_index

    data, subjects = config.get("data"), set(config.get("train_subjects") or [])
    if not data or not (Path(data) / "index.json").is_file():
        return None
    sessions = read_index(data)["sessions"]
    return sorted(key.replace("sub-", "").replace("ses-", "") for key in sessions
                  if key.split("/")[0].removeprefix("sub-") in subjects)


def model_card(predictor, config: dict, validation: dict | None = None, note: str | None = None,
               space: str | None = None) -> dict:
    """The JSON description shipped with the SavedModel; ``note`` comes first (e.g. that
    the training data were simulated); ``space``: the space the training scans were in
    (:mod:`msgan.inference.spaces`; ``msgan synthesize`` needs it)."""
    import tensorflow as tf

    return {
        **({"note": note} if note else {}),
        "format": "msgan SavedModel 1",
        "task": config.get("task"),
        "model": config.get("model"),
        "inputs": predictor.inputs,
        "target": predictor.target,
        "target_units": target_units(predictor.target),
        "normalization": predictor.normalization,
        "window": predictor.plan.to_dict(),
        "noise": predictor.noise_description(),
        "precision": model_precision(predictor.model),
        "training_subjects": len(config.get("train_subjects") or []),
        **({"training_sessions": sessions} if (sessions := training_sessions(config)) else {}),
        **({"space": space} if space else {}),
        "validation_subjects": len(config.get("val_subjects") or []),
        "validation_metrics": validation or {},
        "fingerprint": config.get("fingerprint"),
        "signatures": {
            "serving_default": "patches (B,d,h,w,C) normalised -> prediction (B,d,h,w,1) normalised",
            "predict_volume": "volumes (D,H,W,C) raw, brainmask (D,H,W) -> prediction (D,H,W) in target units",
        },
        "msgan_version": __version__,
        "tensorflow_version": tf.__version__,
    }


def export_predictor(predictor, out: str | Path, card: dict, overwrite: bool = False) -> Path:
    """Write ``predictor`` (a VolumePredictor with a Keras model) as a SavedModel at ``out``."""
    import keras
    import tensorflow as tf

    model = predictor.model
    n_inputs = predictor.n_inputs

    def serve_patches(patches):
        return {"prediction": model(patches, training=False)}

    def serve_volume(volumes, brainmask):
        return {"prediction": predictor.graph(volumes, brainmask)}

    # No archive.track(model): it would add every variable of the model (a GAN's
    # discriminators included) as Keras variables, saved a second time beside the
    # tf.Variables the endpoints use, which the archive tracks by itself. Untracked, the
    # SavedModel holds each variable the prediction chain reads, once.
    archive = keras.export.ExportArchive()
    archive.add_endpoint("serving_default", serve_patches, input_signature=[
        tf.TensorSpec((None, None, None, None, n_inputs), tf.float32, name="patches")])
    archive.add_endpoint("predict_volume", serve_volume, input_signature=predictor.input_signature())
    with atomic_output_dir(out, overwrite=overwrite) as tmp:
        archive.write_out(str(tmp), verbose=False)
        (tmp / "assets").mkdir(exist_ok=True)
        ModelCard.from_dict(dict(card), out).to_json(tmp / "assets" / MODEL_CARD)
    return Path(out)


def export_run(run_dir: str | Path, out: str | Path, overwrite: bool = False,
               overlap: float | None = None, blend: str = "gaussian", batch_size: int = 1,
               noise_samples: int = 0, note: str | None = None, space: str | None = None) -> Path:
    """``msgan export``: the run's best weights and normalisation as a SavedModel."""
    from msgan.inference.predict import predictor_from_run

    predictor, config = predictor_from_run(run_dir, overlap=overlap, blend=blend, batch_size=batch_size,
                                           noise_samples=noise_samples)
    if space is not None:
        from data_tools.contracts import look_up_option
        from msgan.inference.spaces import SPACES

        look_up_option(space, SPACES, "model space")
    card = model_card(predictor, config, best_validation_metrics(Path(run_dir)), note=note, space=space)
    return export_predictor(predictor, out, card, overwrite=overwrite)
