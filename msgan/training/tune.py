"""Hyperparameter search with Keras Tuner (issue 5, item 8; Table 2.1, Fig. 2.3).

Each trial builds the model with one combination of the search space, trains it with
the same engine as ``msgan train`` (its run folder is ``<run>/trial-<id>``) and reports
its best validation MSE, the objective. ``results.csv`` lists every trial, best first.
"""
from __future__ import annotations

import csv
import dataclasses
import math
import shutil
from pathlib import Path
from typing import Callable

import keras_tuner as kt

from data_tools.io.atomic import atomic_output_file
from msgan.errors import ConfigError, OutputExistsError

#: model -> {msgan.models.build hyperparameter: values}. Ch. 2 varied the FCN's width
#: (filters per layer) and depth (conv layers, L); for the U-Net, its first block's width.
SEARCH_SPACES = {
    "fcn": {"filters": [32, 64, 96], "n_layers": [2, 3, 4, 6]},
    "unet": {"base_filters": [8, 16, 32]},
}


class EngineHyperModel(kt.HyperModel):
    """Builds with ``build_fn(model_kwargs)``, trains with ``fit_fn(model, model_kwargs, trial_id)``."""

    def __init__(self, space: dict, build_fn: Callable, fit_fn: Callable):
        super().__init__()
        self.space, self.build_fn, self.fit_fn = space, build_fn, fit_fn

    def _kwargs(self, hp):
        return {name: hp.Choice(name, values) for name, values in self.space.items()}

    def build(self, hp):
        return self.build_fn(self._kwargs(hp))

    def fit(self, hp, model, *args, trial_id="0", **kwargs):
        value = float(self.fit_fn(model, self._kwargs(hp), trial_id))
        # A diverged trial must lose, not crash the search.
        return {"val_mse": value if math.isfinite(value) else 1e30}


class _Tuner(kt.GridSearch):
    def run_trial(self, trial, *args, **kwargs):
        return super().run_trial(trial, *args, trial_id=trial.trial_id, **kwargs)


def search(space: dict, build_fn, fit_fn, run_dir: str | Path, max_trials: int, seed: int = 0,
           overwrite: bool = False) -> list[dict]:
    """Grid search over ``space`` (at most ``max_trials`` trials); returns rows, best first."""
    run_dir = Path(run_dir)
    if max_trials < 1:
        raise ConfigError("--max-trials must be at least 1")
    if run_dir.exists() and any(run_dir.iterdir()):
        if not overwrite:
            raise OutputExistsError("tuning folder exists; pass --overwrite to search again", run_dir)
        shutil.rmtree(run_dir)  # stale trial checkpoints would otherwise be resumed
    tuner = _Tuner(EngineHyperModel(space, build_fn, fit_fn), objective=kt.Objective("val_mse", "min"),
                   max_trials=max_trials, seed=seed, directory=str(run_dir), project_name="keras_tuner",
                   overwrite=overwrite)
    tuner.search()
    rows = []
    for trial in tuner.oracle.trials.values():
        rows.append({"trial": trial.trial_id, **trial.hyperparameters.values,
                     "val_mse": trial.score if trial.score is not None else math.nan,
                     "status": trial.status})
    rows.sort(key=lambda r: (not math.isfinite(r["val_mse"]), r["val_mse"]))
    with atomic_output_file(run_dir / "results.csv", overwrite=True) as tmp, tmp.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return rows


def tune(options, max_trials: int) -> list[dict]:
    """``msgan tune``: search ``SEARCH_SPACES[options.model]`` on the shards."""
    import keras

    from msgan.training import zoo
    from msgan.training.precision import check_precision
    from msgan.training.run import split_subjects, train_built_model
    from msgan.training.strategy import choose_strategy

    if options.model not in SEARCH_SPACES:
        raise ConfigError(f"msgan tune searches {' or '.join(SEARCH_SPACES)}, not {options.model!r}")
    opts = options.resolved()
    check_precision(opts.precision, opts.jit_compile)
    if not opts.val_subjects:
        raise ConfigError("msgan tune needs --val-subjects: the objective is the validation MSE")
    index = zoo.read_shard_index(opts.data)
    train_ids, val_ids = split_subjects(list(zoo.index_subjects(index)), opts)
    train_data, val_data = zoo.shard_datasets(opts.data, train_ids, val_ids, opts.batch, opts.seed,
                                              repeat=opts.steps_per_epoch is not None,
                                              contrast_augment=opts.contrast_augment)
    strategy = choose_strategy()
    run_dir = Path(opts.run)

    def build_fn(kwargs):
        keras.utils.set_random_seed(opts.seed)
        with strategy.scope():
            return zoo.build_model(opts.model, len(index.inputs), {**opts.model_kwargs, **kwargs}, opts.precision)

    def fit_fn(model, kwargs, trial_id):
        trial_opts = dataclasses.replace(opts, model_kwargs={**opts.model_kwargs, **kwargs})
        stages = train_built_model(strategy, model, "supervised", trial_opts, train_data, val_data,
                                   run_dir / f"trial-{trial_id}")
        return stages[-1]["best_val_mse"]

    return search(SEARCH_SPACES[opts.model], build_fn, fit_fn, run_dir, max_trials, opts.seed,
                  overwrite=opts.overwrite)
