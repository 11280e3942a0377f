"""Run-level pieces: presets, subject split, run folder, per-kind wiring, CV folds, tuning, CLI."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from msgan.errors import ConfigError, OutputExistsError
from msgan.training.cv import make_folds, plan_folds, write_results
from msgan.training.presets import TrainOptions, default_val_per_fold
from msgan.training.run import open_run_dir, run_config, split_subjects, train_built_model
from msgan.training.strategy import choose_strategy
from msgan.training.tune import search
from training_toys import (ToyGan, dataset_fn, l1_loss, mse_loss, regressor, toy_adversarial,
                           toy_batches)

REPO = Path(__file__).resolve().parents[1]


def test_presets_follow_the_thesis():
    ch4 = TrainOptions("refiner_cfsagan", "shards", "run").resolved()
    assert (ch4.loss, ch4.refiner_loss, ch4.lr, ch4.refiner_lr, ch4.epochs) == ("l1", "nwl1", 1e-4, 5e-5, 370)
    assert (ch4.d_steps, ch4.label_smoothing, ch4.lambda_sketcher, ch4.lambda_refiner,
            ch4.refinements) == (2, True, 100.0, 100.0, 1)
    ch3 = TrainOptions("sketcher_refiner", "shards", "run").resolved()
    assert (ch3.refiner_loss, ch3.epochs, ch3.d_steps, ch3.label_smoothing) == ("wl1", 400, 1, False)
    alone = TrainOptions("refiner_cfsagan", "shards", "run", refinements=0).resolved()
    assert (alone.model, alone.d_steps, alone.epochs) == ("cfsagan", 2, 370)  # K = 0: the Sketcher
    fcn = TrainOptions("fcn", "shards", "run", val_subjects=["p2"]).resolved()
    assert (fcn.loss, fcn.optimizer, fcn.lr, fcn.batch, fcn.early_stopping) == ("mse", "sgd", 5e-4, 1, True)
    # one comparison, one rule: ch. 2 keeps its best validation epoch (early stopping);
    # ch. 3-4 supervised baselines keep their last weights, as the GANs they are compared with
    assert fcn.keep_best is True
    assert [TrainOptions(m, "shards", "run").resolved().keep_best for m in ("unet", "dnn2", "cgan")] == [False] * 3
    # cross-validation: no validation subjects in ch. 3 (sec. 3.3.1), 3 in ch. 4 (sec. 4.3.1)
    assert [default_val_per_fold(m) for m in ("dnn2", "unet", "cgan", "sketcher_refiner")] == [0] * 4
    assert [default_val_per_fold(m) for m in ("cfsagan", "refiner_cfsagan", "fcn")] == [3] * 3
    with pytest.raises(ConfigError, match="needs --val-subjects"):
        TrainOptions("fcn", "shards", "run").resolved()
    assert TrainOptions("unet", "shards", "run", loss="wl1").resolved().loss == "wl1"
    with pytest.raises(ConfigError, match="unknown model"):
        TrainOptions("resnet", "shards", "run").resolved()


def test_subject_split_checks_ids():
    opts = TrainOptions("unet", "shards", "run", val_subjects=["b"], exclude_subjects=["c"])
    assert split_subjects(["a", "b", "c", "d"], opts) == (["a", "d"], ["b"])
    with pytest.raises(ConfigError, match="zz not in the shards"):
        split_subjects(["a", "b"], TrainOptions("unet", "shards", "run", val_subjects=["zz"]))


def test_run_folder_is_protected_and_resume_checks_settings(tmp_path):
    run = tmp_path / "run"
    config = {"model": "fcn", "inputs": ["T1"], "train_subjects": ["a"]}
    open_run_dir(run, config, resume=False, overwrite=False)
    assert json.loads((run / "config.json").read_text()) == config
    with pytest.raises(OutputExistsError):
        open_run_dir(run, config, resume=False, overwrite=False)
    open_run_dir(run, config, resume=True, overwrite=False)  # same settings: fine
    with pytest.raises(ConfigError, match="model"):
        open_run_dir(run, {**config, "model": "unet"}, resume=True, overwrite=False)
    (run / "stale.txt").write_text("x")
    open_run_dir(run, config, resume=False, overwrite=True)
    assert not (run / "stale.txt").exists()
    with pytest.raises(ConfigError, match="nothing to resume"):
        open_run_dir(tmp_path / "new", config, resume=True, overwrite=False)


def test_resume_refuses_every_setting_that_changes_the_result(tmp_path):
    """The whole saved config is compared (settings added later too), not a hand-kept list."""
    index = {"task": "flair", "inputs": ["T1", "T2"], "target": "FLAIR", "layout": "patches", "patch_size": [8, 8, 8]}

    def config(**changes):
        opts = TrainOptions("cgan", "shards", str(tmp_path / "run"), **{"epochs": 2, **changes}).resolved()
        return run_config(opts, index, ["a"], [])

    run = tmp_path / "run"
    open_run_dir(run, config(), resume=False, overwrite=False)
    for changes, key in [({"lr": 1e-3}, "lr"), ({"optimizer": "sgd"}, "optimizer"),
                         ({"model_kwargs": {"base_filters": 8}}, "model_kwargs"),
                         ({"loss": "wl1"}, "loss"), ({"batch": 2}, "batch"), ({"seed": 3}, "seed"),
                         ({"d_steps": 2}, "d_steps"), ({"label_smoothing": True}, "label_smoothing")]:
        with pytest.raises(ConfigError) as exc:
            open_run_dir(run, config(**changes), resume=True, overwrite=False)
        assert f"{key} " in exc.value.message and "\n" not in exc.value.message
    with pytest.raises(ConfigError, match="lr 0.0001 -> 0.001; optimizer") as exc:
        open_run_dir(run, config(lr=1e-3, optimizer="sgd"), resume=True, overwrite=False)
    with pytest.raises(ConfigError, match="new_setting"):  # a key the saved run lacks
        open_run_dir(run, {**config(), "new_setting": 1}, resume=True, overwrite=False)
    open_run_dir(run, config(epochs=5, checkpoint_every=7), resume=True, overwrite=False)  # allowed
    assert json.loads((run / "config.json").read_text())["epochs"] == 5


def test_single_gan_kind_uses_its_preset(tmp_path):
    strategy = choose_strategy()
    keras.utils.set_random_seed(0)
    with strategy.scope():
        gan = ToyGan()
    requested = []

    def loss_for(name):
        requested.append(name)
        return l1_loss

    opts = TrainOptions("cfsagan", "shards", str(tmp_path), epochs=1, progress=False).resolved()
    before = [w.copy() for w in gan.generator.get_weights()]
    stages = train_built_model(strategy, gan, "gan", opts, dataset_fn(toy_batches(4)), None, tmp_path,
                               loss_for=loss_for, adversarial=toy_adversarial)
    assert requested == ["l1"] and [s["steps"] for s in stages] == [2]
    assert any(np.abs(a - b).max() > 0 for a, b in zip(before, gan.generator.get_weights()))
    rows = list(csv.DictReader(open(tmp_path / "history.csv")))
    assert rows[0]["stage"] == "stage-0" and float(rows[0]["train/d_loss"]) > 0


def test_folds_never_share_a_subject_and_spread_controls():
    # Chapter 2: 23 subjects, 5 of them controls, 5 folds -> one control per fold.
    groups = {f"p{i:02d}": "MS" for i in range(18)} | {f"c{i}": "HC" for i in range(5)}
    folds = make_folds(groups, 5, seed=1)
    flat = [s for f in folds for s in f]
    assert sorted(flat) == sorted(groups) and len(flat) == len(set(flat))
    assert [sum(s.startswith("c") for s in f) for f in folds] == [1, 1, 1, 1, 1]
    assert sorted(len(f) for f in folds) == [4, 4, 5, 5, 5]
    # Chapter 3: 28 subjects, 10 controls, 3 folds -> 4, 3, 3 controls.
    groups = {f"p{i:02d}": "MS" for i in range(18)} | {f"c{i}": "HC" for i in range(10)}
    folds = make_folds(groups, 3)
    assert sorted(sum(s.startswith("c") for s in f) for f in folds) == [3, 3, 4]
    assert sorted(len(f) for f in folds) == [9, 9, 10]


def test_fold_plan_validates_inside_the_training_folds_unless_asked():
    groups = {f"p{i}": "MS" for i in range(9)} | {f"c{i}": "HC" for i in range(3)}
    for fold in plan_folds(groups, 3, val_per_fold=3):
        assert len(fold["val"]) == 3 and not set(fold["val"]) & set(fold["test"])
        assert not set(fold["train"]) & (set(fold["val"]) | set(fold["test"]))
        assert any(s.startswith("c") for s in fold["val"])  # a control validates too
        assert len(fold["train"]) + 3 + len(fold["test"]) == 12
    for fold in plan_folds(groups, 3, early_stop_on_test=True):
        assert fold["val"] == fold["test"]


def test_cv_results_have_mean_and_sd_rows(tmp_path):
    rows = [{"fold": 1, "best_val_mse": 1.0, "test_mse": 2.0},
            {"fold": 2, "best_val_mse": 3.0, "test_mse": 4.0}]
    write_results(rows, tmp_path / "results.csv")
    out = {r["fold"]: r for r in csv.DictReader(open(tmp_path / "results.csv"))}
    assert float(out["mean"]["test_mse"]) == 3.0
    assert float(out["sd"]["test_mse"]) == pytest.approx(np.sqrt(2.0))  # sample SD of 2 and 4


def test_tuner_trains_each_trial_and_ranks_them(tmp_path):
    strategy = choose_strategy()
    train, val = dataset_fn(toy_batches(4)), dataset_fn(toy_batches(2, seed=3), shuffle=False)
    opts = TrainOptions("fcn", "shards", str(tmp_path), val_subjects=["v"], epochs=1, lr=0.05,
                        progress=False).resolved()

    def build_fn(kwargs):
        keras.utils.set_random_seed(0)
        with strategy.scope():
            return regressor(filters=kwargs["width"])

    def fit_fn(model, kwargs, trial_id):
        assert model.layers[1].filters == kwargs["width"]
        stages = train_built_model(strategy, model, "supervised", opts, train, val,
                                   tmp_path / f"trial-{trial_id}", loss_for=lambda name: mse_loss)
        return stages[-1]["best_val_mse"]

    rows = search({"width": [2, 3]}, build_fn, fit_fn, tmp_path, max_trials=2)
    assert sorted(r["width"] for r in rows) == [2, 3]
    assert rows[0]["val_mse"] <= rows[1]["val_mse"] and np.isfinite(rows[0]["val_mse"])
    table = list(csv.DictReader(open(tmp_path / "results.csv")))
    assert [int(r["width"]) for r in table] == [r["width"] for r in rows]
    with pytest.raises(OutputExistsError):
        search({"width": [2]}, build_fn, fit_fn, tmp_path, max_trials=1)


def run_cli(*args):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "msgan", *args], env=env, capture_output=True,
                          text=True, timeout=120)


def test_cli_help_and_bad_options(tmp_path):
    result = run_cli("train", "--help")
    assert result.returncode == 0 and "Isola" in result.stdout and "--resume" in result.stdout
    result = run_cli("train", "--model", "fcn", "--data", str(tmp_path), "--run", str(tmp_path / "r"))
    assert result.returncode == 2
    assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == [
        "error: early stopping (sec. 2.2.3) needs --val-subjects; or pass --no-early-stopping"]
    result = run_cli("cv", "--model", "unet", "--data", str(tmp_path), "--run", str(tmp_path / "r"),
                     "--model-kwargs", "{oops")
    assert result.returncode == 2 and "--model-kwargs is not JSON" in result.stderr
    assert not (tmp_path / "r").exists()
