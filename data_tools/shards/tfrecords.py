"""TFRecord shards of training examples: writer, ``index.json``, integrity check, reader.

A shard folder holds ``shard-XXXXX-of-YYYYY.tfrecord`` files, ``index.json`` and
``normalization.json``. Each shard holds the examples of one subject only, so selecting
subjects (a cross-validation fold) selects whole files and a test subject can never
leak into training through a shared shard.

One example (a ``tf.train.Example``):

| feature | stored as |
| --- | --- |
| ``inputs`` | raw float32 bytes, ``shape + (C,)``, normalised, C in index order |
| ``target`` | raw float32 bytes, ``shape + (1,)``, normalised |
| ``brainmask``, ``roi`` | raw uint8 bytes, ``shape`` (ROI: 1 lesion, 2 NAWM, 3 other) |
| ``subject``, ``session`` | bytes |
| ``origin``, ``shape`` | int64 x 3: corner in the volume, example size |

Images stay float32 so an example reads back as exactly the normalised voxels; masks are
uint8 (a quarter of the size). Shards are uncompressed by default: the reader then runs
at disk speed; ``compression="GZIP"`` trades read speed for size (background compresses
well, noisy tissue hardly).
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import tensorflow as tf

from data_tools.contracts import COMPRESSIONS, SHARD_SCHEMA_VERSION, ShardIndex, look_up_option
from data_tools.errors import ConfigError, DataIntegrityError, InputFileError

SCHEMA_VERSION = SHARD_SCHEMA_VERSION
INDEX_NAME = ShardIndex.FILE
NORMALIZATION_NAME = "normalization.json"
READ_BUFFER = 8 << 20  # bytes per open shard; examples are ~5 MB (64^3 x 4 channels)
# Fixed parallelism instead of tf.data.AUTOTUNE: with autotuning on, ending an epoch's
# iterator blocked now and then for 35-50 s (most likely joining the tuner thread, which sleeps up
# to a minute between rounds) on TF 2.21 CPU, adding up to a third to short GAN runs;
# with fixed values, 7 epochs of a GAN-like consumer on 2 cores took as long per epoch
# (106-111 s) with no stall, against 1 stall in 8 epochs (2 in 2 after a take()) autotuned.
PARALLEL_CALLS = max(1, min(os.cpu_count() or 1, 8))
PREFETCH_BATCHES = 2


def shard_name(number: int, total: int) -> str:
    return f"shard-{number:05d}-of-{total:05d}.tfrecord"


def sha256_of(path: Path, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _bytes(value: bytes) -> tf.train.Feature:
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))


def _ints(values: Sequence[int]) -> tf.train.Feature:
    return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(v) for v in values]))


def serialize_example(inputs: np.ndarray, target: np.ndarray, brainmask: np.ndarray, roi: np.ndarray,
                      subject: str, session: str, origin: Sequence[int]) -> bytes:
    """One example as bytes; ``inputs`` is ``(D, H, W, C)``, the others ``(D, H, W)``."""
    shape = inputs.shape[:3]
    for name, arr in (("target", target), ("brainmask", brainmask), ("roi", roi)):
        if arr.shape[:3] != shape:
            raise ConfigError(f"{name} shape {arr.shape} differs from inputs {inputs.shape}")
    feature = {
        "inputs": _bytes(np.ascontiguousarray(inputs, np.float32).tobytes()),
        "target": _bytes(np.ascontiguousarray(target, np.float32).tobytes()),
        "brainmask": _bytes(np.ascontiguousarray(brainmask, np.uint8).tobytes()),
        "roi": _bytes(np.ascontiguousarray(roi, np.uint8).tobytes()),
        "subject": _bytes(subject.encode()),
        "session": _bytes(session.encode()),
        "origin": _ints(origin),
        "shape": _ints(shape),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


class ShardWriter:
    """Writes examples into shards of at most ``shard_size`` examples, one subject per shard.

    Shards are written under temporary names (``.partial``) and renamed to
    ``shard-XXXXX-of-YYYYY.tfrecord`` by :meth:`close`, once the total is known.
    Use inside :func:`data_tools.io.atomic.atomic_output_dir` for an all-or-nothing folder.
    """

    def __init__(self, folder: str | Path, shard_size: int = 32, compression: str = ""):
        if shard_size < 1:
            raise ConfigError(f"shard size must be at least 1, got {shard_size}")
        look_up_option(compression, COMPRESSIONS, "compression")
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.shard_size = shard_size
        self.compression = compression
        self._writer = None
        self._partials: list[dict] = []  # {"path", "count", "subject"}
        self.shards: list[dict] = []

    def _open(self, subject: str) -> None:
        self._close_current()
        path = self.folder / f".shard-{len(self._partials):05d}.tfrecord.partial"
        options = tf.io.TFRecordOptions(compression_type=self.compression)
        self._writer = tf.io.TFRecordWriter(str(path), options)
        self._partials.append({"path": path, "count": 0, "subject": subject})

    def _close_current(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def write(self, record: bytes, subject: str) -> None:
        current = self._partials[-1] if self._partials else None
        if (self._writer is None or current["subject"] != subject
                or current["count"] >= self.shard_size):
            self._open(subject)
        self._writer.write(record)
        self._partials[-1]["count"] += 1

    def close(self) -> list[dict]:
        """Finish, rename, hash; returns ``[{"file", "subject", "count", "sha256", "bytes"}]``."""
        self._close_current()
        total = len(self._partials)
        for number, part in enumerate(self._partials):
            final = self.folder / shard_name(number, total)
            os.replace(part["path"], final)
            self.shards.append({"file": final.name, "subject": part["subject"], "count": part["count"],
                                "sha256": sha256_of(final), "bytes": final.stat().st_size})
        self._partials = []
        return self.shards


def write_index(folder: str | Path, index: dict) -> Path:
    """Write ``index.json`` (``schema_version`` added), checked as :class:`ShardIndex`."""
    path = Path(folder) / INDEX_NAME
    return ShardIndex.from_dict({"schema_version": SCHEMA_VERSION, **index}, path).to_json(path)


def read_index(folder: str | Path) -> ShardIndex:
    """The shard folder's checked ``index.json`` (a read-only mapping of its keys); a
    missing, corrupt, foreign or old index is one error naming it."""
    path = Path(folder) / INDEX_NAME
    if not Path(folder).is_dir():
        raise InputFileError("shard folder not found", folder)
    if not path.is_file():
        raise InputFileError("no index.json: not a msgan shard folder", folder)
    return ShardIndex.from_json(path)


def verify_shards(folder: str | Path, shards: Iterable[dict] | None = None) -> None:
    """Check each shard's size and sha256 against ``index.json``; raise naming the first bad one."""
    folder = Path(folder)
    if shards is None:
        shards = read_index(folder).shards
    for shard in shards:
        path = folder / shard["file"]
        if not path.is_file():
            raise DataIntegrityError("shard listed in index.json is missing", path)
        size = path.stat().st_size
        if "bytes" in shard and size != shard["bytes"]:
            raise DataIntegrityError(f"shard is truncated or altered ({size} bytes, index says "
                                     f"{shard['bytes']})", path)
        if sha256_of(path) != shard["sha256"]:
            raise DataIntegrityError("shard is corrupted (sha256 differs from index.json)", path)


