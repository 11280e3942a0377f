"""The quiet console's parts: which arguments ask for --verbose, what a C++ log line is, and
that a warning is one line (the real subprocess check is in tests/test_install.py)."""
import io
import os
import warnings

import pytest

from msgan.cli import quiet


@pytest.mark.parametrize("args, verbose", [(["-v", "predict"], True), (["--debug", "--verbose", "train"], True),
                                           (["predict", "-v"], False), (["predict", "--run", "x"], False), ([], False)])
def test_only_the_group_option_asks_for_verbose(args, verbose):
    assert quiet.wants_verbose(args) is verbose


def test_cpp_log_lines_are_recognised_and_nothing_else():
    for line in ("I0000 00:00:1796406283.606950   22798 port.cc:153] oneDNN custom operations are on.",
                 "E0000 00:00:1796405840.626156   17279 cuda_platform.cc:52] failed call to cuInit: ...",
                 "W0000 00:00:1796405840.626156   17279 generator_dataset_op.cc:107] will not be optimized",
                 "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"):
        assert quiet.CPP_LOG_LINE.match(line)
    for line in ("WARNING msgan.inference.predict: sub-01/ses-t0: unlike the model's training scans",
                 "error: /data/x.nii.gz: not a NIfTI file", "I0000 is a subject id"):
        assert not quiet.CPP_LOG_LINE.match(line)


def test_verbose_leaves_tensorflow_logging_alone_and_quiet_warnings_are_one_line(monkeypatch):
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    quiet.quiet_console(verbose=True)
    assert "TF_CPP_MIN_LOG_LEVEL" not in os.environ
    with warnings.catch_warnings():
        quiet.quiet_console(verbose=False)
        assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == quiet.QUIET_TF_CPP_LEVEL
        stream = io.StringIO()
        warnings.showwarning("two\nlines", UserWarning, "x.py", 3, file=stream)
    assert stream.getvalue().count("\n") == 1 and "UserWarning" in stream.getvalue()


@pytest.mark.parametrize("args, quiet_asked", [(["-q", "simulate"], True), (["--debug", "--quiet", "predict"], True),
                                               (["simulate", "--quiet"], False), ([], False)])
def test_only_the_group_option_asks_for_quiet(args, quiet_asked):
    assert quiet.wants_quiet(args) is quiet_asked


def test_quiet_turns_every_progress_bar_off(tmp_path):
    """The same small simulation, with and without ``msgan --quiet``: a tqdm bar ("N/M [") on
    stderr only without it, the same cohort written either way."""
    import subprocess
    import sys

    def simulate(*group):
        out = tmp_path / ("quiet" if group else "loud")
        done = subprocess.run([sys.executable, "-m", "msgan", *group, "simulate", "--out", str(out), "--n-ms", "1",
                               "--n-hc", "1", "--resolution", "6", "--sessions", "t0"],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stderr, sorted(p.relative_to(out).as_posix() for p in out.rglob("*.nii.gz"))

    loud, loud_files = simulate()
    silent, silent_files = simulate("--quiet")
    bar = "2/2 ["
    assert bar in loud and bar not in silent
    assert loud_files == silent_files and loud_files
