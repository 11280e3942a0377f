"""All-or-nothing outputs under concurrent writers and killed runs (issue 21, item 2)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from data_tools.errors import OutputExistsError
from data_tools.io.atomic import atomic_output_dir, atomic_output_file
from msgan.cli import main

REPO = Path(__file__).resolve().parents[1]


def other_writer_finishes(target: Path, text: str) -> None:
    """What a second msgan does while the first is still writing: its output lands first."""
    target.mkdir()
    (target / "theirs.txt").write_text(text)


@pytest.mark.parametrize("overwrite", [False, True])
def test_folder_that_appeared_meanwhile_is_never_replaced(tmp_path, overwrite):
    target = tmp_path / "out"
    with pytest.raises(OutputExistsError) as exc:
        with atomic_output_dir(target, overwrite=overwrite) as tmp:
            (tmp / "mine.txt").write_text("mine")
            other_writer_finishes(target, "theirs")
    assert exc.value.path == str(target)
    assert [p.name for p in target.iterdir()] == ["theirs.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no partial left


def test_overwrite_replaces_only_the_folder_that_was_there_at_the_start(tmp_path):
    target = tmp_path / "out"
    other_writer_finishes(target, "old")
    with atomic_output_dir(target, overwrite=True) as tmp:
        (tmp / "mine.txt").write_text("mine")
    assert [p.name for p in target.iterdir()] == ["mine.txt"]
    with pytest.raises(OutputExistsError):
        with atomic_output_dir(target, overwrite=True) as tmp:
            (tmp / "mine.txt").write_text("again")
            os.rename(target, tmp_path / "moved")  # another run replaced it meanwhile
            other_writer_finishes(target, "theirs")
    assert [p.name for p in target.iterdir()] == ["theirs.txt"]


def test_file_that_appeared_meanwhile_is_never_replaced(tmp_path):
    target = tmp_path / "T1_pred.nii.gz"
    with pytest.raises(OutputExistsError):
        with atomic_output_file(target) as tmp:
            tmp.write_text("mine")
            target.write_text("theirs")
    assert target.read_text() == "theirs"
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_partial_output_of_a_killed_run_is_removed(tmp_path):
    target = tmp_path / "shards"
    stale = tmp_path / f".shards.partial-{socket.gethostname()}@{dead_pid()}-abc123"
    stale.mkdir()
    (stale / "shard-0.tfrecord").write_text("half")
    with atomic_output_dir(target) as tmp:
        (tmp / "index.json").write_text("{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shards"]


def test_second_command_is_refused_while_the_first_writes(tiny_cohort, tmp_path, capsys):
    """Two processes: one holds the output's partial folder open, ``msgan`` is refused."""
    out, go = tmp_path / "shards", tmp_path / "go"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\nfrom pathlib import Path\nfrom data_tools.io.atomic import atomic_output_dir\n"
         "with atomic_output_dir(sys.argv[1]) as tmp:\n"
         "    (tmp / 'first.txt').write_text('first')\n"
         "    print('writing', flush=True)\n"
         "    deadline = time.time() + 60\n"
         "    while not Path(sys.argv[2]).exists() and time.time() < deadline:\n"
         "        time.sleep(0.05)\n", str(out), str(go)],
        env=dict(os.environ, PYTHONPATH=str(REPO)), stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "writing"
        with pytest.raises(SystemExit) as exc:
            main(["make-tfrecords", "--cohort", str(tiny_cohort), "--task", "flair", "--inputs", "T1,T2",
                  "--out", str(out), "--patch", "16"])
        err = capsys.readouterr().err.strip().splitlines()
        assert exc.value.code == 2 and len(err) == 1 and err[0].startswith(f"error: {out}: ")
        assert str(holder.pid) in err[0]
    finally:
        go.write_text("")
        assert holder.wait(timeout=60) == 0
    assert [p.name for p in out.iterdir()] == ["first.txt"]


def test_without_renameat2_the_fallback_also_refuses(tmp_path, monkeypatch):
    from data_tools.io import atomic

    monkeypatch.setattr(atomic, "_renameat2", lambda: None)
    test_folder_that_appeared_meanwhile_is_never_replaced(tmp_path / "a", overwrite=False)
    test_file_that_appeared_meanwhile_is_never_replaced(tmp_path / "b")
    with atomic_output_dir(tmp_path / "c") as tmp:
        (tmp / "x.txt").write_text("x")
    assert (tmp_path / "c" / "x.txt").read_text() == "x"


def test_sigterm_deletes_the_partial_output(tiny_cohort, tmp_path):
    """Outside training SIGTERM unwinds like Ctrl-C: one line, exit 143, nothing left behind."""
    import signal
    import time

    out = tmp_path / "shards"
    process = subprocess.Popen(
        [sys.executable, "-m", "msgan", "make-tfrecords", "--cohort", str(tiny_cohort), "--task", "flair",
         "--inputs", "T1,T2", "--out", str(out), "--patch", "4", "--overlap", "0.5", "--augment"],
        env=dict(os.environ, PYTHONPATH=str(REPO)), stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not list(tmp_path.glob(".shards.partial-*")):
        assert process.poll() is None and time.time() < deadline, "the command ended before writing"
        time.sleep(0.01)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 143 and "Traceback" not in stderr
    assert [line for line in stderr.splitlines() if line.startswith("error:")] == stderr.strip().splitlines()[-1:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cohort"]
