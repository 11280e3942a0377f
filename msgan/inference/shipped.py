"""Trained models by name (``msgan predict --model NAME``, ``msgan models --shipped``).

A *model folder* holds ``<name>/<version>/`` SavedModels of ``msgan export`` (the version a
positive integer; the highest is used). Names are looked up, first match wins, in:

1. the folder given by ``--model-dir`` (a lab's own models),
2. the folders of the ``MSGAN_MODELS`` environment variable (``os.pathsep``-separated),
3. the models that ship inside the package, ``msgan/saved_models/`` (package data, read
   with :mod:`importlib.resources`, so a plain ``pip install`` has them; rebuilt by
   ``scripts/train_shipped_models.sh``).

Nothing is downloaded: every folder is a local path.
"""
from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Sequence

from data_tools.contracts import ModelCard
from data_tools.errors import ConfigError, InputFileError

#: the environment variable naming a lab's model folders
MODELS_ENV = "MSGAN_MODELS"


def shipped_dir() -> Path:
    """The package's own model folder (inside the installed ``msgan`` package)."""
    return Path(str(resources.files("msgan") / "saved_models"))


#: where the shipped SavedModels are
SHIPPED_DIR = shipped_dir()


def model_folders(model_dir: str | Path | None = None) -> list[Path]:
    """The folders searched for a model name, in order: ``model_dir``, ``$MSGAN_MODELS``,
    the shipped models. A folder the user named that does not exist is an error."""
    named = [Path(model_dir)] if model_dir else []
    named += [Path(p) for p in os.environ.get(MODELS_ENV, "").split(os.pathsep) if p]
    for folder in named:
        if not folder.is_dir():
            where = "--model-dir" if model_dir and folder == Path(model_dir) else MODELS_ENV
            raise InputFileError(f"model folder not found (from {where})", folder)
    return named + [SHIPPED_DIR]


def shipped_models(folder: Path = SHIPPED_DIR) -> dict[str, Path]:
    """``{name: newest version folder}`` of every model in one model folder."""
    found = {}
    for model in sorted(p for p in Path(folder).glob("*") if p.is_dir()):
        versions = sorted((v for v in model.iterdir() if v.name.isdigit() and (v / "saved_model.pb").is_file()),
                          key=lambda v: int(v.name))
        if versions:
            found[model.name] = versions[-1]
    return found


def available_models(folders: Sequence[Path] | None = None) -> dict[str, Path]:
    """``{name: SavedModel folder}`` over ``folders`` (default :func:`model_folders`), the
    first folder holding a name winning."""
    found: dict[str, Path] = {}
    for folder in model_folders() if folders is None else folders:
        for name, path in shipped_models(folder).items():
            found.setdefault(name, path)
    return found


def resolve_model(name: str, folder: Path | None = None, model_dir: str | Path | None = None) -> Path:
    """The SavedModel folder of the model ``name``, or a one-line error listing the names."""
    folders = [Path(folder)] if folder is not None else model_folders(model_dir)
    found = available_models(folders)
    if name not in found:
        raise ConfigError(f"no model {name!r}; available: {', '.join(found) or 'none'} "
                          f"(in {', '.join(str(f) for f in folders)})")
    return found[name]


def describe(folder: Path | None = None, model_dir: str | Path | None = None) -> list[dict]:
    """Name, version, task, inputs, target, note and folder of every model found."""
    folders = [Path(folder)] if folder is not None else model_folders(model_dir)
    rows = []
    for name, path in available_models(folders).items():
        card = ModelCard.from_json(path / "assets" / ModelCard.FILE)
        rows.append({"name": name, "version": path.name, "task": card.task, "inputs": list(card.inputs),
                     "target": card.target, "note": card.note, "path": path})
    return rows
