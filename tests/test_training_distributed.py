"""MirroredStrategy over two logical CPUs takes the same step as one device (issue 5)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_two_device_step_equals_one_device_step():
    env = dict(os.environ, PYTHONPATH=f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
               TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("TF_CONFIG", None)
    result = subprocess.run([sys.executable, str(REPO / "tests" / "distributed_probe.py")],
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    for kind in ("supervised", "adversarial"):
        assert report[kind]["replicas"] == 2
        assert report[kind]["weights_moved"] > 1e-4  # the steps did something
        assert report[kind]["loss_difference"] < 1e-5, report
        assert report[kind]["weight_difference"] < 1e-5, report
