"""What a run records (issue 5, item 6): TensorBoard scalars and images, ``history.csv``.

Scalars per epoch: every training loss, the validation MSE, the learning rates and the
gamma of each self-attention layer (how much the attention branch contributes, eq. 4.3).
Images per epoch: the middle axial slice of the first input channel, the prediction and
the target of one validation (or training) batch.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import tensorflow as tf


def attention_gammas(model) -> dict[str, float]:
    """``{layer name: gamma}`` of every attention layer that exposes a ``gamma`` weight.

    Contract (docs/ARCHITECTURE.md): an attention layer's class name contains
    "Attention" and its residual scale (eq. 4.3) is the attribute ``gamma``; batch
    normalisation's gamma is not meant.
    """
    gammas = {}
    for layer in model._flatten_layers(include_self=False, recursive=True):
        gamma = getattr(layer, "gamma", None)
        if gamma is not None and "Attention" in type(layer).__name__:
            gammas[layer.name] = float(np.mean(np.asarray(gamma)))
    return gammas


def middle_slices(volume) -> np.ndarray:
    """``(B, D, H, W, C)`` -> the middle D slice of the first example and channel, scaled to [0, 1]."""
    array = np.asarray(volume)
    array = array[0, array.shape[1] // 2, :, :, :1]
    low, high = float(array.min()), float(array.max())
    return ((array - low) / (high - low if high > low else 1.0))[None].astype(np.float32)


class Records:
    """TensorBoard writer under ``logs/<stage>`` and ``history.csv`` rows (one per epoch)."""

    def __init__(self, run_dir: str | Path, stage: str = "train", enabled: bool = True):
        self.run_dir, self.stage, self.enabled = Path(run_dir), stage, enabled
        self.history_path = self.run_dir / "history.csv"
        self.writer = (tf.summary.create_file_writer(str(self.run_dir / "logs" / stage))
                       if enabled else None)

    def past_rows(self) -> list[dict]:
        """This stage's rows already in history.csv (to replay early stopping on resume)."""
        if not self.history_path.exists():
            return []
        with self.history_path.open(newline="") as handle:
            return [row for row in csv.DictReader(handle) if row.get("stage") == self.stage]

    def truncate_after(self, epoch: int) -> None:
        """Drop this stage's rows past ``epoch`` (work redone after restoring a checkpoint)."""
        if not self.enabled or not self.history_path.exists():
            return
        with self.history_path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        kept = [r for r in rows if r.get("stage") != self.stage or int(r["epoch"]) <= epoch]
        if len(kept) != len(rows):
            self._write_rows(kept)

    def _write_rows(self, rows: list[dict]) -> None:
        fields = []
        for row in rows:
            fields += [k for k in row if k not in fields]
        tmp = self.history_path.with_suffix(".csv.partial")
        with tmp.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields, restval="")
            writer.writeheader()
            writer.writerows(rows)
        tmp.replace(self.history_path)

    def epoch_end(self, epoch: int, step: int, scalars: dict, models: dict, images: dict | None = None):
        if not self.enabled:
            return
        scalars = dict(scalars)
        for name, model in models.items():
            for layer, gamma in attention_gammas(model).items():
                scalars[f"gamma/{name}/{layer}"] = gamma
        with self.writer.as_default(step=step):
            for key, value in scalars.items():
                tf.summary.scalar(key, value)
            for key, value in (images or {}).items():
                tf.summary.image(key, middle_slices(value))
        self.writer.flush()
        rows = []
        if self.history_path.exists():
            with self.history_path.open(newline="") as handle:
                rows = list(csv.DictReader(handle))
        rows.append({"stage": self.stage, "epoch": epoch, "step": step,
                     **{k: f"{v:.6g}" for k, v in scalars.items()}})
        self._write_rows(rows)
