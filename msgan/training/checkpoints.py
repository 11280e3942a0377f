"""Checkpoints of a training stage, resume, and the NaN/Inf guard (issue 5, item 5).

A checkpoint holds the stage's models and optimisers, the global step, the epoch and
the position inside it, the seed and the number of non-finite events so far. All
randomness the engine itself draws (label smoothing) is stateless and keyed on (seed,
step), and each epoch's data order is a function of (seed, epoch); so step + seed *is*
the RNG state, and a resumed run replays exactly what the uninterrupted run did.
"""
from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

import tensorflow as tf

from data_tools.io.full_disk import full_disk_error
from msgan.errors import TrainingError

log = logging.getLogger(__name__)

#: A non-finite loss is survived this many times (restore + halve the learning rate);
#: the next one stops the run.
MAX_NONFINITE_RECOVERIES = 2
#: At most this many named losses per step (a GAN step reports 4 or 5).
MAX_LOSSES = 16


class TrainingState:
    """Counters and a ``tf.train.CheckpointManager`` over one stage's models and optimisers."""

    def __init__(self, step_object, directory: str | Path, seed: int = 0, max_to_keep: int = 3,
                 chief: bool = True):
        self.step_object = step_object
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.step_in_epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="step_in_epoch")
        self.seed = tf.Variable(int(seed), dtype=tf.int64, trainable=False, name="seed")
        self.nonfinite_events = tf.Variable(0, dtype=tf.int64, trainable=False, name="nonfinite")
        # Sums of each loss over the steps of the epoch so far: a resumed epoch's history.csv
        # row is then its mean over all its steps, as the uninterrupted run writes it.
        self.epoch_loss_names = tf.Variable("", dtype=tf.string, trainable=False, name="loss_names")
        self.epoch_loss_sums = tf.Variable(tf.zeros([MAX_LOSSES], tf.float64), trainable=False,
                                           name="loss_sums")
        self.checkpoint = tf.train.Checkpoint(
            step=self.step, epoch=self.epoch, step_in_epoch=self.step_in_epoch, seed=self.seed,
            nonfinite_events=self.nonfinite_events, epoch_loss_names=self.epoch_loss_names,
            epoch_loss_sums=self.epoch_loss_sums,
            **step_object.models, **step_object.optimizers)
        # Under multi-worker training every worker must save (collective ops), but only the
        # chief's files are kept; every worker restores from the chief's folder (shared).
        self.directory, self.chief = Path(directory), chief
        self.write_to = self.directory if chief else Path(tempfile.mkdtemp(prefix="msgan-ckpt-"))
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(self.write_to), max_to_keep=max_to_keep)

    def save(self) -> str:
        """Write a checkpoint. If that fails (a full disk), its half-written files
        (``ckpt-N_temp/``, ``ckpt-N.*``) are removed and the checkpoints before it stay as
        they were, for ``--resume``."""
        try:
            return self.manager.save()
        except Exception as exc:
            kept = {Path(path).name for path in self.manager.checkpoints}
            for partial in self.write_to.glob("ckpt-*"):
                if partial.name.split(".")[0] not in kept:
                    shutil.rmtree(partial, ignore_errors=True) if partial.is_dir() else partial.unlink()
            error = full_disk_error(exc, self.write_to, kept="the checkpoints before it are kept (--resume)")
            if error is not None:
                raise error from exc
            raise

    def restore_latest(self) -> bool:
        """Restore the newest checkpoint; False when there is none."""
        latest = tf.train.latest_checkpoint(str(self.directory))
        if latest is None:
            return False
        self.checkpoint.restore(latest).assert_existing_objects_matched()
        log.info("restored %s (step %d)", latest, int(self.step.numpy()))
        return True

    def epoch_sums(self) -> dict[str, float]:
        """The loss sums of the current epoch's steps so far (empty at an epoch's start)."""
        names = self.epoch_loss_names.numpy().decode()
        values = self.epoch_loss_sums.numpy()
        return {name: float(values[i]) for i, name in enumerate(names.split(",")) if name}

    def set_epoch_sums(self, sums: dict[str, float]) -> None:
        """Keep ``sums`` in the checkpoint (call before :meth:`save`)."""
        if len(sums) > MAX_LOSSES:
            raise ValueError(f"{len(sums)} losses; the checkpoint keeps {MAX_LOSSES}")
        values = list(sums.values()) + [0.0] * (MAX_LOSSES - len(sums))
        self.epoch_loss_names.assign(",".join(sums))
        self.epoch_loss_sums.assign(tf.constant(values, tf.float64))

    def learning_rates(self) -> dict[str, float]:
        return {name: float(opt.learning_rate.numpy()) for name, opt in self.step_object.optimizers.items()}

    def recover_from_nonfinite(self, losses: dict) -> None:
        """A loss was NaN/Inf: restore the last checkpoint and halve every learning rate.

        The halved rates are saved at once, so a later resume keeps them. Raises
        :class:`TrainingError` once the run has already recovered twice.
        """
        events = int(self.nonfinite_events.numpy()) + 1
        shown = ", ".join(f"{k}={float(v):.4g}" for k, v in losses.items())
        if events > MAX_NONFINITE_RECOVERIES:
            raise TrainingError(f"non-finite loss ({shown}) at step {int(self.step.numpy())} for the "
                                f"{events}rd time; stopping. Lower --lr or check the data "
                                f"(NaN voxels) and --resume", self.directory)
        if not self.restore_latest():
            raise TrainingError("non-finite loss before any checkpoint was written", self.directory)
        for name, opt in self.step_object.optimizers.items():
            opt.learning_rate.assign(opt.learning_rate * 0.5)
        self.nonfinite_events.assign(events)
        log.warning("non-finite loss (%s): restored step %d, learning rates halved to %s",
                    shown, int(self.step.numpy()), self.learning_rates())
        self.save()
