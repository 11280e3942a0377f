"""How a cohort becomes shards: :class:`ShardSpec`, the one settings type of ``msgan
make-tfrecords``, the experiments and :func:`data_tools.shards.dataset.build_shards`, its
defaults written once (docs/ARCHITECTURE.md, "TFRecord shards")."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Mapping, Sequence

#: the three input geometries of the thesis (``data_tools.shards.patches``)
LAYOUTS = ("whole", "crop", "patches")
DEFAULT_CROP = (128, 160, 128)  # ch. 3, sec. 3.3.1
DEFAULT_PATCH = (64, 64, 64)  # ch. 4, sec. 4.3.1
DEFAULT_OVERLAP = 0.5  # ch. 4, sec. 4.3.1


@dataclass(frozen=True)
class ShardSpec:
    """What :func:`~data_tools.shards.dataset.build_shards` writes.

    ``inputs``/``target``: names (a list or ``"T1,T2"``; None: the task's); ``layout``:
    ``whole`` (ch. 2), ``crop`` of ``crop`` size (ch. 3) or ``patches`` of ``patch`` size at
    ``overlap`` (ch. 4, the default), sizes as one integer or D,H,W; ``augment``: the five
    variants of sec. 4.3.1 (patches only); ``min_brain``: the least brain fraction of a kept
    patch; ``lesion_copies``: how many times an example holding lesion voxels is written;
    ``normalize``: a ``data_tools.shards.normalize.NORMALIZE_CHOICES`` name; ``session`` and
    ``subjects``: only those (None: all). Values are checked by ``build_shards``."""

    task: str
    inputs: Sequence[str] | str | None = None
    target: str | None = None
    layout: str = "patches"
    crop: Sequence[int] | int | str = DEFAULT_CROP
    patch: Sequence[int] | int | str = DEFAULT_PATCH
    overlap: float = DEFAULT_OVERLAP
    augment: bool = False
    min_brain: float = 0.0
    lesion_copies: int = 1
    normalize: str = "global"
    shard_size: int = 32
    compression: str = ""
    session: str | None = None
    subjects: Sequence[str] | None = None

    def merged(self, *layers: Mapping) -> "ShardSpec":
        """A copy with each layer applied in turn, later ones winning (a preset's shard
        settings, then the options given explicitly); a None value changes nothing."""
        changes: dict = {}
        for layer in layers:
            changes.update({key: value for key, value in layer.items() if value is not None})
        return dataclasses.replace(self, **changes)
