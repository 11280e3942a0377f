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
