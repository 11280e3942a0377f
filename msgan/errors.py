"""One exception family for everything a user can get wrong.

The CLI turns any :class:`MsganError` into a single line ``error: <file>: <problem>`` and
exit code 2, never a traceback. The classes shared with ``data_tools`` are defined there
(``data_tools`` never imports ``msgan``) and re-exported here.
"""
from data_tools.errors import (
    CohortError,
    ConfigError,
    DataIntegrityError,
    GeometryError,
    ImageContentError,
    InputFileError,
    MsganError,
    NoSpaceError,
    OutputExistsError,
    OutputReplacesInputError,
)


class TrainingError(MsganError):
    """Training cannot go on (e.g. repeated non-finite losses, a worker that died)."""


class TrainingStopped(TrainingError):
    """Training was asked to stop (SIGTERM) and saved a checkpoint: ``--resume`` continues."""

    exit_code = 143  # 128 + SIGTERM, what schedulers expect of a terminated job


__all__ = [
    "MsganError", "InputFileError", "ImageContentError", "GeometryError", "CohortError",
    "OutputExistsError", "ConfigError", "DataIntegrityError", "TrainingError",
    "TrainingStopped", "OutputReplacesInputError", "NoSpaceError",
]