def _select_shards(index: ShardIndex, subjects, exclude_subjects, folder: Path) -> list[dict]:
    known = set(index.subject_groups())
    wanted = None if subjects is None else {s.removeprefix("sub-") for s in subjects}
    excluded = {s.removeprefix("sub-") for s in (exclude_subjects or [])}
    unknown = ((wanted or set()) | excluded) - known
    if unknown:
        raise ConfigError(f"subject(s) {', '.join(sorted(unknown))} not in the shards "
                          f"(have {', '.join(sorted(known))})")
    chosen = [dict(s) for s in index.shards
              if (wanted is None or s["subject"] in wanted) and s["subject"] not in excluded]
    if not chosen:
        raise ConfigError(f"{folder}: the subject selection leaves no examples")
    return chosen


def _parser(n_inputs: int, fixed_shape: Sequence[int] | None):
    spec = {
        "inputs": tf.io.FixedLenFeature([], tf.string),
        "target": tf.io.FixedLenFeature([], tf.string),
        "brainmask": tf.io.FixedLenFeature([], tf.string),
        "roi": tf.io.FixedLenFeature([], tf.string),
        "subject": tf.io.FixedLenFeature([], tf.string),
        "session": tf.io.FixedLenFeature([], tf.string),
        "origin": tf.io.FixedLenFeature([3], tf.int64),
        "shape": tf.io.FixedLenFeature([3], tf.int64),
    }

    def parse(record):
        ex = tf.io.parse_single_example(record, spec)
        shape = tf.cast(ex["shape"], tf.int32)

        def decode(key, dtype, channels):
            flat = tf.io.decode_raw(ex[key], dtype)
            out = tf.reshape(flat, tf.concat([shape, [channels]], 0))
            if fixed_shape is not None:
                out.set_shape(tuple(fixed_shape) + (channels,))
            return out

        return {
            "inputs": decode("inputs", tf.float32, n_inputs),
            "target": decode("target", tf.float32, 1),
            "brainmask": tf.cast(decode("brainmask", tf.uint8, 1), tf.float32),
            "roi": tf.cast(decode("roi", tf.uint8, 1), tf.int32),
            "subject": ex["subject"],
            "session": ex["session"],
            "origin": tf.cast(ex["origin"], tf.int32),
        }

    return parse


