"""Tell a full disk from other write errors, and name it in one line: which disk, which file.

Python reports a full disk as ``OSError(ENOSPC)``; TensorFlow as a ``ResourceExhaustedError``
(also its out-of-memory error) whose message is ``"<file>; No space left on device"``;
h5py as an ``OSError`` carrying the same text. :func:`full_disk_line` recognises all
three by the operating system's own words, never by the exception type alone.
"""
from __future__ import annotations

import errno
import os
import re
from pathlib import Path

from data_tools.errors import NoSpaceError

_NO_SPACE = os.strerror(errno.ENOSPC)  # "No space left on device"
_FILE_BEFORE = re.compile(rf"(\S+?);? {re.escape(_NO_SPACE)}")


def _mounts() -> list[tuple[str, str, str]]:
    """``(device, mount point, type)`` of every mounted file system (Linux), else empty."""
    try:
        with open("/proc/self/mounts", encoding="utf-8") as handle:
            rows = [line.split()[:3] for line in handle]
    except OSError:
        return []
    return [(dev, point.replace("\\040", " "), kind) for dev, point, kind in rows]


def device_of(path: str | Path) -> str:
    """The file system holding ``path``: its mount point, with device and type where known."""
    path = Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    point = path.resolve()
    while not os.path.ismount(point) and point != point.parent:
        point = point.parent
    for device, mounted, kind in reversed(_mounts()):  # the last mount on a point wins
        if mounted == str(point):
            return f"{point} ({device}, {kind})" if device != kind else f"{point} ({kind})"
    return str(point)


def _causes(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def full_disk_file(exc: BaseException) -> str | None:
    """The file being written when ``exc`` (or an exception it came from) hit a full disk,
    ``""`` if the disk was full but no file is named, None if it is not a full disk."""
    for cause in _causes(exc):
        if isinstance(cause, OSError) and cause.errno == errno.ENOSPC:
            return str(cause.filename or "")
        text = str(cause)
        if _NO_SPACE in text:
            found = _FILE_BEFORE.search(text)
            return found.group(1).strip("'\"") if found and os.sep in found.group(1) else ""
    return None


def full_disk_error(exc: BaseException, writing: str | Path | None = None,
                    shown_as: tuple[Path, Path] | None = None,
                    kept: str = "nothing was kept") -> NoSpaceError | None:
    """:class:`NoSpaceError` "no space left on DEVICE while writing FILE" for a full-disk
    ``exc``, else None. ``writing``: the output, named when the error names no file;
    ``shown_as``: ``(temporary, final)`` folders, so a file of a partial output is named
    where it would have been written."""
    found = full_disk_file(exc)
    if found is None:
        return None
    file = Path(found) if found else Path(writing) if writing is not None else None
    if file is not None and shown_as is not None and file == shown_as[0]:
        file = shown_as[1]
    elif file is not None and shown_as is not None and shown_as[0] in file.parents:
        file = shown_as[1] / file.relative_to(shown_as[0])
    where = device_of(file if file is not None else os.getcwd())
    return NoSpaceError(f"no space left on {where} while writing {file if file is not None else 'an output'}; "
                        f"{kept}: free space (or choose another folder) and run again")
