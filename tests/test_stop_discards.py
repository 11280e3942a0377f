"""SIGTERM while `msgan reproduce` or `msgan demo` trains: one behaviour for both (the same
``msgan.experiments.protocol.discarded_on_stop``). The all-or-nothing output is deleted,
exit 143, and the one error line names that output; it points to no checkpoint inside the
deleted folder and to no option the command lacks."""
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

#: the cheapest of the two commands: both run inside the same ``protocol.discarded_on_stop``
ARGS = ["reproduce", "ch2", "--check", "--methods", "fcn-64", "--quiet"]
TRAINING = "cv/fcn-64/fold-1/logs"  # written once the epoch loop has begun


@pytest.mark.slow
def test_sigterm_in_training_deletes_the_run_and_says_so(tmp_path):
    args = ARGS
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    log = tmp_path / "stderr.txt"
    with log.open("w") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "msgan", *args, "--out", str(out)], env=env,
                                   stdout=subprocess.DEVNULL, stderr=stderr)
        deadline = time.monotonic() + 900
        while not list(tmp_path.glob(f".out.partial-*/{TRAINING}")):
            assert process.poll() is None, log.read_text()[-2000:]
            assert time.monotonic() < deadline
            time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=600)
    stderr = log.read_text()
    assert process.returncode == 128 + signal.SIGTERM, stderr[-2000:]
    assert not out.exists() and not list(tmp_path.glob(".out.partial-*"))  # nothing of the run is left
    line = stderr.strip().splitlines()[-1]
    assert str(out) in line and ".partial-" not in line
    options = {name for param in cli.get_command(None, args[0]).params for name in param.opts}
    assert set(re.findall(r"--[a-z][a-z-]*", line)) <= options, line
