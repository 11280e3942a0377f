"""The JSON files passed between stages: shard index, run configuration, model card,
cross-validation fold plan.

Each is a frozen dataclass whose ``from_json(path)`` reads and checks the file once (a bad,
truncated or old file is one :class:`~data_tools.errors.MsganError` naming it) and whose
``to_json(path)`` is the only writer. Field names are the keys on disk; keys a document
does not type (e.g. a run's training options) are kept in ``extra`` and written back.
Each is also a read-only mapping of its keys (``index["inputs"]`` gives a fresh list), so
code written against the plain dicts keeps working.
"""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, ClassVar

from data_tools.contracts.choices import PRECISIONS
from data_tools.contracts.tasks import TASKS
from data_tools.contracts.training import TrainOptions
from data_tools.errors import DataIntegrityError, InputFileError

SHARD_SCHEMA_VERSION = 1
COMPRESSIONS = ("", "GZIP", "ZLIB")


def _freeze(value):
    if isinstance(value, Mapping):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def _plain(value):
    """JSON-ready copy: mappings -> dicts, tuples -> lists."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_object(v) -> bool:
    return isinstance(v, Mapping)


def _is_names(v) -> bool:  # tuples: documents built in code rather than read
    return isinstance(v, (list, tuple)) and all(isinstance(n, str) for n in v)


def _is_size(v) -> bool:
    return isinstance(v, (list, tuple)) and len(v) == 3 and all(_is_int(n) and n > 0 for n in v)


def _is_shard(v) -> bool:
    return (isinstance(v, Mapping) and all(isinstance(v.get(k), str) for k in ("file", "subject", "sha256"))
            and _is_int(v.get("count")))


def _is_fold(v) -> bool:
    return (isinstance(v, Mapping) and _is_int(v.get("fold"))
            and all(_is_names(v.get(k)) for k in ("test", "val", "train")))


#: key -> (test, what it should be); ``None`` passes unless the key is required
Checks = dict[str, tuple[Callable[[Any], bool], str]]
NAMES = (lambda v: _is_names(v) and len(v) > 0, "a non-empty list of names")


@dataclass(frozen=True, eq=False, kw_only=True)
class JsonDocument(Mapping):
    """Base of the typed JSON files: reading, checking, writing, mapping access."""

    KIND: ClassVar[str] = "document"
    ERROR: ClassVar[type] = InputFileError
    REQUIRED: ClassVar[tuple[str, ...]] = ()
    CHECKS: ClassVar[Checks] = {}

    #: keys not typed by the document, as read (read-only)
    extra: Mapping = field(default_factory=lambda: MappingProxyType({}))
    #: the keys in the order read (empty: every field, then ``extra``)
    present: tuple[str, ...] = field(default=(), compare=False, repr=False)

    @classmethod
    def typed_keys(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls) if f.name not in ("extra", "present"))

    @classmethod
    def from_dict(cls, data, where=None):
        """Check ``data`` (a JSON object as read) and build the document; ``where`` names the file."""
        if isinstance(data, Mapping):  # a document, or a mapping built in code
            data = dict(data)
        if not isinstance(data, dict):
            raise cls.ERROR(f"not a {cls.KIND}: a JSON object was expected, found {type(data).__name__}", where)
        cls._check_version(data, where)
        for key in cls.REQUIRED:
            if key not in data:
                raise cls.ERROR(f"{cls.KIND} lacks {key!r} (incomplete, or written by another msgan version)",
                                where)
        for key, (ok, wanted) in cls.CHECKS.items():
            value = data.get(key)
            if key in data and (value is not None or key in cls.REQUIRED) and not ok(value):
                shown = json.dumps(value, default=str)[:60]
                raise cls.ERROR(f"{cls.KIND}: {key!r} is {shown}, expected {wanted}", where)
        typed = set(cls.typed_keys())
        return cls(**{k: _freeze(v) for k, v in data.items() if k in typed},
                   extra=_freeze({k: v for k, v in data.items() if k not in typed}), present=tuple(data))

    @classmethod
    def _check_version(cls, data: dict, where) -> None:
        """Refuse files of another format version (subclasses that have one)."""

    @classmethod
    def from_json(cls, path: str | Path):
        """Read ``path``; an unreadable, truncated, foreign or old file is one error naming it."""
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except OSError as exc:
            raise cls.ERROR(f"cannot read the {cls.KIND} ({exc.strerror or exc})", path) from None
        except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
            raise cls.ERROR(f"{cls.KIND} is not valid JSON, truncated or corrupt ({exc})", path) from None
        return cls.from_dict(data, path)

    def to_dict(self) -> dict:
        """A fresh JSON-ready dict of the document, keys as on disk."""
        return {key: self[key] for key in self}

    def to_json(self, path: str | Path) -> Path:
        """Write the document (the only writer of its file)."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return path

    def replace(self, **changes):
        """A copy with some keys changed (checked again)."""
        return type(self).from_dict({**self.to_dict(), **_plain(changes)})

    def _keys(self) -> tuple[str, ...]:
        return self.present or (*self.typed_keys(), *self.extra)

    def __getitem__(self, key: str):
        if key not in self._keys():
            raise KeyError(key)
        return _plain(getattr(self, key) if key in self.typed_keys() else self.extra[key])

    def __iter__(self):
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self._keys())

    def __eq__(self, other) -> bool:
        if isinstance(other, Mapping):
            return self.to_dict() == dict(other)
        return NotImplemented

    __hash__ = None


