"""The reproduction scripts parse their options and announce what they will do.

Their full runs take tens of minutes (README, "Reproducing the thesis"); here `MSGAN=false`
stops each one at its first msgan command, after the plan and the time estimate are printed.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def run_script(name, *args, tmp_path):
    env = dict(os.environ, MSGAN="false")
    return subprocess.run(["bash", str(SCRIPTS / name), *args], env=env, capture_output=True,
                          text=True, timeout=60, cwd=tmp_path)


@pytest.mark.parametrize("name", ["reproduce_myelin.sh", "reproduce_flair_real.sh"])
def test_an_unknown_option_prints_the_usage_and_exits_2(name, tmp_path):
    result = run_script(name, "--epochz", "3", tmp_path=tmp_path)
    assert result.returncode == 2 and result.stderr.startswith("usage:")
    assert "--epochs N" in result.stderr and "--out DIR" in result.stderr


def test_myelin_script_announces_its_plan_and_duration(tmp_path):
    result = run_script("reproduce_myelin.sh", "--epochs", "2", "--out", str(tmp_path / "o"),
                        tmp_path=tmp_path)
    assert result.returncode != 0  # stopped at `false simulate`
    assert "11 configurations x 3 folds, 2 epochs per stage." in result.stdout
    assert "about 99 minutes" in result.stdout  # 11 x 3 folds x 2 epochs x 1.5 min
    check = run_script("reproduce_myelin.sh", "--check", "--out", str(tmp_path / "c"), tmp_path=tmp_path)
    assert "1 epochs per stage" in check.stdout and "Toy run (--check)" in check.stdout
    assert not (tmp_path / "o").exists() and not (tmp_path / "c").exists()


def test_flair_script_estimate_grows_with_the_epochs(tmp_path):
    result = run_script("reproduce_flair_real.sh", "--epochs", "5", "--out", str(tmp_path / "o"),
                        tmp_path=tmp_path)
    assert result.returncode != 0
    assert "5 models, 5 epochs each; expect roughly 43 minutes" in result.stdout


@pytest.mark.parametrize("name, first_output", [
    ("reproduce_flair_real.sh", "--run {out}/fold-patient07"),
    ("reproduce_myelin.sh", "simulate --out {out}/cohort"),
])
def test_a_relative_out_is_where_the_command_was_typed(name, first_output, tmp_path):
    env = dict(os.environ, MSGAN="echo")  # print each msgan command instead of running it
    result = subprocess.run(["bash", str(SCRIPTS / name), "--epochs", "1", "--out", "rel"], env=env,
                            capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert first_output.format(out=tmp_path / "rel") in result.stdout
