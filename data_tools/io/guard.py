"""Refuse an output that would replace or shadow one of the command's own inputs.

Every command that writes calls :func:`check_outputs` once, with all its inputs and all its
outputs, before it writes anything: ``--overwrite`` replaces an earlier *output*, never
an input. Refused, with or without ``--overwrite``, and with paths compared after
resolving symbolic links and ``..``:

- an output that is an input (the same folder or file);
- an output that contains an input (replacing the output would delete the input);
- an output inside a cohort folder where the cohort's reader would take it for part of
  the cohort (``sub-*``, ``participants.tsv``, ``dataset_description.json``); elsewhere
  inside an input folder (``derivatives/``, a run's ``predictions/``) is allowed;
- two outputs of one command that are the same or nested (the second would replace the
  first after it was written).
"""
from __future__ import annotations

import fnmatch
import os
from pathlib import Path
from typing import Iterable, Mapping, Union

from data_tools.errors import OutputReplacesInputError
from data_tools.io.cohort import Cohort

PathLike = Union[str, os.PathLike]
#: first path components below a cohort folder that its readers take as part of the cohort
COHORT_READS = ("sub-*", "participants.tsv", "participants.csv", "dataset_description.json")


def _spellings(path: PathLike) -> set[Path]:
    """Where ``path`` is: through its symbolic links, and as the link itself."""
    path = Path(path).expanduser().absolute()
    return {path.resolve(), path.parent.resolve() / path.name}


def _inside(inner: Path, outer: Path) -> bool:
    return outer in inner.parents


def cohort_inputs(cohort: Cohort) -> list[Path]:
    """The paths a cohort was read from: its folder or manifest, and every image and mask."""
    files = [path for subject in cohort.subjects.values() for session in subject.sessions.values()
             for path in session.files.values()]
    return [Path(cohort.source), *files]


def _flatten(inputs: Mapping[str, object]) -> list[tuple[str, Path, bool]]:
    """``(label, path, is a cohort folder)`` of every input; None values are skipped."""
    flat = []
    for label, value in inputs.items():
        if value is None:
            continue
        if isinstance(value, Cohort):
            flat.append((label, Path(value.source), Path(value.source).is_dir()))
            flat += [(label, path, False) for path in cohort_inputs(value)[1:]]
        elif isinstance(value, (str, os.PathLike)):
            flat.append((label, Path(value), False))
        else:
            flat += [(label, Path(path), False) for path in value]
    return flat


def _relation(output: Path, given: Path, cohort_folder: bool) -> str | None:
    """How ``output`` would hurt the input ``given``, or None if it would not."""
    for out in _spellings(output):
        for inp in _spellings(given):
            if out == inp:
                return "is"
            if _inside(inp, out):
                return "contains"
            if cohort_folder and _inside(out, inp):
                first = out.relative_to(inp).parts[0]
                if any(fnmatch.fnmatch(first, pattern) for pattern in COHORT_READS):
                    return "is inside the cohort, where it would be read as part of it,"
    return None


def check_outputs(outputs: Mapping[str, PathLike | None],
                  inputs: Mapping[str, Cohort | PathLike | Iterable[PathLike] | None]) -> None:
    """Raise :class:`OutputReplacesInputError` naming both paths if any output (``label ->
    path``) would replace or shadow an input (``label -> path``, paths or a :class:`Cohort`),
    or two outputs overlap. Writes nothing; call it before the first write."""
    named = [(label, Path(path)) for label, path in outputs.items() if path is not None]
    for label, output in named:
        for in_label, given, cohort_folder in _flatten(inputs):
            relation = _relation(output, given, cohort_folder)
            if relation is not None:
                raise OutputReplacesInputError(
                    f"the output ({label}) {relation} the input {given} ({in_label}); outputs never "
                    "replace inputs, with or without --overwrite: choose another output folder", output)
    for i, (label, output) in enumerate(named):
        for other_label, other in named[i + 1:]:
            if _relation(output, other, False) or _relation(other, output, False):
                raise OutputReplacesInputError(
                    f"the outputs {label} and {other_label} ({other}) are the same folder or one holds "
                    "the other: choose separate folders", output)
