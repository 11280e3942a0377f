"""The real-flair preset (issue 19): shard settings, training settings, config.json round trip,
per-subject target normalisation, and the thesis's settings one option away."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from data_tools.shards.normalize import Normalizer
from data_tools.shards.patches import layout_origins
from msgan.cli import main
from msgan.errors import ConfigError
from msgan.training.presets import RECIPES, TrainOptions


def run_cli(args):
    with pytest.raises(SystemExit) as exc:
        main(args)
    return exc.value.code


def test_preset_replaces_the_thesis_defaults_and_explicit_options_win():
    thesis = TrainOptions("fcn", "d", "r", val_subjects=["x"]).resolved()
    assert (thesis.optimizer, thesis.lr, thesis.batch, thesis.early_stopping) == ("sgd", 5e-4, 1, True)
    real = TrainOptions("fcn", "d", "r", preset="real-flair").resolved()
    expected = RECIPES["real-flair"]["train"]
    assert {k: getattr(real, k) for k in expected} == expected
    assert TrainOptions("fcn", "d", "r", preset="real-flair", lr=3e-4).resolved().lr == 3e-4
    assert TrainOptions("fcn", "d", "r", val_subjects=["x"], preset="thesis").resolved() == \
        dataclasses.replace(thesis, preset="thesis")
    with pytest.raises(ConfigError, match="unknown preset"):
        TrainOptions("fcn", "d", "r", preset="fast").resolved()


def test_subject_all_standardises_the_target_per_image_and_inverts_with_pooled_statistics():
    brain = np.array([True, True, True, False])
    a, b = np.array([1.0, 2, 3, 0]), np.array([10.0, 30, 50, 0])
    norm = Normalizer.fit([("T1", a, brain), ("FLAIR", a, brain), ("FLAIR", b, brain)],
                          target="FLAIR", scope="subject-all", region="brain")
    assert set(norm.stats) == {"FLAIR"}
    # pooled brain values 1, 2, 3, 10, 30, 50: mean 16
    assert norm.stats["FLAIR"]["mean"] == pytest.approx(16.0)
    sd = np.sqrt(2 / 3)  # each image's own brain SD: sqrt(2/3) and 20 * sqrt(2/3)
    np.testing.assert_allclose(norm.apply("FLAIR", b, brain)[:3], [-1 / sd, 0, 1 / sd], rtol=1e-6)
    # another scanner's scale (b = 20 a - 10 inside the brain) gives the same z-scores
    np.testing.assert_allclose(norm.apply("FLAIR", a, brain)[:3], norm.apply("FLAIR", b, brain)[:3], rtol=1e-6)
    assert norm.is_per_image("FLAIR") and norm.is_per_image("T2")
    np.testing.assert_allclose(norm.invert("FLAIR", np.array([0.0, 1.0])),
                               [16.0, 16.0 + norm.stats["FLAIR"]["std"]], rtol=1e-6)
    assert Normalizer.from_dict(norm.to_dict()) == norm


def test_min_brain_drops_patches_of_mostly_background():
    brain = np.zeros((16, 16, 16), bool)
    brain[:8, :8, :8] = True
    brain[15, 0, 0] = True  # the bounding box spans axis 0: origins 0, 4 and 8 (flush with the end)
    every, _ = layout_origins("patches", brain, patch=8, overlap=0.5)
    assert [tuple(o) for o in every] == [(0, 0, 0), (4, 0, 0), (8, 0, 0)]
    # brain fractions: 512/512, 4 x 8 x 8 = 256/512 and 1/512
    kept, _ = layout_origins("patches", brain, patch=8, overlap=0.5, min_brain=0.01)
    assert [tuple(o) for o in kept] == [(0, 0, 0), (4, 0, 0)]
    kept, _ = layout_origins("patches", brain, patch=8, overlap=0.5, min_brain=0.6)
    assert [tuple(o) for o in kept] == [(0, 0, 0)]


def test_preset_round_trips_through_config_json(tiny_cohort, tmp_path):
    shards, run = tmp_path / "shards", tmp_path / "run"
    # 16^3 toy brains: 16^3 patches (the preset's 32^3 would hold under a quarter brain)
    assert run_cli(["make-tfrecords", "--cohort", str(tiny_cohort), "--task", "flair", "--inputs", "T1,T2",
                    "--out", str(shards), "--preset", "real-flair", "--patch", "16"]) == 0
    index = json.loads((shards / "index.json").read_text())
    assert index["normalization"]["scope"] == "subject-all" and index["min_brain"] == 0.25
    assert index["lesion_copies"] == 3 and index["patch_size"] == [16, 16, 16]
    # two patients with a lesion written 3 times, the control once
    assert index["n_examples"] == 7
    assert run_cli(["train", "--model", "fcn", "--data", str(shards), "--run", str(run), "--preset", "real-flair",
                    "--epochs", "1", "--steps-per-epoch", "2", "--batch", "2", "--model-kwargs", '{"filters": 4, "n_layers": 1}',
                    "--no-progress"]) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["preset"] == "real-flair" and config["optimizer"] == "adam" and config["lr"] == 1e-3
    fields = {f.name for f in dataclasses.fields(TrainOptions)}
    again = TrainOptions(**{k: v for k, v in config.items() if k in fields and k not in ("train_subjects",)},
                         run=str(run)).resolved()
    assert again == TrainOptions("fcn", config["data"], str(run), preset="real-flair", epochs=1, steps_per_epoch=2, batch=2,
                                 model_kwargs={"filters": 4, "n_layers": 1}).resolved()
    assert json.loads((run / "normalization.json").read_text())["scope"] == "subject-all"


def test_preset_refuses_shards_normalised_otherwise(tiny_cohort, tmp_path, capsys):
    shards = tmp_path / "shards"
    assert run_cli(["make-tfrecords", "--cohort", str(tiny_cohort), "--task", "flair", "--inputs", "T1,T2",
                    "--out", str(shards), "--patch", "16"]) == 0
    capsys.readouterr()
    assert run_cli(["train", "--model", "fcn", "--data", str(shards), "--run", str(tmp_path / "run"),
                    "--preset", "real-flair", "--epochs", "1", "--no-progress"]) == 2
    assert capsys.readouterr().err.startswith("error: ")
    assert not (tmp_path / "run").exists()
