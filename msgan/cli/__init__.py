"""The ``msgan`` command line: a thin click group over library functions.

Commands are registered in :data:`COMMANDS` as ``name -> "module:function"`` and imported
only when run (or when ``--help`` lists them), so ``msgan --help`` does not pay for
importing TensorFlow. Any :class:`~msgan.errors.MsganError` becomes one line
``error: <file>: <problem>`` and exit code 2; ``--debug`` shows the traceback instead.
"""
from __future__ import annotations

import importlib
import logging
import signal
import sys

import click

from msgan._version import __version__
from msgan.cli.quiet import no_progress_bars, quiet_console, wants_quiet, wants_verbose
from msgan.errors import MsganError

#: command name -> "module:attribute" of a click command. Keep sorted by workflow order.
COMMANDS = {
    "simulate": "msgan.cli.simulate:simulate",
    "preprocess": "msgan.cli.preprocess:preprocess",
    "make-tfrecords": "msgan.cli.data:make_tfrecords",
    "models": "msgan.cli.models:models_command",
    "train": "msgan.cli.train:train_command",
    "cv": "msgan.cli.train:cv_command",
    "tune": "msgan.cli.train:tune_command",
    "predict": "msgan.cli.predict:predict_command",
    "export": "msgan.cli.predict:export_command",
    "synthesize": "msgan.cli.synthesize:synthesize_command",
    "evaluate": "msgan.cli.evaluate:evaluate_command",
    "saliency": "msgan.cli.saliency:saliency_command",
    "ablate": "msgan.cli.ablate:ablate_command",
    "demo": "msgan.cli.demo:demo_command",
    "reproduce": "msgan.cli.reproduce:reproduce_command",
}


class LazyGroup(click.Group):
    """A click group that imports each command's module on first use."""

    def list_commands(self, ctx):
        return list(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        module, attr = COMMANDS[name].split(":")
        return getattr(importlib.import_module(module), attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="msgan")
@click.option("--debug", is_flag=True, help="Show full tracebacks instead of one-line errors.")
@click.option("-v", "--verbose", is_flag=True, help="Log progress details, TensorFlow's own log lines included.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars, for every command (warnings and errors stay).")
@click.pass_context
def cli(ctx, debug, verbose, quiet):
    """msgan: predict missing FLAIR or [11C]PIB PET myelin maps of MS patients from MRI."""
    ctx.ensure_object(dict)["debug"] = debug
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")


def main(argv=None):
    """Console-script entry point: run the group, turning MsganError into one line + exit 2."""
    args = sys.argv[1:] if argv is None else list(argv)
    quiet_console(wants_verbose(args))  # before any command imports TensorFlow
    if wants_quiet(args):
        no_progress_bars()
    previous = _terminate_on_sigterm()
    _hold_stop_signals_in_a_cluster(args)
    try:
        cli.main(args=args, prog_name="msgan", standalone_mode=False)
    except Terminated:
        click.echo("error: stopped by SIGTERM; the partial output was deleted", err=True)
        sys.exit(128 + signal.SIGTERM)
    except MsganError as exc:
        if "--debug" in args:
            raise
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:  # usage errors too: one line, like every error
        click.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # the operating system refused (unwritable folder, full disk, ...)
        line = refusal_line(exc)
        if line is None or "--debug" in args:
            raise
        click.echo(f"error: {line}", err=True)
        sys.exit(2)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    sys.exit(0)


class Terminated(BaseException):
    """SIGTERM outside training (which checkpoints instead): unwinds like Ctrl-C, so every
    ``atomic_output_*`` block deletes its partial output (BaseException: no ``except
    Exception`` swallows it)."""


def _raise_terminated(signum, frame):
    raise Terminated


def _terminate_on_sigterm():
    """Install the SIGTERM handler; the previous one, or None off the main thread."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _raise_terminated)


def refusal_line(exc: Exception) -> str | None:
    """One line for a full disk (a TensorFlow error too) or another OSError; None for bugs."""
    from data_tools.io.full_disk import full_disk_error

    full = full_disk_error(exc)
    if full is not None:
        return full.message
    return os_error_line(exc) if isinstance(exc, OSError) else None


def _hold_stop_signals_in_a_cluster(args) -> None:
    """A training worker of a TF_CONFIG cluster blocks SIGTERM and SIGINT before any thread
    starts (numpy's, TensorFlow's), so that one sent while it waits for the other workers
    stays pending for the start-up watchdog (:mod:`msgan.training.watchdog`) to act on."""
    from msgan.training.cluster import tf_config_workers
    from msgan.training.watchdog import hold_stop_signals

    command = next((a for a in args if not a.startswith("-")), None)
    if command not in ("train", "cv", "tune"):
        return
    try:
        several = tf_config_workers() > 1
    except MsganError:  # the command names a bad TF_CONFIG in one line itself
        return
    if several:
        hold_stop_signals()


def os_error_line(exc: OSError) -> str:
    """``<path>: <reason>`` of an OSError, both paths of a failed rename or link."""
    reason = exc.strerror or str(exc)
    paths = [str(p) for p in (exc.filename, exc.filename2) if p is not None]
    return f"{' -> '.join(paths)}: {reason}" if paths else reason
