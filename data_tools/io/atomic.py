"""Write outputs all-or-nothing: into a temporary sibling, renamed into place when complete.

Every command that writes a folder or a file goes through these, so an error (or Ctrl-C,
or SIGTERM) never leaves a half-written result behind, and an existing result is only
replaced with ``overwrite=True``. Two commands writing the same output do not destroy
each other: the temporary sibling ``.NAME.partial-<host>-<pid>-<random>`` names its
writer, so a second writer is refused while the first is alive, and the final rename
never replaces an output that appeared meanwhile. Partial siblings left by killed
writers on this host are deleted; those of other hosts are named in the log. A full disk
ends as one :class:`~data_tools.errors.NoSpaceError` naming the disk and the file.
"""
from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import glob
import logging
import os
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Iterator

from data_tools.errors import MsganError, OutputExistsError
from data_tools.io.full_disk import full_disk_error

log = logging.getLogger(__name__)

_RENAME_NOREPLACE = 1  # linux/fs.h


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of ``path``, None if absent: tells whether it was replaced meanwhile."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def _partial_prefix(target: Path) -> str:
    return f".{target.name}.partial-"


def _writer_of(partial: Path, target: Path) -> tuple[str, int] | None:
    """(host, pid) encoded in a partial sibling's name, None for other names (older versions)."""
    host, _, rest = partial.name[len(_partial_prefix(target)):].rpartition("@")
    pid = rest.split("-", 1)[0]
    return (host, int(pid)) if host and pid.isdigit() else None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def claim_output(target: Path) -> None:
    """Delete partial siblings of dead writers on this host; refuse if a live one is writing."""
    host = socket.gethostname()
    for partial in target.parent.glob(f"{glob.escape(_partial_prefix(target))}*"):
        writer = _writer_of(partial, target)
        if writer is None:
            log.warning("%s: a partial output of an earlier run; delete it if no msgan is writing it",
                        partial)
        elif writer[0] != host:
            log.warning("%s: being written by process %d on host %s, or left by it", partial,
                        writer[1], writer[0])
        elif writer[1] != os.getpid() and _pid_alive(writer[1]):
            raise OutputExistsError(f"process {writer[1]} is writing this output now ({partial.name}); "
                                    "wait for it, or delete that folder if no msgan is running", target)
        elif writer[1] != os.getpid():
            log.warning("removing %s, left by a killed run (process %d)", partial, writer[1])
            shutil.rmtree(partial, ignore_errors=True) if partial.is_dir() else partial.unlink(missing_ok=True)


@functools.lru_cache(maxsize=1)
def _renameat2():
    """The C library's renameat2, or None (not Linux, or glibc older than 2.28)."""
    try:
        return getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    except OSError:
        return None


def _rename_no_replace(source: Path, target: Path) -> None:
    """Rename ``source`` to ``target``, raising FileExistsError if ``target`` exists, atomically.

    Linux's renameat2(RENAME_NOREPLACE) where the C library and file system have it; else a
    hard link for files and ``mkdir`` (exclusive) then rename over the empty folder for folders.
    """
    renameat2 = _renameat2()
    if renameat2 is not None:
        at_fdcwd = -100
        if renameat2(at_fdcwd, os.fsencode(source), at_fdcwd, os.fsencode(target), _RENAME_NOREPLACE) == 0:
            return
        code = ctypes.get_errno()
        if code not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
            raise OSError(code, os.strerror(code), str(target))
    if source.is_dir():
        os.mkdir(target)  # FileExistsError if someone was first
        os.rename(source, target)  # replaces only the empty folder made just above
    else:
        os.link(source, target)  # FileExistsError if someone was first
        os.unlink(source)


def _move_into_place(tmp: Path, target: Path, found: tuple[int, int] | None, overwrite: bool) -> None:
    """Rename ``tmp`` to ``target``; replace only what was there at the start, with ``overwrite``."""
    now = _identity(target)
    if now is not None and (not overwrite or now != found):
        raise OutputExistsError("output appeared while this command was writing it (another msgan "
                                "writing the same output?); nothing replaced", target)
    if now is not None:  # overwrite what was there at the start
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        target.rename(old)
        shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink()
    try:
        _rename_no_replace(tmp, target)
    except FileExistsError:
        raise OutputExistsError("output appeared while this command was writing it (another msgan "
                                "writing the same output?); nothing replaced", target) from None


def _start(target: Path, overwrite: bool) -> tuple[int, int] | None:
    found = _identity(target)
    if found is not None and not overwrite:
        raise OutputExistsError("output exists; pass --overwrite to replace it", target)
    target.parent.mkdir(parents=True, exist_ok=True)
    claim_output(target)
    return found


def _tmp_prefix(target: Path) -> str:
    return f"{_partial_prefix(target)}{socket.gethostname()}@{os.getpid()}-"


@contextlib.contextmanager
def atomic_output_dir(target: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder that becomes ``target`` when the block completes.

    On any exception the temporary folder is deleted and ``target`` is left as it was.
    """
    target = Path(target)
    found = _start(target, overwrite)
    tmp = Path(tempfile.mkdtemp(prefix=_tmp_prefix(target), dir=target.parent))
    try:  # at once: a signal arriving now must find the partial folder deleted too
        tmp.chmod(0o777 & ~_umask())  # mkdtemp makes it private; the result should not be
        yield tmp
        _move_into_place(tmp, target, found, overwrite)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        _raise_full_disk(exc, tmp, target)
        raise


@contextlib.contextmanager
def atomic_output_file(target: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path in the same folder; it replaces ``target`` on success.

    The temporary name keeps the target's suffixes (``.nii.gz`` stays ``.nii.gz``) so
    writers that pick a format by extension behave.
    """
    target = Path(target)
    found = _start(target, overwrite)
    suffix = "".join(target.suffixes)
    fd, name = tempfile.mkstemp(prefix=_tmp_prefix(target), suffix=suffix, dir=target.parent)
    tmp = Path(name)
    try:  # at once: a signal arriving now must find the partial file deleted too
        os.close(fd)
        tmp.chmod(0o666 & ~_umask())  # mkstemp makes it private; the result should not be
        yield tmp
        if overwrite:
            os.replace(tmp, target)  # a file is replaced in one step, never missing
        else:
            _move_into_place(tmp, target, found, overwrite)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        _raise_full_disk(exc, tmp, target)
        raise


def _raise_full_disk(exc: BaseException, tmp: Path, target: Path) -> None:
    """A full disk as one :class:`NoSpaceError` naming the disk and the output's file."""
    error = None if isinstance(exc, MsganError) else full_disk_error(exc, target, (tmp, target))
    if error is not None:
        raise error from exc
