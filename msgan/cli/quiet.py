"""A quiet console: TensorFlow's C++ and absl log lines off unless ``msgan --verbose``.

TensorFlow reads ``TF_CPP_MIN_LOG_LEVEL`` once, when it loads, so :func:`quiet_console`
runs in :func:`msgan.cli.main` before any command imports it. Without it every command
printed ``cuInit`` errors, ``cpu_feature_guard`` and oneDNN notices and, once per epoch,
"GeneratorDatasetOp ... will not be optimized" between the progress bars. A few lines
that shared libraries write while ``import tensorflow`` runs (absl's "before
InitializeLog" notice, oneDNN, ``cudart_stub``) ignore that level (TensorFlow issue
100442), so that one import runs with file descriptor 2 caught and every other line it
printed is passed on (:class:`QuietTensorFlowImport`; TensorFlow is still imported only by
the commands that need it). What matters to the user stays: msgan's own warnings
(``logging``) and Python warnings, one line each.
"""
from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import logging
import os
import re
import sys
import tempfile
import warnings

#: TensorFlow's C++ log level that hides INFO, WARNING and ERROR lines (FATAL still shows)
QUIET_TF_CPP_LEVEL = "3"
#: a C++ log line (absl/TensorFlow format: ``I0000 00:00:1796406193.626118   22331 port.cc:153] ...``)
#: or absl's notice that logging is not initialised yet
CPP_LOG_LINE = re.compile(r"^([IWEF]\d{4} [\d:.]+\s+\d+ \S+:\d+\]|"
                          r"WARNING: All log messages before absl::InitializeLog\(\))")


def _group_flag(args, names) -> bool:
    """True when the group options (before the command name) hold one of ``names``."""
    for arg in args:
        if not arg.startswith("-"):
            return False
        if arg in names:
            return True
    return False


def wants_verbose(args) -> bool:
    """True when the group options (before the command name) hold ``-v``/``--verbose``."""
    return _group_flag(args, ("-v", "--verbose"))


def wants_quiet(args) -> bool:
    """True when the group options (before the command name) hold ``-q``/``--quiet``."""
    return _group_flag(args, ("-q", "--quiet"))


def no_progress_bars() -> None:
    """Every progress bar off (``msgan --quiet``): tqdm's bars are made with ``disable=True``
    whatever a command asks (commands pass ``disable=not progress``, which would win over
    tqdm's ``TQDM_DISABLE``)."""
    import functools

    from tqdm import std

    original = std.tqdm.__init__
    if getattr(original, "msgan_quiet", False):
        return

    @functools.wraps(original)
    def disabled(self, *args, **kwargs):
        kwargs["disable"] = True
        original(self, *args, **kwargs)

    disabled.msgan_quiet = True
    std.tqdm.__init__ = disabled


def quiet_console(verbose: bool) -> None:
    """Silence TensorFlow's C++/absl logging and its Python loggers, and print Python
    warnings as one line, unless ``verbose``. A level the user set in the environment wins."""
    if verbose:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", QUIET_TF_CPP_LEVEL)
    if "tensorflow" not in sys.modules and not any(isinstance(f, QuietTensorFlowImport) for f in sys.meta_path):
        sys.meta_path.insert(0, QuietTensorFlowImport())
    for name in ("tensorflow", "absl", "h5py"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.showwarning = _one_line_warning


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    stream = file or sys.stderr
    text = " ".join(str(message).split())
    try:
        stream.write(f"warning: {text} ({category.__name__})\n")
    except OSError:  # a closed stderr must not turn a warning into a crash
        pass


class QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """Runs the first ``import tensorflow`` with :func:`cpp_log_lines_dropped`, then
    steps aside (every later import finds the module in ``sys.modules``)."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


class _QuietLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        with cpp_log_lines_dropped():
            self.loader.exec_module(module)


@contextlib.contextmanager
def cpp_log_lines_dropped():
    """File descriptor 2 (C++ code writes there directly) goes to a temporary file for the
    block; afterwards its lines are written to stderr, C++ log lines left out."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no real stderr: nothing to filter
        yield
        return
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(OSError, ValueError, AttributeError):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            lines = caught.read().decode("utf-8", "replace").splitlines(keepends=True)
            kept = "".join(line for line in lines if not CPP_LOG_LINE.match(line))
            if kept:
                with contextlib.suppress(OSError, ValueError, AttributeError):
                    sys.stderr.write(kept)
                    sys.stderr.flush()
