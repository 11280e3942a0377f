"""The contracts between stages (data_tools.contracts): one task table, one check of
choices among names, one loss registry, typed shard index / run config / model card."""
from __future__ import annotations

import ast
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from data_tools.contracts import (LOSS_NAMES, TASK_NAMES, TASKS, ModelCard, RunConfig, ShardIndex, ShardSpec,
                                  TrainOptions, get_task, look_up_option)
from data_tools.errors import ConfigError, DataIntegrityError, InputFileError, MsganError
from msgan.cli import main

REPO = Path(__file__).resolve().parents[1]
SHIPPED_CARD = REPO / "msgan" / "saved_models" / "pib-mtr-fa-rd-ad" / "1" / "assets" / "model_card.json"

INDEX = {"schema_version": 1, "task": "myelin", "inputs": ["MTR", "FA", "RD", "AD"], "target": "PIB",
         "layout": "patches", "patch_size": [16, 16, 16], "crop_size": None, "overlap": 0.5, "augment": [],
         "min_brain": 0.0, "lesion_copies": 1, "example_shape": [16, 16, 16],
         "normalization": {"scope": "global", "region": "all", "stats": {"PIB": {"mean": 1.0, "std": 0.5}}},
         "fingerprint": {}, "subjects": ["a", "b"], "groups": {"a": "MS", "b": "HC"},
         "sessions": {"sub-a/ses-t0": 2, "sub-b/ses-t0": 1}, "n_examples": 3, "compression": "",
         "shards": [{"file": "shard-00000-of-00002.tfrecord", "subject": "a", "count": 2, "sha256": "0" * 64,
                     "bytes": 10},
                    {"file": "shard-00001-of-00002.tfrecord", "subject": "b", "count": 1, "sha256": "1" * 64,
                     "bytes": 5}],
         "write_seconds": 0.5}
CONFIG = {"task": "flair", "inputs": ["T1", "T2"], "target": "FLAIR", "layout": "whole", "patch": None,
          "fingerprint": None, "model": "fcn", "model_kwargs": {"filters": 2}, "loss": "mse", "lr": 0.0005,
          "epochs": 3, "data": "/shards", "train_subjects": ["a"], "val_subjects": ["b"]}
DOCUMENTS = [(ShardIndex, INDEX, DataIntegrityError), (RunConfig, CONFIG, InputFileError),
             (ModelCard, json.loads(SHIPPED_CARD.read_text()), InputFileError)]


def _one_line(exc: MsganError, path: Path) -> None:
    assert exc.path == str(path) and "\n" not in exc.message


# --- the task table ---------------------------------------------------------------------

def _task_option(command):
    return next(p for p in command.params if p.name in ("task", "expected_task"))


def test_every_cli_task_choice_comes_from_the_table():
    from msgan.cli.ablate import ablate_command
    from msgan.cli.data import make_tfrecords
    from msgan.cli.evaluate import evaluate_command
    from msgan.cli.predict import predict_command

    for command in (make_tfrecords, evaluate_command, predict_command):
        assert tuple(_task_option(command).type.choices) == TASK_NAMES
    # ablation scores one session: the tasks that relate visits are left out
    assert list(_task_option(ablate_command).type.choices) == ["flair", "myelin"]
    assert TASKS["myelin-longitudinal"].sessions == ("t0", "t1")


def _literal_task_collections(tree):
    """Dict/list/tuple/set literals naming two or more tasks (a task table written again)."""
    for node in ast.walk(tree):
        items = node.keys if isinstance(node, ast.Dict) else getattr(node, "elts", None)
        if not isinstance(node, (ast.Dict, ast.List, ast.Tuple, ast.Set)) or items is None:
            continue
        names = {i.value for i in items if isinstance(i, ast.Constant) and i.value in TASKS}
        if len(names) >= 2:
            yield node.lineno


def test_the_task_table_is_written_once():
    found = []
    for package in ("data_tools", "msgan", "scripts"):
        for path in sorted((REPO / package).rglob("*.py")):
            if "contracts" in path.parts:
                continue
            tree = ast.parse(path.read_text())
            found += [f"{path.relative_to(REPO)}:{line}" for line in _literal_task_collections(tree)]
    assert found == []
    # the check itself sees a table when there is one
    assert list(_literal_task_collections(ast.parse('T = {"flair": "FLAIR", "myelin": "PIB"}'))) == [1]


def test_task_defaults_and_unknown_task():
    from data_tools.shards.dataset import resolve_task

    class Session:  # a session holding some images, as Session.has sees them
        def __init__(self, *names):
            self.names = set(names)

        def has(self, name):
            return name in self.names

    sessions = [Session("T1", "T2", "DIR", "FLAIR"), Session("T1", "T2", "FLAIR")]
    assert resolve_task("flair", None, None, sessions) == (["T1", "T2"], "FLAIR")
    assert resolve_task("myelin", None, None, sessions) == (["MTR", "FA", "RD", "AD"], "PIB")
    with pytest.raises(ConfigError) as exc:
        get_task("pet")
    assert all(name in exc.value.message for name in TASK_NAMES) and "\n" not in exc.value.message
    # the shipped model card's units are the table's
    assert json.loads(SHIPPED_CARD.read_text())["target_units"] == TASKS["myelin"].target_units