@dataclass(frozen=True, eq=False, kw_only=True)
class ShardIndex(JsonDocument):
    """``index.json`` of a shard folder (docs/ARCHITECTURE.md, "TFRecord shards")."""

    KIND: ClassVar[str] = "shard index"
    ERROR: ClassVar[type] = DataIntegrityError
    FILE: ClassVar[str] = "index.json"
    REQUIRED: ClassVar[tuple[str, ...]] = ("schema_version", "inputs", "target", "shards")
    CHECKS: ClassVar[Checks] = {
        "task": (lambda v: v in TASKS, f"one of {', '.join(TASKS)}"),
        "inputs": NAMES,
        "target": (lambda v: isinstance(v, str), "an image name"),
        "layout": (lambda v: isinstance(v, str), "a layout name"),
        "patch_size": (_is_size, "[D, H, W]"),
        "crop_size": (_is_size, "[D, H, W]"),
        "example_shape": (_is_size, "[D, H, W]"),
        "overlap": (_is_number, "a number"),
        "augment": (_is_names, "a list of augmentation names"),
        "lesion_copies": (lambda v: _is_int(v) and v >= 1, "a whole number of at least 1"),
        "normalization": (_is_object, "the normalisation JSON object"),
        "subjects": (_is_names, "a list of subject ids"),
        "groups": (_is_object, "an object subject -> group"),
        "sessions": (_is_object, "an object session -> count"),
        "n_examples": (_is_int, "a whole number"),
        "compression": (lambda v: v in COMPRESSIONS, f"one of {COMPRESSIONS}"),
        "shards": (lambda v: isinstance(v, (list, tuple)) and all(map(_is_shard, v)),
                   "a list of {file, subject, count, sha256}"),
    }

    schema_version: int = SHARD_SCHEMA_VERSION
    task: str | None = None
    inputs: tuple[str, ...] = ()
    target: str = ""
    layout: str | None = None
    patch_size: tuple[int, ...] | None = None
    crop_size: tuple[int, ...] | None = None
    overlap: float | None = None
    augment: tuple[str, ...] = ()
    min_brain: float | None = None
    lesion_copies: int = 1
    example_shape: tuple[int, ...] | None = None
    normalization: Mapping | None = None
    fingerprint: Mapping | None = None
    subjects: tuple[str, ...] = ()
    groups: Mapping | None = None
    sessions: Mapping | None = None
    n_examples: int | None = None
    compression: str = ""
    shards: tuple[Mapping, ...] = ()
    write_seconds: float | None = None

    @classmethod
    def _check_version(cls, data: dict, where) -> None:
        if data.get("schema_version") != SHARD_SCHEMA_VERSION:
            raise cls.ERROR(f"schema version {data.get('schema_version')!r} is not {SHARD_SCHEMA_VERSION}; "
                            "rewrite the shards with this msgan", where)

    def subject_groups(self) -> dict[str, str | None]:
        """Subject id -> group (MS, HC or None: shards written before groups were recorded)."""
        if self.groups:
            return {str(k): v for k, v in self.groups.items()}
        ids = self.subjects or tuple(dict.fromkeys(s["subject"] for s in self.shards))
        return {str(s): None for s in ids}


