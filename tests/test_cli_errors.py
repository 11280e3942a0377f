"""The CLI shell: --help, --version, and the one-line error contract."""
import subprocess
import sys

import pytest

from msgan import __version__
from msgan.cli import main
from msgan.errors import InputFileError, MsganError


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "msgan", *args], capture_output=True, text=True)


def test_help_and_version():
    out = run_cli("--help")
    assert out.returncode == 0 and "msgan" in out.stdout
    out = run_cli("--version")
    assert out.returncode == 0 and __version__ in out.stdout


def test_error_message_names_file_on_one_line():
    err = InputFileError("corrupt\n gzip", "/data/T1.nii.gz")
    assert err.message == "/data/T1.nii.gz: corrupt gzip"
    assert "\n" not in err.message
    assert MsganError("no file involved").message == "no file involved"


def test_unknown_command_is_a_usage_error():
    out = run_cli("no-such-command")
    assert out.returncode == 2
    assert "Traceback" not in out.stderr


def test_main_turns_msgan_error_into_exit_2(monkeypatch, capsys):
    import click

    from msgan import cli as cli_mod

    @click.command("boom")
    def boom():
        raise InputFileError("broken", "x.nii.gz")

    monkeypatch.setitem(cli_mod.COMMANDS, "boom", f"{__name__}:_BOOM")
    monkeypatch.setattr(sys.modules[__name__], "_BOOM", boom, raising=False)
    with pytest.raises(SystemExit) as exc:
        main(["boom"])
    assert exc.value.code == 2
    assert capsys.readouterr().err.strip() == "error: x.nii.gz: broken"


def one_error_line(result):
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.mark.parametrize("where", ["under a regular file", "name too long"])
def test_operating_system_refusal_is_one_line_naming_the_path(tmp_path, where):
    """An output path the OS refuses (no traceback); root can write anywhere, so not chmod."""
    (tmp_path / "afile").write_text("x")
    out = tmp_path / "afile" / "cohort" if where == "under a regular file" else tmp_path / ("x" * 300)
    line = one_error_line(run_cli("simulate", "--out", str(out), "--n-ms", "1", "--n-hc", "0",
                                  "--resolution", "8"))
    assert str(out.parent if where == "under a regular file" else out) in line


def test_os_error_line_names_both_paths_of_a_rename():
    from msgan.cli import os_error_line

    exc = OSError(18, "Invalid cross-device link", "/a/x", None, "/b/x")
    assert os_error_line(exc) == "/a/x -> /b/x: Invalid cross-device link"


@pytest.mark.parametrize("option, value", [("--steps-per-epoch", "0"), ("--steps-per-epoch", "-1"),
                                           ("--epochs", "0"), ("--batch", "0"), ("--lr", "0"),
                                           ("--d-steps", "0"), ("--refinements", "-1"), ("--seed", "-3")])
def test_train_counts_and_sizes_are_validated(tmp_path, option, value):
    line = one_error_line(run_cli("train", "--model", "unet", "--data", str(tmp_path), "--run",
                                  str(tmp_path / "run"), option, value))
    assert option in line
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("command, option, value", [
    ("make-tfrecords", "--shard-size", "0"), ("make-tfrecords", "--overlap", "1"),
    ("predict", "--batch-size", "0"), ("predict", "--overlap", "-0.5"), ("predict", "--samples", "-2")])
def test_other_counts_are_validated(tmp_path, command, option, value):
    line = one_error_line(run_cli(command, "--cohort", str(tmp_path), "--out", str(tmp_path / "o"),
                                  *(["--task", "flair"] if command == "make-tfrecords" else ["--run", "r"]),
                                  option, value))
    assert option in line
