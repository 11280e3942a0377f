"""`msgan train` and `msgan cv` end to end on tiny shards, with the real zoo and shard reader."""
from __future__ import annotations

import csv
import dataclasses
import json

import numpy as np
import pytest

from msgan.errors import ConfigError
from msgan.training import load_run
from msgan.training.cv import cross_validate
from msgan.training.presets import TrainOptions
from msgan.training.run import train


def test_train_resume_and_load_run(tiny_shards, tmp_path):
    run = tmp_path / "run"
    options = TrainOptions("fcn", str(tiny_shards), str(run), val_subjects=["p2"], epochs=2, lr=0.05,
                           model_kwargs={"filters": 4, "n_layers": 2}, progress=False)
    summary = train(options)
    (stage,) = summary["stages"]
    assert stage["epochs"] == 2 and np.isfinite(stage["best_val_mse"])
    config = json.loads((run / "config.json").read_text())
    assert config["train_subjects"] == ["c1", "p1"] and config["val_subjects"] == ["p2"]
    # what the shards' sessions look like travels with the run (data_tools.io.fingerprint)
    assert config["fingerprint"]["sessions"] == 3 and config["fingerprint"]["voxel_size"]["min"] == [2.0] * 3
    assert config["fingerprint"]["brain_extracted"] == [True]
    assert (run / "normalization.json").read_text() == (tiny_shards / "normalization.json").read_text()

    model, config, normalizer = load_run(run)
    assert normalizer is not None and model.count_params() > 0

    again = train(dataclasses.replace(options, resume=True))  # a finished run: nothing to redo
    assert again["stages"][0]["steps"] == stage["steps"]
    with pytest.raises(ConfigError, match="model_kwargs"):
        train(dataclasses.replace(options, resume=True, model_kwargs={"filters": 8, "n_layers": 2}))


def test_a_single_voxel_batch_norm_bottleneck_is_refused(tiny_shards, tmp_path):
    # 16^3 examples, batch 1: the CF-SAGAN's 4-level encoder ends on one voxel, where batch
    # norm would turn every input into its offset in training and predictions into nonsense
    run = tmp_path / "run"
    tiny = {"generator_kwargs": {"base_filters": 4},
            "discriminator_kwargs": {"base_filters": 4, "patch_size": 16}}
    options = TrainOptions("cfsagan", str(tiny_shards), str(run), epochs=1, batch=1,
                           model_kwargs=tiny, progress=False)
    with pytest.raises(ConfigError, match="one value per channel.*at least 32 voxels"):
        train(options)
    assert not run.exists()
    # the 3-level U-Net keeps 2^3 voxels at its bottom: allowed
    summary = train(dataclasses.replace(options, model="unet", model_kwargs={"base_filters": 4},
                                        overwrite=True))
    assert (run / "model.weights.h5").exists() and summary["model"] == "unet"


def test_chapter_3_cross_validation_holds_out_whole_subjects_and_no_validation(tiny_shards, tmp_path):
    """The fold loop end to end (sec. 3.3.1): every subject is tested exactly once, by a
    model whose run never saw it, and a ch. 3 model takes no validation subjects out of
    its training folds (2/3 train, 1/3 test), so every non-test subject trains."""
    root = tmp_path / "cv"
    options = TrainOptions("unet", str(tiny_shards), str(root), epochs=1, lr=1e-3, progress=False,
                           model_kwargs={"base_filters": 2, "levels": 2})
    rows = cross_validate(options, folds=3)
    plan = json.loads((root / "folds.json").read_text())["folds"]
    subjects = {"c1", "p1", "p2"}
    assert sorted(s for fold in plan for s in fold["test"]) == sorted(subjects)
    for fold, row in zip(plan, rows):
        config = json.loads((root / f"fold-{fold['fold']}" / "config.json").read_text())
        assert fold["val"] == [] and config["val_subjects"] == []
        assert sorted(config["train_subjects"]) == sorted(subjects - set(fold["test"]))
        assert config["keep_best"] is False  # fixed epochs, last weights, as the GANs
        assert row["best_val_mse"] is None and np.isfinite(row["test_mse"])
    table = {r["fold"]: r for r in csv.DictReader(open(root / "results.csv"))}
    assert table["mean"]["best_val_mse"] == "" and float(table["mean"]["test_mse"]) > 0


def test_init_weights_starts_from_a_finished_run_and_refuses_another_model(tiny_shards, tmp_path):
    import keras

    from msgan.cli import main

    tiny = {"filters": 4, "n_layers": 2}
    first = TrainOptions("fcn", str(tiny_shards), str(tmp_path / "first"), epochs=1, lr=0.05,
                         early_stopping=False, model_kwargs=tiny, progress=False)
    train(first)
    pretrained, first_config, _ = load_run(tmp_path / "first")
    assert "init_weights" not in first_config.to_dict()  # absent unless given
    # A learning rate too small to move anything and another seed: the second run ends
    # where the first did only if it started there.
    second = dataclasses.replace(first, run=str(tmp_path / "second"), lr=1e-12, seed=1,
                                 init_weights=str(tmp_path / "first"))
    train(second)
    tuned, config, _ = load_run(tmp_path / "second")
    for a, b in zip(pretrained.get_weights(), tuned.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert config["init_weights"] == str((tmp_path / "first").resolve())
    keras.backend.clear_session()
    # Another model (or inputs) cannot start from it: exit 2 naming the run's config, no folder.
    with pytest.raises(SystemExit) as refused:
        main(["train", "--model", "unet", "--data", str(tiny_shards), "--run", str(tmp_path / "other"),
              "--epochs", "1", "--model-kwargs", '{"base_filters": 4}', "--no-progress",
              "--init-weights", str(tmp_path / "first")])
    assert refused.value.code == 2 and not (tmp_path / "other").exists()
