"""Write outputs all-or-nothing: into a temporary sibling, renamed into place when complete.

Every command that writes a folder or a file goes through these, so an error (or Ctrl-C)
never leaves a half-written result behind, and an existing result is only replaced with
``overwrite=True``.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from data_tools.errors import OutputExistsError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _check_free(target: Path, overwrite: bool) -> None:
    if target.exists() and not overwrite:
        raise OutputExistsError("output exists; pass --overwrite to replace it", target)


@contextlib.contextmanager
def atomic_output_dir(target: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder that becomes ``target`` when the block completes.

    On any exception the temporary folder is deleted and ``target`` is left as it was.
    """
    target = Path(target)
    _check_free(target, overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    tmp.chmod(0o777 & ~_umask())  # mkdtemp makes it private; the result should not be
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        target.rename(old)
        tmp.rename(target)
        shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink()
    else:
        tmp.rename(target)


@contextlib.contextmanager
def atomic_output_file(target: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path in the same folder; it replaces ``target`` on success.

    The temporary name keeps the target's suffixes (``.nii.gz`` stays ``.nii.gz``) so
    writers that pick a format by extension behave.
    """
    target = Path(target)
    _check_free(target, overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    suffix = "".join(target.suffixes)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.partial-", suffix=suffix, dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    tmp.chmod(0o666 & ~_umask())  # mkstemp makes it private; the result should not be
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, target)
