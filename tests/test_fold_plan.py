"""``folds.json`` (``msgan cv``) as a typed document: ``FoldPlan.to_json`` is its only writer,
``from_json`` checks it once (a bad file is one error naming it, exit 2 at the CLI)."""
from __future__ import annotations

import dataclasses
import json

import pytest

from data_tools.contracts import FoldPlan
from data_tools.errors import InputFileError
from msgan.training.cv import plan_folds

GROUPS = {"ms1": "MS", "ms2": "MS", "ms3": "MS", "ms4": "MS", "hc1": "HC", "hc2": "HC"}


def _plan(early_stop_on_test=False) -> dict:
    return {"early_stop_on_test": early_stop_on_test,
            "folds": plan_folds(GROUPS, 2, val_per_fold=1, early_stop_on_test=early_stop_on_test)}


def test_the_plan_msgan_cv_writes_round_trips_byte_for_byte(tmp_path):
    data = _plan()
    path = FoldPlan.from_dict(data).to_json(tmp_path / FoldPlan.FILE)
    # the bytes msgan cv wrote before the document existed
    assert path.read_text() == json.dumps(data, indent=2) + "\n"
    plan = FoldPlan.from_json(path)
    assert plan.early_stop_on_test is False and len(plan.folds) == 2
    first = plan.fold(1)
    assert first == data["folds"][0] and set(first) == {"fold", "test", "val", "train"}
    held_out = [s for fold in plan["folds"] for s in fold["test"]]
    assert sorted(held_out) == sorted(GROUPS)  # every subject is held out exactly once
    first["test"].append("intruder")  # a caller's copy: the document does not change
    assert "intruder" not in plan.fold(1)["test"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.folds = ()
    with pytest.raises(KeyError):
        plan.fold(3)


@pytest.mark.parametrize("content", [
    "{\"folds\": [", "[1, 2]", b"\xff\xfe\x00", "{\"early_stop_on_test\": false}", "{\"folds\": []}",
    "{\"folds\": [{\"fold\": 1, \"test\": \"ms1\", \"val\": [], \"train\": []}]}",
    "{\"folds\": [{\"fold\": \"one\", \"test\": [], \"val\": [], \"train\": []}]}",
    "{\"early_stop_on_test\": \"yes\", \"folds\": [{\"fold\": 1, \"test\": [], \"val\": [], \"train\": []}]}",
], ids=["truncated", "not an object", "binary", "no folds", "empty", "ids not a list", "fold not a number",
        "flag not a boolean"])
def test_a_bad_fold_plan_is_one_error_naming_it(tmp_path, content):
    path = tmp_path / FoldPlan.FILE
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(InputFileError) as caught:
        FoldPlan.from_json(path)
    assert caught.value.path == str(path) and "\n" not in caught.value.message
    assert caught.value.exit_code == 2


def test_an_absent_fold_plan_is_one_error_naming_it(tmp_path):
    with pytest.raises(InputFileError) as caught:
        FoldPlan.from_json(tmp_path / "cv" / FoldPlan.FILE)
    assert caught.value.path == str(tmp_path / "cv" / FoldPlan.FILE)
