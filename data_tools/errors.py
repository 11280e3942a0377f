"""The exception family (re-exported, and extended, by ``msgan.errors``): one family for everything a user can get wrong.

The CLI turns any :class:`MsganError` into a single line ``error: <file>: <problem>`` and
exit code 2, never a traceback. Library code raises the most specific subclass and names
the offending file whenever there is one.
"""
from __future__ import annotations

from pathlib import Path


class MsganError(Exception):
    """Base class: a problem the user can fix, described in one line."""

    #: the process's exit status when the CLI reports this error
    exit_code = 2

    def __init__(self, problem: str, path: str | Path | None = None):
        self.problem = " ".join(str(problem).split())  # one line, always
        self.path = None if path is None else str(path)
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return f"{self.path}: {self.problem}" if self.path else self.problem


class InputFileError(MsganError):
    """A file is missing, unreadable, corrupt or not what it should be."""


class ImageContentError(MsganError):
    """An image is readable but its content is unusable (NaN, wrong dimensions, empty mask)."""


class GeometryError(MsganError):
    """Images that must share a voxel grid do not (shape or affine)."""


class CohortError(MsganError):
    """The cohort or manifest is inconsistent (missing sequence, duplicates, unknown names)."""


class OutputExistsError(MsganError):
    """An output already exists and ``--overwrite`` was not given."""


class ConfigError(MsganError):
    """Options or a run configuration that cannot work together."""


class OutputReplacesInputError(ConfigError):
    """An output would replace, contain or shadow one of the command's inputs."""


class NoSpaceError(MsganError):
    """The disk filled up while writing an output (which was then removed)."""


class DataIntegrityError(MsganError):
    """Stored derived data (TFRecord shards, run folders) is truncated or corrupted."""
