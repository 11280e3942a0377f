"""`msgan train` end to end on tiny shards, with the real zoo and shard reader.

Runs once the foundation (shards) and models (zoo) branches are merged; until then the
modules it needs do not exist on this branch and it is skipped with that reason.
"""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

dataset_module = pytest.importorskip("data_tools.dataset", reason="needs data_tools.dataset (shards)")
pytest.importorskip("msgan.models", reason="needs msgan.models (the model zoo)")

from data_tools.cohort import open_cohort  # noqa: E402
from msgan.errors import ConfigError  # noqa: E402
from msgan.training import load_run  # noqa: E402
from msgan.training.presets import TrainOptions  # noqa: E402
from msgan.training.run import train  # noqa: E402


@pytest.fixture
def tiny_shards(tiny_cohort, tmp_path):
    out = tmp_path / "shards"
    dataset_module.build_shards(open_cohort(cohort=tiny_cohort), "flair", out, inputs=["T1", "T2"],
                                target="FLAIR", layout="whole", progress=False)
    return out


def test_train_resume_and_load_run(tiny_shards, tmp_path):
    run = tmp_path / "run"
    options = TrainOptions("fcn", str(tiny_shards), str(run), val_subjects=["p2"], epochs=2, lr=0.05,
                           model_kwargs={"filters": 4, "n_layers": 2}, progress=False)
    summary = train(options)
    (stage,) = summary["stages"]
    assert stage["epochs"] == 2 and np.isfinite(stage["best_val_mse"])
    config = json.loads((run / "config.json").read_text())
    assert config["train_subjects"] == ["c1", "p1"] and config["val_subjects"] == ["p2"]
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
