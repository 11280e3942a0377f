"""The epoch loop shared by every stage: steps, validation, early stopping, checkpoints.

``fit`` drives one step object (:mod:`msgan.training.steps`) over ``train_data(epoch)``,
a function returning the epoch's batched dataset. Making the data a function of the
epoch (shuffle seeded by seed + epoch) is what lets a resumed run skip to the exact
batch where the checkpoint was taken and replay the uninterrupted run.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from msgan.errors import TrainingStopped
from msgan.training.checkpoints import TrainingState
from msgan.training.early_stopping import StripEarlyStopping
from msgan.training.records import Records
from msgan.training.steps import step_evaluator
from msgan.training.stop import stop_requested

log = logging.getLogger(__name__)

DatasetFn = Callable[[int], tf.data.Dataset]


@dataclass
class FitOptions:
    epochs: int
    steps_per_epoch: int | None = None  # None: one full pass over train_data(epoch)
    checkpoint_every: int = 200  # steps; a checkpoint is also written at each epoch's end
    early_stopping: StripEarlyStopping | None = None
    keep_best: bool = True  # end with the weights of the best validation epoch
    progress: bool = True


class _NonFinite(Exception):
    def __init__(self, losses):
        self.losses = losses


def _distribute(strategy, dataset: tf.data.Dataset):
    options = tf.data.Options()
    # Shards are few and uneven: split by batches, not files, across workers.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return strategy.experimental_distribute_dataset(dataset.with_options(options))


def best_weights_path(state: TrainingState, name: str) -> Path:
    return Path(state.directory) / f"best-{name}.weights.h5"


def validation_mse(strategy, evaluator, val_data: DatasetFn) -> tuple[float, dict | None]:
    """Mean squared error over every voxel of the validation data, and its first batch."""
    sse = count = 0.0
    first = None
    for batch in _distribute(strategy, val_data(0)):
        s, c = evaluator(batch)
        sse, count = sse + float(s), count + float(c)
    for batch in val_data(0).take(1):
        first = batch
    return (sse / count if count else math.nan), first


def fit(step_object, train_data: DatasetFn, state: TrainingState, options: FitOptions,
        val_data: DatasetFn | None = None, records: Records | None = None,
        on_step: Callable[[int, dict], None] | None = None) -> dict:
    """Train until ``options.epochs`` epochs are done (or early stopping); returns a summary.

    Continues from whatever ``state`` holds (restore it first to resume). A NaN/Inf loss
    restores the last checkpoint and halves the learning rates
    (:meth:`TrainingState.recover_from_nonfinite`). ``on_step(step, losses)`` is called
    after every step.
    """
    strategy = step_object.strategy
    evaluator = step_evaluator(strategy, step_object) if val_data is not None else None
    records = records or Records(state.directory, enabled=False)
    stopper = options.early_stopping
    if tf.train.latest_checkpoint(str(state.directory)) is None:
        state.save()  # the NaN guard always has something to go back to
    while True:
        # (Re)start from the state's position: after a resume or a NaN restore, redo the
        # work past the checkpoint, forget its records, replay the stopping rule.
        records.truncate_after(int(state.epoch.numpy()))
        past = [float(r["val_mse"]) for r in records.past_rows() if r.get("val_mse")]
        best = min(past, default=math.inf)
        stopped = stopper.replay(past) if stopper is not None else False
        try:
            while int(state.epoch.numpy()) < options.epochs and not stopped:
                stopped, val_mse = _run_epoch(step_object, train_data, state, options, val_data,
                                              evaluator, records, stopper, best, on_step)
                best = min(best, val_mse)
            break
        except _NonFinite as event:
            state.recover_from_nonfinite(event.losses)
    if options.keep_best and val_data is not None:
        for name, model in step_object.models.items():
            path = best_weights_path(state, name)
            if path.exists():
                model.load_weights(str(path))
    return {"epochs": int(state.epoch.numpy()), "steps": int(state.step.numpy()),
            "best_val_mse": best, "early_stopped": bool(stopped)}


def _train_steps(step_object, dataset, state, options, epoch, total, skip, on_step) -> tuple[dict, int, dict | None]:
    """The training steps of epoch ``epoch`` over ``dataset`` (``total`` batches, None: unknown;
    ``skip`` done before a resumed checkpoint): the loss sums, the number of steps they hold,
    and the last batch. Checkpoints every ``options.checkpoint_every`` steps and on a stop
    request (:class:`TrainingStopped`); a NaN/Inf loss raises :class:`_NonFinite`."""
    strategy = step_object.strategy
    sums = state.epoch_sums() if skip else {}  # the steps before a resumed checkpoint count too
    n = skip if sums else 0  # (a checkpoint from before msgan kept the sums has none)
    bar = tqdm(total=total, desc=f"epoch {epoch + 1}/{options.epochs}", leave=False,
               disable=not options.progress, unit="step")
    last_batch = None
    try:
        for batch in _distribute(strategy, dataset):
            losses = step_object.train(batch, state.step)
            values = {k: float(v) for k, v in losses.items()}
            if not all(np.isfinite(v) for v in values.values()):
                raise _NonFinite(values)
            state.step.assign_add(1)
            state.step_in_epoch.assign_add(1)
            for k, v in values.items():
                sums[k] = sums.get(k, 0.0) + v
            n += 1
            bar.update(1)
            bar.set_postfix(loss=f"{values['loss']:.4g}")
            if on_step is not None:
                on_step(int(state.step.numpy()), values)
            if options.checkpoint_every and int(state.step.numpy()) % options.checkpoint_every == 0:
                state.set_epoch_sums(sums)
                state.save()
            last_batch = batch
            if stop_requested(strategy):
                state.set_epoch_sums(sums)
                path = state.save()
                raise TrainingStopped(f"stopped by SIGTERM at epoch {epoch + 1}, step "
                                      f"{int(state.step.numpy())}; checkpoint {Path(path).name} saved, "
                                      "continue with --resume", state.directory)
    finally:
        bar.close()
    return sums, n, last_batch


def _run_epoch(step_object, train_data, state, options, val_data, evaluator, records,
               stopper, best, on_step) -> tuple[bool, float]:
    strategy = step_object.strategy
    epoch = int(state.epoch.numpy())
    skip = int(state.step_in_epoch.numpy())
    dataset = train_data(epoch).skip(skip)
    total = None
    if options.steps_per_epoch is not None:
        total = options.steps_per_epoch - skip
        dataset = dataset.take(total)
    start = time.perf_counter()
    sums, n, last_batch = _train_steps(step_object, dataset, state, options, epoch, total, skip, on_step)
    scalars = {f"train/{k}": v / max(n, 1) for k, v in sums.items()}
    scalars.update({f"lr/{k}": v for k, v in state.learning_rates().items()})
    scalars["seconds"] = time.perf_counter() - start
    stop, val_mse = False, math.inf
    image_batch = None
    if val_data is not None:
        val_mse, image_batch = validation_mse(strategy, evaluator, val_data)
        scalars["val_mse"] = val_mse
        if options.keep_best and val_mse < best and state.chief:
            for name, model in step_object.models.items():
                model.save_weights(str(best_weights_path(state, name)))
        if stopper is not None:
            stop = stopper.update(val_mse)
    elif last_batch is not None:
        image_batch = {k: strategy.experimental_local_results(v)[0] for k, v in last_batch.items()}
    images = None
    if image_batch is not None:
        images = {"input": image_batch["inputs"], "target": image_batch["target"],
                  "prediction": step_object.predict(image_batch)}
    records.epoch_end(epoch + 1, int(state.step.numpy()), scalars, step_object.models, images)
    state.epoch.assign_add(1)
    state.step_in_epoch.assign(0)
    state.set_epoch_sums({})
    state.save()
    log.info("epoch %d: %s", epoch + 1, ", ".join(f"{k}={v:.4g}" for k, v in scalars.items()))
    return stop, val_mse