@dataclass(frozen=True, eq=False, kw_only=True)
class RunConfig(JsonDocument):
    """``config.json`` of a run folder (docs/ARCHITECTURE.md, "Run folder"); the training
    options (:class:`~data_tools.contracts.TrainOptions` fields: loss, lr, epochs, ...) are
    stored beside the typed keys (in ``extra``) and read typed as :attr:`options`."""

    KIND: ClassVar[str] = "run configuration"
    ERROR: ClassVar[type] = InputFileError
    FILE: ClassVar[str] = "config.json"
    REQUIRED: ClassVar[tuple[str, ...]] = ("model", "inputs")
    CHECKS: ClassVar[Checks] = {
        "task": (lambda v: isinstance(v, str), "a task name"),
        "inputs": NAMES,
        "target": (lambda v: isinstance(v, str), "an image name"),
        "model": (lambda v: isinstance(v, str), "a model name"),
        "model_kwargs": (_is_object, "an object of hyperparameters"),
        "patch": (lambda v: (_is_int(v) and v > 0) or _is_size(v), "a size or [D, H, W]"),
        "train_subjects": (_is_names, "a list of subject ids"),
        "val_subjects": (_is_names, "a list of subject ids"),
        "fingerprint": (_is_object, "the fingerprint JSON object"),
    }

    task: str | None = None
    inputs: tuple[str, ...] = ()
    target: str | None = None
    layout: str | None = None
    patch: int | tuple[int, ...] | None = None
    fingerprint: Mapping | None = None
    model: str = ""
    model_kwargs: Mapping | None = None
    data: str | None = None
    train_subjects: tuple[str, ...] = ()
    val_subjects: tuple[str, ...] = ()

    @property
    def window(self) -> tuple[int, int, int] | None:
        """The training patch as a 3-tuple (the window of strided networks), None if whole."""
        if self.patch is None:
            return None
        return tuple(int(p) for p in self.patch) if isinstance(self.patch, tuple) else (int(self.patch),) * 3

    @property
    def hyperparameters(self) -> dict:
        return _plain(self.model_kwargs or {})

    @property
    def options(self) -> TrainOptions:
        """The training options the run was made with, typed (its per-stage settings:
        ``.stages()``); a key an older run's file lacks takes the option's default, and
        ``run`` (never stored: the folder itself) is empty."""
        names = {f.name for f in dataclasses.fields(TrainOptions)}
        stored = {key: value for key, value in self.to_dict().items() if key in names}
        return TrainOptions(**{"data": "", "run": "", **stored})


@dataclass(frozen=True, eq=False, kw_only=True)
class ModelCard(JsonDocument):
    """``assets/model_card.json`` of an exported SavedModel (docs/ARCHITECTURE.md, "Inference")."""

    KIND: ClassVar[str] = "model card"
    ERROR: ClassVar[type] = InputFileError
    FILE: ClassVar[str] = "model_card.json"
    REQUIRED: ClassVar[tuple[str, ...]] = ("task", "inputs", "target")
    CHECKS: ClassVar[Checks] = {
        "task": (lambda v: isinstance(v, str), "a task name"),
        "inputs": NAMES,
        "target": (lambda v: isinstance(v, str), "an image name"),
        "model": (lambda v: isinstance(v, str), "a model name"),
        "normalization": (_is_object, "the normalisation JSON object"),
        "window": (_is_object, "the window plan object"),
        "training_subjects": (_is_int, "a number of subjects"),
        "validation_subjects": (_is_int, "a number of subjects"),
        "validation_metrics": (_is_object, "an object metric -> value"),
        "precision": (lambda v: v in PRECISIONS, f"one of {', '.join(PRECISIONS)}"),
        "space": (lambda v: isinstance(v, str), "a space name (msgan.inference.spaces)"),
        "training_sessions": (_is_names, "a list of subject/session names"),
    }

    note: str | None = None
    format: str | None = None
    task: str = ""
    model: str | None = None
    inputs: tuple[str, ...] = ()
    target: str = ""
    target_units: str | None = None
    normalization: Mapping | None = None
    window: Mapping | None = None
    noise: Mapping | None = None
    precision: str | None = None  # the compute precision of predict_volume (None: written before it, float32)
    training_subjects: int | None = None
    validation_subjects: int | None = None
    validation_metrics: Mapping | None = None
    fingerprint: Mapping | None = None
    signatures: Mapping | None = None
    msgan_version: str | None = None
    tensorflow_version: str | None = None
    #: the space the training scans were in (``msgan synthesize`` registers raw scans to it)
    space: str | None = None
    #: the sessions the model trained on, ``subject/session``
    training_sessions: tuple[str, ...] | None = None


@dataclass(frozen=True, eq=False, kw_only=True)
class FoldPlan(JsonDocument):
    """``folds.json`` of a cross-validation folder (``msgan cv``; docs/ARCHITECTURE.md,
    "Run folder"): per fold its number and the held-out, validation and training ids."""

    KIND: ClassVar[str] = "cross-validation fold plan"
    ERROR: ClassVar[type] = InputFileError
    FILE: ClassVar[str] = "folds.json"
    REQUIRED: ClassVar[tuple[str, ...]] = ("folds",)
    CHECKS: ClassVar[Checks] = {
        "early_stop_on_test": (lambda v: isinstance(v, bool), "true or false"),
        "folds": (lambda v: isinstance(v, (list, tuple)) and len(v) > 0 and all(map(_is_fold, v)),
                  "a non-empty list of {fold, test, val, train}"),
    }

    early_stop_on_test: bool = False
    folds: tuple[Mapping, ...] = ()

    def fold(self, number: int) -> dict:
        """The fold numbered ``number`` as a fresh dict (``fold``, ``test``, ``val``, ``train``)."""
        for fold in self["folds"]:
            if fold["fold"] == number:
                return fold
        raise KeyError(number)
