"""Stop a run cleanly on SIGTERM (Slurm ``scancel``, Kubernetes pod deletion): issue 21, item 3.

:func:`stop_on_sigterm` replaces the SIGTERM handler (TensorFlow's multi-worker runtime
installs one that ignores it) with one that only records the request; the epoch loop
asks :func:`stop_requested` after every step, saves a checkpoint and raises
:class:`~msgan.errors.TrainingStopped`, so ``--resume`` continues from that step. Under
multi-worker training the workers decide together (a sum all-reduce of the flags), so a
signal reaching one worker stops all of them at the same step.
"""
from __future__ import annotations

import contextlib
import signal
import threading
from typing import Callable, Iterator

import tensorflow as tf

_REQUESTED = threading.Event()


@contextlib.contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """Within the block, SIGTERM asks the loop to stop; the previous handler is put back after."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return
    _REQUESTED.clear()
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: _REQUESTED.set())
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        _REQUESTED.clear()


def request_stop() -> None:
    """What the SIGTERM handler does (also for tests and embedding programs)."""
    _REQUESTED.set()


def stop_requested(strategy) -> bool:
    """True when this worker, or under multi-worker training any worker, was asked to stop."""
    local = 1.0 if _REQUESTED.is_set() else 0.0
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return bool(local)
    return float(_sum_over_workers(strategy)(tf.constant(local))) > 0


_SUMS: dict[int, Callable] = {}


def _sum_over_workers(strategy) -> Callable:
    """A compiled all-reduce of one number (eager collectives are slow and warn every call)."""
    if id(strategy) not in _SUMS:
        @tf.function
        def total(value):
            per_replica = strategy.run(tf.identity, args=(value,))
            return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)
        _SUMS[id(strategy)] = total
    return _SUMS[id(strategy)]
