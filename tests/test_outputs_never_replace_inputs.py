"""No command writes into, over or above one of its own inputs, with or without --overwrite."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from conftest import make_tiny_session
from inference_helpers import finished_fcn_run
from data_tools.errors import OutputReplacesInputError
from data_tools.io.cohort import open_cohort
from data_tools.io.guard import check_outputs
from msgan.cli import main


def _tree(root: Path) -> dict[str, str]:
    """Every file below ``root`` with its digest: what must stay untouched."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _cli(*args) -> int:
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    return exc.value.code


def _refused(capsys, code, *paths):
    """Exit 2, one error line, naming every path in ``paths`` (as given or resolved)."""
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2, err
    (line,) = [x for x in err if x.startswith("error:")]
    for path in paths:
        assert str(path) in line or str(Path(path).resolve()) in line, (path, line)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A tiny cohort, its shards and an fcn run: the inputs the commands must spare."""
    root = tmp_path_factory.mktemp("guard")
    cohort = root / "cohort"
    for i, sid in enumerate(["p1", "p2", "c1"]):
        make_tiny_session(cohort / f"sub-{sid}" / "ses-t0", seed=i)
    (cohort / "participants.tsv").write_text("participant_id\tgroup\nsub-p1\tMS\nsub-p2\tMS\nsub-c1\tHC\n")
    assert _cli("make-tfrecords", "--cohort", cohort, "--task", "flair", "--inputs", "T1,T2",
                "--out", root / "shards", "--layout", "whole") == 0
    finished_fcn_run(root / "run")
    return root


def _unchanged(world, before):
    assert {name: _tree(world / name) for name in ("cohort", "shards", "run")} == before


@pytest.fixture
def before(world):
    return {name: _tree(world / name) for name in ("cohort", "shards", "run")}


# (command line given the world folder, the output named, the input named)
CASES = {
    "predict over its cohort": (lambda w: ["predict", "--run", w / "run", "--cohort", w / "cohort",
                                           "--out", w / "cohort"], "cohort", "cohort"),
    "predict above its cohort": (lambda w: ["predict", "--run", w / "run", "--cohort", w / "cohort",
                                            "--out", w], "", "cohort"),
    "predict into a subject of its cohort": (
        lambda w: ["predict", "--run", w / "run", "--cohort", w / "cohort", "--out", w / "cohort" / "sub-new"],
        "cohort/sub-new", "cohort"),
    "predict over its run, spelt with ..": (
        lambda w: ["predict", "--run", w / "run", "--cohort", w / "cohort", "--out", w / "shards" / ".." / "run"],
        "run", "run"),
    "make-tfrecords over its cohort": (
        lambda w: ["make-tfrecords", "--cohort", w / "cohort", "--task", "flair", "--inputs", "T1,T2",
                   "--out", w / "cohort"], "cohort", "cohort"),
    "train over its shards": (lambda w: ["train", "--model", "fcn", "--data", w / "shards", "--run", w / "shards",
                                         "--epochs", "1", "--no-early-stopping"], "shards", "shards"),
    "export over its run": (lambda w: ["export", "--run", w / "run", "--out", w / "run"], "run", "run"),
    "preprocess over its cohort": (lambda w: ["preprocess", "--cohort", w / "cohort", "--out", w / "cohort",
                                              "--no-n4", "--brain-mask", "none"], "cohort", "cohort"),
    "reproduce into a subject of its cohort": (
        lambda w: ["reproduce", "ch4", "--check", "--cohort", w / "cohort", "--out", w / "cohort" / "sub-x"],
        "cohort/sub-x", "cohort"),
    "evaluate over its predictions": (lambda w: ["evaluate", "--pred", w / "run", "--cohort", w / "cohort",
                                                 "--task", "flair", "--out", w / "run"], "run", "run"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_an_output_never_replaces_an_input(world, before, case, capsys):
    build, output, given = CASES[case]
    code = _cli(*build(world), "--overwrite")
    _refused(capsys, code, world / output, world / given)
    _unchanged(world, before)


def test_an_output_reached_through_a_symbolic_link_is_refused(world, before, tmp_path, capsys):
    link = tmp_path / "link"
    link.symlink_to(world / "cohort")
    code = _cli("make-tfrecords", "--cohort", world / "cohort", "--task", "flair", "--inputs", "T1,T2",
                "--out", link, "--overwrite")
    _refused(capsys, code, world / "cohort")
    _unchanged(world, before)


def test_bids_out_and_out_are_both_checked_before_anything_is_written(world, before, tmp_path, capsys):
    """--out DIR/derivatives/msgan --bids-out DIR: the two outputs are one folder."""
    code = _cli("predict", "--run", world / "run", "--cohort", world / "cohort",
                "--out", tmp_path / "derivatives" / "msgan", "--bids-out", tmp_path)
    _refused(capsys, code, tmp_path / "derivatives" / "msgan")
    assert list(tmp_path.iterdir()) == []
    _unchanged(world, before)


def test_outputs_beside_or_below_an_input_where_nothing_is_read_are_allowed(world):
    cohort = open_cohort(cohort=world / "cohort")
    check_outputs({"--out": world / "predictions", "--bids-out": world / "cohort" / "derivatives" / "msgan"},
                  {"--cohort": cohort, "--run": world / "run"})
    check_outputs({"--out": world / "run" / "saved_model"}, {"--run": world / "run"})


def test_manifest_inputs_are_spared_wherever_they_sit(world, tmp_path):
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("subject,session,name,path\n"
                        f"p1,t0,T1,{world / 'cohort/sub-p1/ses-t0/T1.nii.gz'}\n")
    with pytest.raises(OutputReplacesInputError) as exc:
        check_outputs({"--out": world / "cohort" / "sub-p1"}, {"--manifest": open_cohort(manifest=manifest)})
    assert "T1.nii.gz" in exc.value.problem
    with pytest.raises(OutputReplacesInputError):
        check_outputs({"--out": manifest}, {"--manifest": open_cohort(manifest=manifest)})
