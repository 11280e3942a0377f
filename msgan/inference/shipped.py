"""Trained models that ship with msgan, by name (``msgan predict --model NAME``).

They live in the repository's ``saved_models/<name>/<version>/`` (``msgan export``
SavedModels with their model cards, rebuilt by ``scripts/train_shipped_models.sh``); the
highest numeric version of a name is used.
"""
from __future__ import annotations

from pathlib import Path

from data_tools.contracts import ModelCard
from data_tools.errors import ConfigError

#: where the shipped SavedModels are, beside the package in a clone or an editable install
SHIPPED_DIR = Path(__file__).resolve().parents[2] / "saved_models"


def shipped_models(folder: Path = SHIPPED_DIR) -> dict[str, Path]:
    """``{name: newest version folder}`` of every shipped model."""
    found = {}
    for model in sorted(p for p in folder.glob("*") if p.is_dir()):
        versions = sorted((v for v in model.iterdir() if v.name.isdigit() and (v / "saved_model.pb").is_file()),
                          key=lambda v: int(v.name))
        if versions:
            found[model.name] = versions[-1]
    return found


def resolve_model(name: str, folder: Path = SHIPPED_DIR) -> Path:
    """The SavedModel folder of the shipped model ``name``, or a one-line error listing them."""
    found = shipped_models(folder)
    if name not in found:
        raise ConfigError(f"no shipped model {name!r}; shipped: {', '.join(found) or 'none'} "
                          f"(in {folder})")
    return found[name]


def describe(folder: Path = SHIPPED_DIR) -> list[dict]:
    """Name, version, task, inputs, target and note of every shipped model (its card)."""
    rows = []
    for name, path in shipped_models(folder).items():
        card = ModelCard.from_json(path / "assets" / ModelCard.FILE)
        rows.append({"name": name, "version": path.name, "task": card.task,
                     "inputs": list(card.inputs), "target": card.target, "note": card.note})
    return rows