def test_demo_uses_the_thesis_inputs():
    from msgan.experiments import demo

    assert demo.FLAIR_INPUTS == ["T1", "T2", "PD", "T1SE", "DIR"]  # sec. 2.2.3: no T1POST
    assert demo.MYELIN_INPUTS == list(TASKS["myelin"].inputs)
    assert set(TASKS["flair"].thesis_inputs) < set(TASKS["flair"].inputs)


# --- choices among names ------------------------------------------------------------------

def test_look_up_option():
    assert look_up_option("wl1", LOSS_NAMES, "loss") == "wl1"
    assert look_up_option("subject", {"global": 1, "subject": 2}) == 2
    with pytest.raises(ConfigError) as exc:
        look_up_option("l3", LOSS_NAMES, "loss", where="run/config.json")
    _one_line(exc.value, Path("run/config.json"))
    assert all(name in exc.value.problem for name in LOSS_NAMES)
    with pytest.raises(InputFileError):
        look_up_option(None, LOSS_NAMES, "loss", error=InputFileError)


def test_model_registry_table_and_unknown_model():
    import importlib

    from msgan.models import MODELS, build, model_kind

    for name, entry in MODELS.items():  # every row names a class that exists
        module, class_name = entry.cls.split(":")
        assert hasattr(importlib.import_module(f"msgan.models.{module}"), class_name), name
        assert model_kind(name) == entry.kind == MODELS[name][0]
        assert entry.kind not in ("gan", "two_stage_gan") or entry.family in ("unet", "cfsagan")
    with pytest.raises(ConfigError) as exc:
        build("resnet", 1)
    assert "fcn" in exc.value.message and "refiner_cfsagan" in exc.value.message


# --- the loss registry ---------------------------------------------------------------------

def test_losses_get_every_name_and_an_unknown_one():
    import keras

    from msgan import losses
    from msgan.training.zoo import reconstruction_loss

    rng = np.random.default_rng(0)
    y_true = rng.normal(size=(2, 4, 4, 4, 1)).astype("float32")
    y_pred = (y_true + rng.normal(size=y_true.shape)).astype("float32")
    roi = rng.integers(1, 4, size=y_true.shape).astype("int32")
    expected = {"mse": np.mean((y_true - y_pred) ** 2), "l1": np.mean(np.abs(y_true - y_pred))}
    assert tuple(losses.LOSSES) == LOSS_NAMES
    for name in LOSS_NAMES:
        loss = losses.get(name)
        value = float(keras.ops.convert_to_numpy(loss(y_true, y_pred, roi)))
        assert np.isfinite(value) and value > 0
        if name in expected:
            assert value == pytest.approx(expected[name], rel=1e-5)
        batch = {"target": y_true, "roi": roi}
        assert float(keras.ops.convert_to_numpy(reconstruction_loss(name)(batch, y_pred))) == pytest.approx(value)
    assert losses.get(losses.l1) is losses.l1
    with pytest.raises(ConfigError) as exc:
        losses.get("weighted_l2")
    assert all(name in exc.value.message for name in LOSS_NAMES)


# --- typed documents -------------------------------------------------------------------------