def make_dataset(folder: str | Path, subjects: Iterable[str] | None = None,
                 exclude_subjects: Iterable[str] | None = None, batch_size: int = 1,
                 shuffle: bool = True, deterministic: bool = False, repeat: bool = False,
                 seed: int = 0, shuffle_buffer: int = 64, verify: bool = True) -> tf.data.Dataset:
    """A ``tf.data`` pipeline of batched example dicts (docs/ARCHITECTURE.md, TFRecord shards).

    Shards of the selected subjects (``subjects`` to keep, ``exclude_subjects`` to drop,
    ids with or without ``sub-``) are checked against their sha256 first (``verify``),
    then interleaved, parsed in parallel, shuffled (``shuffle_buffer`` examples), batched
    and prefetched. ``deterministic=True`` fixes the order for a given ``seed``;
    ``shuffle=False`` gives the writing order (subjects, sessions, grid order).
    """
    folder = Path(folder)
    index = read_index(folder)
    chosen = _select_shards(index, subjects, exclude_subjects, folder)
    if verify:
        verify_shards(folder, chosen)
    files = [str(folder / s["file"]) for s in chosen]
    fixed = None if index.example_shape is None else list(index.example_shape)
    parse = _parser(len(index.inputs), fixed)
    compression = index.compression

    files_ds = tf.data.Dataset.from_tensor_slices(files)
    if shuffle:
        files_ds = files_ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    if shuffle or not deterministic:
        ds = files_ds.interleave(
            lambda f: tf.data.TFRecordDataset(f, compression_type=compression, buffer_size=READ_BUFFER),
            cycle_length=min(len(files), 4), block_length=1,
            num_parallel_calls=min(len(files), 4, PARALLEL_CALLS), deterministic=deterministic)
    else:  # the writing order, file after file
        ds = tf.data.TFRecordDataset(files, compression_type=compression, buffer_size=READ_BUFFER)
    ds = ds.map(parse, num_parallel_calls=PARALLEL_CALLS, deterministic=deterministic)
    if shuffle:
        ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    ds = ds.batch(batch_size, drop_remainder=False)
    options = tf.data.Options()
    options.deterministic = deterministic
    options.autotune.enabled = False
    ds = ds.with_options(options)
    return ds.prefetch(PREFETCH_BATCHES)
