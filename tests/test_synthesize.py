"""``msgan synthesize``: bad input is one line, exit 2, nothing written; the chain's checks.

The refusals happen before TensorFlow or the model is loaded, so a SavedModel folder here
is only its model card (and an empty ``saved_model.pb``). The chain on a real raw patient
is ``test_synthesize_real.py``.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import make_tiny_session, write_nifti
from data_tools.errors import ConfigError, ImageContentError
from msgan.cli import main
from msgan.inference.raw_chain import check_brain_volume, to_model_space


@pytest.fixture
def card_only_model(tmp_path):
    """A folder that reads as a T1+T2 -> FLAIR model trained in MNI152 space."""
    folder = tmp_path / "model" / "1"
    (folder / "assets").mkdir(parents=True)
    (folder / "saved_model.pb").write_bytes(b"")
    card = {"task": "flair", "inputs": ["T1", "T2"], "target": "FLAIR", "space": "mni152"}
    (folder / "assets" / "model_card.json").write_text(json.dumps(card))
    return folder


@pytest.fixture
def session(tmp_path):
    return make_tiny_session(tmp_path / "raw", names=("T1", "T2"))


def _run(capsys, *args):
    with pytest.raises(SystemExit) as caught:
        main(["synthesize", "--no-progress", *map(str, args)])
    err = capsys.readouterr().err.strip().splitlines()
    return caught.value.code, err[-1] if err else ""


def test_bad_input_is_one_line_exit_2_and_nothing_written(card_only_model, session, tmp_path, capsys):
    out = tmp_path / "flair.nii.gz"
    t1, t2 = f"T1={session['T1']}", f"T2={session['T2']}"
    four_d = write_nifti(tmp_path / "t2_4d.nii.gz", np.ones((8, 8, 8, 2), np.float32))
    two_d = write_nifti(tmp_path / "t2_2d.nii.gz", np.ones((8, 8), np.float32))
    cases = {
        "an input the model does not take": ([t1, t2, f"PD={session['T2']}"], "PD"),
        "a missing input": ([t1], "T2"),
        "a 4-D input": ([t1, f"T2={four_d}"], str(four_d)),
        "a 2-D input": ([t1, f"T2={two_d}"], str(two_d)),
        "not NAME=PATH": ([t1, str(session["T2"])], str(session["T2"])),
    }
    for what, (inputs, named) in cases.items():
        args = [a for i in inputs for a in ("--input", i)]
        code, line = _run(capsys, "--model", card_only_model, *args, "--out", out)
        assert code == 2 and named in line, (what, line)
        assert not out.exists(), what
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["model", "raw", "t2_4d.nii.gz", "t2_2d.nii.gz"])


def test_outputs_are_refused_before_any_work(card_only_model, session, tmp_path, capsys):
    inputs = ["--input", f"T1={session['T1']}", "--input", f"T2={session['T2']}"]
    before = session["T1"].read_bytes()
    code, line = _run(capsys, "--model", card_only_model, *inputs, "--out", session["T1"], "--overwrite")
    assert code == 2 and str(session["T1"]) in line and session["T1"].read_bytes() == before
    existing = tmp_path / "exists.nii.gz"
    existing.write_bytes(b"keep")
    code, line = _run(capsys, "--model", card_only_model, *inputs, "--out", existing)
    assert code == 2 and str(existing) in line and existing.read_bytes() == b"keep"
    code, line = _run(capsys, "--model", card_only_model, *inputs, "--out", tmp_path / "o.nii.gz",
                      "--reference", "FLAIR")
    assert code == 2 and "FLAIR" in line and not (tmp_path / "o.nii.gz").exists()


def test_a_model_without_a_space_is_refused(card_only_model, session, tmp_path, capsys):
    card = card_only_model / "assets" / "model_card.json"
    card.write_text(json.dumps({k: v for k, v in json.loads(card.read_text()).items() if k != "space"}))
    code, line = _run(capsys, "--model", card_only_model, "--input", f"T1={session['T1']}",
                      "--input", f"T2={session['T2']}", "--out", tmp_path / "o.nii.gz")
    assert code == 2 and str(card_only_model) in line and not (tmp_path / "o.nii.gz").exists()


def test_inputs_of_different_heads_stop_at_registration(tmp_path):
    """A T2 that shares no structure with the T1 ends with low mutual information."""
    from data_tools.preprocessing.registration import RegistrationError

    files = make_tiny_session(tmp_path / "a", shape=(24, 24, 24), names=("T1",))
    noise = np.random.default_rng(1).uniform(0, 100, (24, 24, 24)).astype(np.float32)
    other = write_nifti(tmp_path / "b" / "T2.nii.gz", noise)
    with pytest.raises(RegistrationError) as caught:
        to_model_space({"T1": files["T1"], "T2": other}, "mni152", extractor="deepbrain")
    assert "T2" in caught.value.message


def test_an_empty_or_absurd_brain_stops_unless_forced(caplog):
    voxel_ml = 0.001  # 1 mm voxels
    with pytest.raises(ImageContentError):
        check_brain_volume(np.zeros((10, 10, 10), bool), voxel_ml, force=True, where="t1.nii.gz")
    huge = np.ones((150, 150, 150), bool)  # 3.4 L
    with pytest.raises(ImageContentError) as caught:
        check_brain_volume(huge, voxel_ml, force=False, where="t1.nii.gz")
    assert caught.value.path == "t1.nii.gz"
    check_brain_volume(huge, voxel_ml, force=True, where="t1.nii.gz")  # a warning only
    assert "t1.nii.gz" in caplog.text
    check_brain_volume(np.ones((110, 110, 110), bool), voxel_ml, force=False, where="t1.nii.gz")  # 1.3 L


def test_an_unknown_space_in_the_card_is_one_line(card_only_model):
    from msgan.inference.synthesize import read_card

    card = card_only_model / "assets" / "model_card.json"
    card.write_text(json.dumps({**json.loads(card.read_text()), "space": "talairach"}))
    with pytest.raises(ConfigError) as caught:
        read_card(card_only_model)
    assert "mni152" in caught.value.message and str(card_only_model) in caught.value.message


def test_bids_mode_refusals_are_one_line(card_only_model, session, tmp_path, capsys):
    not_bids = tmp_path / "not_bids"
    not_bids.mkdir()
    code, line = _run(capsys, "--model", card_only_model, "--bids", not_bids, "--bids-out", tmp_path / "d")
    assert code == 2 and str(not_bids) in line and not (tmp_path / "d").exists()
    code, _ = _run(capsys, "--model", card_only_model, "--bids", not_bids)  # no --bids-out
    assert code == 2
    code, _ = _run(capsys, "--model", card_only_model, "--bids", not_bids, "--bids-out", tmp_path / "d",
                   "--input", f"T1={session['T1']}")  # --input belongs to the single-session form
    assert code == 2 and not (tmp_path / "d").exists()
