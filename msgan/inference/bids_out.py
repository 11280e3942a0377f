"""Predictions as BIDS derivatives: ``<DIR>/derivatives/msgan/`` with a dataset
description and, per image, a JSON sidecar saying it is synthetic and how it was made.

Layout (BIDS 1.9 derivatives): ``dataset_description.json`` (``DatasetType``
derivative, ``GeneratedBy`` msgan with its version and the model, ``DatasetLinks`` to
the raw dataset when the input was BIDS) and
``sub-<id>/[ses-<id>/]<anat|pet>/sub-<id>[_ses-<id>]_desc-synthetic_<FLAIR|pet>.nii.gz`` (+
``desc-syntheticSD`` for the Monte-Carlo dropout SD map), each with a ``.json`` sidecar:
``Sources`` (BIDS URIs ``bids:raw:<path>`` of the input files, or their absolute paths
for non-BIDS input), the model's name, version, task, inputs in their order and training
subjects count, the version folder and sha256 of its weights, the noise and uncertainty
settings, the SD map's name, and that negative values were clipped at 0.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from data_tools.contracts import ModelCard, RunConfig, target_units
from data_tools.io.bids import BidsKey, derivative_path
from data_tools.io.cohort import Session
from msgan._version import __version__

PIPELINE = "msgan"
BIDS_VERSION = "1.9.0"


def weights_sha256(folder: str | Path | None) -> str | None:
    """sha256 over the weight files of a SavedModel (``variables/*``, in name order) or of a
    run folder (``model.weights.h5``): which trained weights made a prediction."""
    if folder is None:
        return None
    folder = Path(folder)
    files = sorted((folder / "variables").glob("*")) if (folder / "saved_model.pb").is_file() \
        else [folder / "model.weights.h5"]
    files = [f for f in files if f.is_file()]
    if not files:
        return None
    digest = hashlib.sha256()
    for path in files:
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def model_provenance(predictor, config: RunConfig | None = None, card: ModelCard | None = None,
                     name: str | None = None, folder: str | Path | None = None) -> dict:
    """What made the prediction: model name/kind, version (a SavedModel's version folder),
    the sha256 of its weights (``folder``: the SavedModel or run folder), task, inputs in
    order, training subjects, msgan version, noise setting (from a run's ``config.json`` or
    a SavedModel's card); ``name``: the run's or the SavedModel's name (default: the model's)."""
    if card is not None:
        card = card if isinstance(card, ModelCard) else ModelCard.from_dict(dict(card))
        model, task, subjects, version = card.model, card.task, card.training_subjects or 0, card.msgan_version
        noise = card.get("noise")
    elif config is not None:
        config = config if isinstance(config, RunConfig) else RunConfig.from_dict(dict(config))
        model, task, subjects, version, noise = config.model, config.task, len(config.train_subjects), None, None
    else:
        model = task = version = noise = None
        subjects = 0
    if hasattr(predictor, "noise_description"):
        noise = predictor.noise_description()
    folder = Path(folder) if folder is not None else getattr(predictor, "path", None)
    saved_model = folder is not None and (Path(folder) / "saved_model.pb").is_file()
    return {
        "Name": name or model,
        "Version": Path(folder).name if saved_model else None,
        "WeightsSha256": weights_sha256(folder),
        "Model": model,
        "Task": task,
        "Inputs": list(predictor.inputs),
        "Target": predictor.target,
        "TrainingSubjects": subjects,
        "MsganVersion": version or __version__,
        "Noise": noise,
    }


def bids_key(session: Session) -> BidsKey:
    """The session's place in BIDS: as read, or ``ses-<name>`` for msgan's own layouts."""
    if session.bids is not None:
        return session.bids
    return BidsKey(session.subject, session.name)


def dataset_description(provenance: dict, raw_root: Path | None, folder: Path) -> dict:
    description = {
        "Name": f"msgan synthetic {provenance['Target']}",
        "BIDSVersion": BIDS_VERSION,
        "DatasetType": "derivative",
        "GeneratedBy": [{"Name": PIPELINE, "Version": __version__,
                         "Description": f"model {provenance['Name']} ({provenance['Model']}, "
                                        f"task {provenance['Task']})"}],
    }
    if raw_root is not None:  # relative: the pair stays linked when both move together
        description["DatasetLinks"] = {"raw": Path(os.path.relpath(raw_root.resolve(), folder.resolve())).as_posix()}
    return description


def sources(session: Session, inputs, raw_root: Path | None) -> list[str]:
    """BIDS URIs of the input files (``bids:raw:<relative path>``), else absolute paths."""
    out = []
    for name in inputs:
        path = Path(session.path(name))
        inside = _relative_inside(path, raw_root) if raw_root is not None and session.bids is not None else None
        out.append(f"bids:raw:{inside}" if inside is not None else str(Path(os.path.abspath(path))))
    return out


def _relative_inside(path: Path, root: Path) -> str | None:
    """``path`` relative to ``root`` as a BIDS URI path, or ``None`` if it is not in it.

    Compared as given before symlinks are followed: datasets of links (DataLad, git-annex)
    keep their files elsewhere."""
    for a, b in ((os.path.abspath(path), os.path.abspath(root)), (Path(path).resolve(), Path(root).resolve())):
        try:
            return Path(a).relative_to(b).as_posix()
        except ValueError:
            continue
    return None


def sidecar(session: Session, provenance: dict, raw_root: Path | None, samples: int = 0,
            sd_file: str | None = None, warnings: list[str] | None = None) -> dict:
    target = provenance["Target"]
    return {
        "Description": f"Synthetic {target} predicted by msgan from {', '.join(provenance['Inputs'])}; "
                       "not an acquired image.",
        "Synthetic": True,
        "Sources": sources(session, provenance["Inputs"], raw_root),
        "Units": target_units(target, bids=True),
        "Model": {k: provenance.get(k) for k in ("Name", "Version", "WeightsSha256", "Model", "Task", "Inputs",
                                                 "TrainingSubjects", "MsganVersion")},
        "NegativeValues": "clipped at 0 (a network's output can dip below 0 in dark brain regions; "
                          "the target is never negative)",
        "Noise": provenance["Noise"],
        "Uncertainty": ({"Method": "Monte-Carlo dropout", "Samples": samples, "File": sd_file}
                        if samples else None),
        "Warnings": list(warnings or []),
    }


def write_session(folder: Path, session: Session, prediction, sd, reference, provenance: dict,
                  raw_root: Path | None, samples: int = 0, warnings=None) -> list[Path]:
    """Write one session's synthetic image (and SD map) with sidecars under ``folder``."""
    from data_tools.io.nifti import save_like

    key = bids_key(session)
    target = provenance["Target"]
    image = folder / derivative_path(key, target)
    out_dir, name = image.parent, image.name
    written = [image]
    save_like(prediction, reference, image)
    sd_name = None
    if sd is not None:
        sd_name = derivative_path(key, target, sd=True).name
        save_like(sd, reference, out_dir / sd_name)
        written.append(out_dir / sd_name)
        _write_json(out_dir / sd_name.replace(".nii.gz", ".json"),
                    {**sidecar(session, provenance, raw_root, samples, None, warnings),
                     "Description": f"Voxel-wise SD of {samples} Monte-Carlo dropout predictions of "
                                    f"the synthetic {target} {name}."})
    _write_json(out_dir / name.replace(".nii.gz", ".json"),
                sidecar(session, provenance, raw_root, samples, sd_name, warnings))
    return written


def write_description(folder: Path, provenance: dict, raw_root: Path | None, final: Path) -> None:
    _write_json(folder / "dataset_description.json", dataset_description(provenance, raw_root, final))


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
