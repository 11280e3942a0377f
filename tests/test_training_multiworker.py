"""Two ``msgan train`` workers on 127.0.0.1 (TF_CONFIG): start, stop, fail, resume (issue 21, item 3).

Each test starts real processes (TensorFlow start-up dominates), bounded by timeouts.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import make_tiny_session

from msgan.errors import ConfigError
from msgan.training.cluster import read_tf_config

REPO = Path(__file__).resolve().parents[1]
LIMIT = 240  # seconds any one worker may take before the test fails


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def tf_config(ports, index):
    return json.dumps({"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                       "task": {"type": "worker", "index": index}})


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    from msgan.cli import main

    root = tmp_path_factory.mktemp("mw")
    for i, sid in enumerate(["p1", "p2"]):
        make_tiny_session(root / "cohort" / f"sub-{sid}" / "ses-t0", seed=i)
    with pytest.raises(SystemExit) as exc:
        main(["make-tfrecords", "--cohort", str(root / "cohort"), "--task", "flair", "--inputs", "T1,T2",
              "--out", str(root / "shards"), "--patch", "8", "--overlap", "0"])
    assert exc.value.code == 0
    return root / "shards"  # 16 examples of 8^3


class Worker:
    def __init__(self, ports, index, shards, run, *extra):
        self.log = Path(f"{run}.worker{index}")
        self.out, self.err = open(f"{self.log}.out", "w+"), open(f"{self.log}.err", "w+")
        env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="2",
                   TF_CONFIG=tf_config(ports, index))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "msgan", "train", "--model", "fcn", "--data", str(shards), "--run", str(run),
             "--batch", "2", "--no-early-stopping", "--model-kwargs", '{"filters": 2, "n_layers": 1}',
             "--no-progress", *extra], env=env, stdout=self.out, stderr=self.err)

    def finish(self, timeout=LIMIT):
        try:
            code = self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
        self.out.seek(0)
        self.err.seek(0)
        stdout, stderr = self.out.read(), self.err.read()
        return code, stdout, stderr


def error_lines(stderr):
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def wait_for_training(run, workers, timeout=LIMIT):
    """Until history.csv has a row (both workers are inside the epoch loop)."""
    deadline = time.time() + timeout
    while not (run / "history.csv").exists():
        assert all(w.process.poll() is None for w in workers), [w.finish(1) for w in workers]
        assert time.time() < deadline, "training did not start"
        time.sleep(0.5)


@pytest.mark.parametrize("text, words", [
    ("{oops", "not valid JSON"),
    ('{"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}, "task": {"type": "worker", "index": 2}}',
     "index 2"),
    ('{"cluster": {"worker": ["127.0.0.1"]}, "task": {"type": "worker", "index": 0}}', "host:port"),
    ('{"cluster": {"worker": ["a:1"]}}', "task"),
])
def test_bad_tf_config_is_one_error_naming_it(text, words):
    with pytest.raises(ConfigError, match=words) as exc:
        read_tf_config({"TF_CONFIG": text})
    assert exc.value.path == "TF_CONFIG"


def test_bad_tf_config_at_the_command_line(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO), TF_CONFIG='{"cluster": {"worker": ["h:1", "h:2"]}, '
               '"task": {"type": "worker", "index": 5}}')
    done = subprocess.run([sys.executable, "-m", "msgan", "train", "--model", "unet", "--data", str(tmp_path),
                           "--run", str(tmp_path / "run")], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert error_lines(done.stderr) == done.stderr.strip().splitlines()
    assert error_lines(done.stderr)[0].startswith("error: TF_CONFIG: ")
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_a_worker_that_never_starts_is_named_after_the_timeout(shards, tmp_path):
    ports = free_ports(2)
    start = time.time()
    worker = Worker(ports, 0, shards, tmp_path / "run", "--epochs", "1", "--connect-timeout", "5")
    code, _, stderr = worker.finish()
    assert code != 0 and time.time() - start < 120
    (line,) = error_lines(stderr)
    assert line.startswith("error: TF_CONFIG: ") and f"127.0.0.1:{ports[1]}" in line
    assert f"127.0.0.1:{ports[0]}" not in line and "Traceback" not in stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_sigterm_while_waiting_for_the_other_workers_ends_within_seconds(shards, tmp_path):
    from msgan.training.watchdog import reachable

    ports = free_ports(2)
    worker = Worker(ports, 0, shards, tmp_path / "run", "--epochs", "1", "--connect-timeout", "300")
    deadline = time.time() + LIMIT
    while not reachable(f"127.0.0.1:{ports[0]}", timeout=0.2):  # its server is up: it waits for worker 1
        assert worker.process.poll() is None and time.time() < deadline, worker.finish(1)
        time.sleep(0.5)
    time.sleep(1)
    worker.process.send_signal(signal.SIGTERM)
    start = time.time()
    code, _, stderr = worker.finish(timeout=30)
    assert code != 0 and time.time() - start < 10
    (line,) = error_lines(stderr)
    assert "SIGTERM" in line and "Traceback" not in stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_sigterm_stops_both_workers_at_one_checkpoint_and_resume_finishes(shards, tmp_path):
    ports, run = free_ports(2), tmp_path / "run"
    workers = [Worker(ports, i, shards, run, "--epochs", "100", "--connect-timeout", "60") for i in (0, 1)]
    try:
        wait_for_training(run, workers)
        workers[1].process.send_signal(signal.SIGTERM)  # one worker only: both must stop
    finally:
        results = [w.finish() for w in workers]
    for code, stdout, stderr in results:
        assert code == 143 and "Traceback" not in stderr, stderr[-2000:]
        (line,) = error_lines(stderr)
        assert "SIGTERM" in line and "--resume" in line
    assert error_lines(results[0][2]) == error_lines(results[1][2])  # the same step on both
    assert not (run / "model.weights.h5").exists()
    stopped_at = int(error_lines(results[0][2])[0].split(", step ")[1].split(";")[0])
    done_epochs = len((run / "history.csv").read_text().splitlines()) - 1

    resumed = [Worker(ports, i, shards, run, "--epochs", str(done_epochs + 2), "--resume",
                      "--connect-timeout", "60") for i in (0, 1)]
    results = [w.finish() for w in resumed]
    assert [r[0] for r in results] == [0, 0], [r[2][-2000:] for r in results]
    assert f"wrote {run}/model.weights.h5" in results[0][1]
    assert "wrote" not in results[1][1]  # only worker 0 writes the run and says so
    history = (run / "history.csv").read_text().splitlines()[1:]
    assert [int(row.split(",")[1]) for row in history] == list(range(1, done_epochs + 3))
    assert int(history[-1].split(",")[2]) == 8 * (done_epochs + 2) > stopped_at  # 8 steps an epoch


@pytest.mark.slow
def test_a_dead_peer_is_one_line_naming_it(shards, tmp_path):
    ports, run = free_ports(2), tmp_path / "run"
    workers = [Worker(ports, i, shards, run, "--epochs", "100", "--connect-timeout", "60") for i in (0, 1)]
    try:
        wait_for_training(run, workers)
        workers[1].process.kill()
        code, _, stderr = workers[0].finish(timeout=120)
    finally:
        workers[1].finish()
    assert code == 2 and "Traceback" not in stderr, stderr[-2000:]
    (line,) = error_lines(stderr)
    assert line.startswith(f"error: {run}: worker 1 (127.0.0.1:{ports[1]})")
