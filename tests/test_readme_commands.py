"""Every ``msgan ...`` line of the README's and docs' shell blocks is a valid command line.

The lines are discovered, not listed, so a block added or changed later is checked too:
each is parsed by click (unknown commands and options, bad choices and numbers fail), and
the cheap ones run end to end at toy size.
"""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest

from conftest import make_tiny_session
from msgan.cli import cli, main

REPO = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.S | re.M)
SHELLS = {"bash", "sh", "shell", "console"}  # blocks marked as shell commands
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def command_lines() -> list[tuple[str, list[str]]]:
    """``(where, argv after 'msgan')`` of every msgan command in a shell block of the docs."""
    found = []
    for doc in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        text = doc.read_text(encoding="utf-8")
        for block in FENCE.finditer(text):
            if block.group(1) not in SHELLS:
                continue
            first_line = text.count("\n", 0, block.start(2)) + 1
            logical, start = "", None
            for offset, line in enumerate(block.group(2).splitlines()):
                start = first_line + offset if start is None else start
                if line.endswith("\\"):  # a continuation: the command goes on
                    logical += line[:-1] + " "
                    continue
                words = shlex.split((logical + line).strip().removeprefix("$ "), comments=True)
                where, logical, start = start, "", None
                while words and ASSIGNMENT.match(words[0]):  # TF_CONFIG=... msgan train
                    words = words[1:]
                if words[:1] == ["msgan"]:
                    found.append((f"{doc.relative_to(REPO)}:{where}", words[1:]))
    return found


COMMANDS = command_lines()


def test_the_docs_show_commands():
    names = {argv[0] for _, argv in COMMANDS if argv}
    assert {"predict", "train", "ablate", "make-tfrecords"} <= names, names


@pytest.mark.parametrize("argv", [argv for _, argv in COMMANDS], ids=[where for where, _ in COMMANDS])
def test_documented_command_line_parses(argv):
    group_options = []
    while argv and argv[0].startswith("-"):
        group_options.append(argv.pop(0))
    assert argv, "no command after msgan"
    cli.make_context("msgan", [*group_options, argv[0]])  # group options and the command's name
    command = cli.get_command(None, argv[0])
    assert command is not None, f"unknown command {argv[0]}"
    try:
        command.make_context(argv[0], argv[1:])  # its options: names, choices, ranges, required ones
    except click.BadParameter as exc:
        if not isinstance(exc.param.type, click.Path):  # example paths need not exist here
            raise


def _documented(name: str) -> list[str]:
    """The first documented command line of ``name``."""
    return next(argv for _, argv in COMMANDS if argv[:1] == [name])


def _toy(argv: list[str], values: dict[str, str | None], extra: list[str]) -> list[str]:
    """``argv`` with option values replaced by toy ones (None drops the option) and ``extra`` added."""
    out, words = [], list(argv)
    while words:
        word = words.pop(0)
        if word in values:
            if words and not words[0].startswith("--"):
                words.pop(0)
            if values[word] is not None:
                out += [word, values[word]]
        else:
            out.append(word)
    return out + extra


def _run(argv) -> int:
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in argv])
    return exc.value.code


def test_documented_ablate_command_runs_at_toy_size(tmp_path, capsys):
    """The README's ablate (no --target: the task's target) on three 16^3 subjects, one epoch,
    one variant (--no-drop) to spare the test time."""
    argv = _documented("ablate")
    assert "--target" not in argv
    for i, sid in enumerate(["p1", "p2", "p3"]):
        make_tiny_session(tmp_path / "cohort" / f"sub-{sid}" / "ses-t0", seed=i)
    toy = {"--cohort": str(tmp_path / "cohort"), "--inputs": "T1,T2", "--test-subjects": "p3",
           "--methods": None, "--combos": None, "--epochs": "1", "--run": str(tmp_path / "ablation")}
    assert _run(_toy(argv, toy, ["--model", "fcn", "--layout", "whole", "--no-drop"])) == 0, capsys.readouterr().err
    assert (tmp_path / "ablation").is_dir()