@pytest.mark.parametrize("cls, data, error", DOCUMENTS, ids=lambda x: getattr(x, "__name__", ""))
def test_document_round_trip(cls, data, error, tmp_path):
    path = tmp_path / cls.FILE
    document = cls.from_dict(data, path)
    document.to_json(path)
    assert json.loads(path.read_text()) == data and list(json.loads(path.read_text())) == list(data)
    again = cls.from_json(path)
    assert again == document and again.to_dict() == data
    assert again.inputs == tuple(data["inputs"])  # typed fields
    # read-only: a caller's changes to what it reads never reach the document
    again["inputs"].append("X")
    assert again["inputs"] == data["inputs"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        again.inputs = ("X",)


def test_the_shipped_model_card_loads_and_is_rewritten_byte_for_byte(tmp_path):
    card = ModelCard.from_json(SHIPPED_CARD)
    assert (card.task, card.target, card.inputs) == ("myelin", "PIB", ("MTR", "FA", "RD", "AD"))
    assert card.to_json(tmp_path / "card.json").read_bytes() == SHIPPED_CARD.read_bytes()


@pytest.mark.parametrize("cls, data, error", DOCUMENTS, ids=lambda x: getattr(x, "__name__", ""))
def test_bad_truncated_or_old_document_is_one_error_naming_it(cls, data, error, tmp_path):
    path = tmp_path / cls.FILE
    text = json.dumps(data, indent=2)
    required = cls.REQUIRED[-1]
    bad = {"truncated": text[: len(text) // 2], "not an object": "[1, 2]", "binary": b"\xff\xfe\x00",
           "lacks a key": json.dumps({k: v for k, v in data.items() if k != required}),
           "wrong type": json.dumps({**data, "inputs": "T1,T2"})}
    for case, content in bad.items():
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        with pytest.raises(error) as exc:
            cls.from_json(path)
        _one_line(exc.value, path)
    with pytest.raises(error) as exc:
        cls.from_json(tmp_path / "absent.json")
    _one_line(exc.value, tmp_path / "absent.json")


def test_old_shard_index_is_refused(tmp_path):
    path = tmp_path / "index.json"
    path.write_text(json.dumps({**INDEX, "schema_version": 0}))
    with pytest.raises(DataIntegrityError) as exc:
        ShardIndex.from_json(path)
    _one_line(exc.value, path)
    assert ShardIndex.from_dict(INDEX).subject_groups() == {"a": "MS", "b": "HC"}
    no_groups = {k: v for k, v in INDEX.items() if k != "groups"}  # shards written before groups
    assert ShardIndex.from_dict(no_groups).subject_groups() == {"a": None, "b": None}


def test_run_config_window_and_extra_options():
    config = RunConfig.from_dict({**CONFIG, "patch": [32, 32, 16]})
    assert config.window == (32, 32, 16) and config.extra["lr"] == 0.0005 and config["epochs"] == 3
    assert RunConfig.from_dict({**CONFIG, "patch": 8}).window == (8, 8, 8)
    assert RunConfig.from_dict(CONFIG).window is None
    assert config.replace(epochs=5)["epochs"] == 5 and config["epochs"] == 3


@pytest.mark.parametrize("content", ['{"task": "flair", "inputs": ["T1"', "[]", '{"inputs": ["T1"]}'],
                         ids=["truncated", "not an object", "no model"])
def test_corrupt_config_on_resume_is_one_line_and_exit_2(tiny_cohort, tmp_path, capsys, content):
    shards, run = tmp_path / "shards", tmp_path / "run"
    with pytest.raises(SystemExit) as exc:
        main(["make-tfrecords", "--cohort", str(tiny_cohort), "--task", "flair", "--inputs", "T1,T2",
              "--layout", "whole", "--out", str(shards)])
    assert exc.value.code == 0
    run.mkdir()
    (run / "config.json").write_text(content)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(["train", "--model", "fcn", "--data", str(shards), "--run", str(run), "--resume",
              "--no-early-stopping", "--epochs", "1", "--model-kwargs", '{"filters": 2, "n_layers": 1}',
              "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2 and len(err) == 1, err
    assert err[0].startswith(f"error: {run / 'config.json'}: ")
    assert (run / "config.json").read_text() == content and sorted(p.name for p in run.iterdir()) == ["config.json"]


def test_shard_spec_merges_a_preset_then_the_options_given():
    spec = ShardSpec("flair", inputs=["T1", "T2"])
    assert (spec.layout, spec.patch, spec.overlap, spec.normalize, spec.shard_size) == ("patches", (64, 64, 64), 0.5,
                                                                                         "global", 32)
    preset = {"normalize": "subject-all", "patch": 32, "min_brain": 0.25}
    merged = spec.merged(preset, {"patch": 16, "min_brain": None, "layout": None})
    assert (merged.normalize, merged.patch, merged.min_brain, merged.layout) == ("subject-all", 16, 0.25, "patches")
    assert merged.inputs == ["T1", "T2"] and spec.patch == (64, 64, 64)  # a copy: the spec is unchanged


def test_run_config_reads_its_training_options_typed_with_their_stages():
    two_stage = RunConfig.from_dict({**CONFIG, "model": "refiner_cfsagan", "loss": "l1", "refiner_loss": "nwl1",
                                     "lr": 1e-4, "refiner_lr": 5e-5, "refinements": 2, "lambda_refiner": 10.0})
    options = two_stage.options
    assert isinstance(options, TrainOptions) and options.model == "refiner_cfsagan" and options.data == "/shards"
    assert [(s.loss, s.lr, s.lam) for s in options.stages()] == [("l1", 1e-4, 100.0), ("nwl1", 5e-5, 10.0),
                                                                ("nwl1", 5e-5, 10.0)]
    # a run written before refiner_loss/refiner_lr existed: its keys absent, the Sketcher's apply
    old = RunConfig.from_dict({k: v for k, v in CONFIG.items() if k != "data"} | {"refinements": 1})
    assert old.options.data == "" and [(s.loss, s.lr) for s in old.options.stages()] == [("mse", 0.0005)] * 2
    assert [s.loss for s in RunConfig.from_dict(CONFIG).options.stages()] == ["mse"]


def test_contracts_sit_at_the_bottom_of_the_import_graph():
    import subprocess
    import sys

    code = ("import sys, data_tools.contracts\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('msgan', 'numpy', 'tensorflow', 'keras', 'nibabel') or "
            "(m.startswith('data_tools.') and not m.startswith(('data_tools.contracts', 'data_tools.errors')))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "[]"
