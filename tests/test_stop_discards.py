"""SIGTERM while `msgan reproduce` or `msgan demo` trains: one behaviour for both. The
all-or-nothing output is deleted, exit 143, and the one error line names that output; it
points to no checkpoint inside the deleted folder and to no option the command lacks."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest
from conftest import REPO

from msgan.cli import cli

COMMANDS = {"reproduce": (["reproduce", "ch2", "--check", "--methods", "fcn-64"], "cv/fcn-64/fold-1/logs"),
            "demo": (["demo", "--quick"], "runs/fcn/fold-1/logs")}


@pytest.mark.slow
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_sigterm_in_training_deletes_the_run_and_says_so(tmp_path, command):
    args, training = COMMANDS[command]
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen([sys.executable, "-m", "msgan", *args, "--out", str(out)], env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 900
    while not list(tmp_path.glob(f".out.partial-*/{training}")):  # the epoch loop has begun
        assert process.poll() is None, process.communicate()[1][-2000:]
        assert time.monotonic() < deadline
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=600)
    assert process.returncode == 128 + signal.SIGTERM, stderr[-2000:]
    assert list(tmp_path.iterdir()) == []  # neither the output nor its partial folder is left
    line = stderr.strip().splitlines()[-1]
    assert str(out) in line and ".partial-" not in line
    options = {name for param in cli.get_command(None, args[0]).params for name in param.opts}
    assert set(re.findall(r"--[a-z][a-z-]*", line)) <= options, line
