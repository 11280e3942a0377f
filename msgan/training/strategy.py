"""Pick the tf.distribute strategy for this machine (issue 5, item 4; issue 21, item 3).

One code path for a laptop CPU, a multi-GPU box and several machines: models and
optimisers are built in ``strategy.scope()``, datasets go through
``strategy.experimental_distribute_dataset`` and losses are averaged over the global batch
(:func:`msgan.training.steps.global_average`).

Several machines are named by ``TF_CONFIG``, which is checked here (one line on a bad
one). TensorFlow waits forever for a worker that never starts: a watchdog process
(:mod:`msgan.training.watchdog`) ends the worker after ``connect_timeout`` seconds with one
line naming the workers that do not answer. The same timeout bounds every collective
step, and a collective error that blames a peer becomes one line naming it.
"""
from __future__ import annotations

import logging
import re

import tensorflow as tf

from msgan.training.cluster import read_tf_config
from msgan.training.presets import DEFAULT_CONNECT_TIMEOUT
from msgan.training.watchdog import StartupWatchdog

log = logging.getLogger(__name__)


# One strategy per device set and process: a second MirroredStrategy over the same devices
# reuses collective instance keys and aborts with "Shape mismatch in the collective
# instance" (tensorflow/tensorflow#62790); cross-validation folds and tuner trials share it.
_STRATEGIES: dict[tuple, tf.distribute.Strategy] = {}


def choose_strategy(devices: list[str] | None = None,
                    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT) -> tf.distribute.Strategy:
    """MultiWorkerMirroredStrategy when TF_CONFIG names several workers, else MirroredStrategy.

    ``devices`` overrides the local device list (tests use two logical CPUs). Without GPUs
    MirroredStrategy runs on the CPU, so the same training code runs everywhere.
    """
    config = read_tf_config() if devices is None else None
    if config is not None and len(config["workers"]) > 1:
        if "multi-worker" not in _STRATEGIES:
            log.info("TF_CONFIG names %d workers: MultiWorkerMirroredStrategy", len(config["workers"]))
            watchdog = StartupWatchdog(config["workers"], config["task"], connect_timeout)
            # A collective that waits longer than this for a peer fails (DeadlineExceeded)
            # instead of hanging forever when the peer has died.
            options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=connect_timeout)
            _STRATEGIES["multi-worker"] = tf.distribute.MultiWorkerMirroredStrategy(
                communication_options=options)
            watchdog.done()
        return _STRATEGIES["multi-worker"]
    if devices is None:
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus] if gpus else ["/cpu:0"]
    key = tuple(devices)
    if key not in _STRATEGIES:
        log.info("MirroredStrategy over %s", ", ".join(devices))
        _STRATEGIES[key] = tf.distribute.MirroredStrategy(list(devices))
    return _STRATEGIES[key]


def is_multi_worker(strategy: tf.distribute.Strategy) -> bool:
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """True on the worker that writes run files (the only one, except under multi-worker)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not getattr(resolver, "task_type", None):
        return True
    return resolver.task_type == "chief" or (resolver.task_type == "worker" and resolver.task_id == 0
                                             and "chief" not in resolver.cluster_spec().as_dict())


def peer_failure(exc: Exception, environ=None) -> str | None:
    """One line naming the worker a collective-op error blames, or None if it is no such error.

    TensorFlow names the peer as ``/job:worker/replica:0/task:1`` in the message.
    """
    if not isinstance(exc, (tf.errors.UnavailableError, tf.errors.DeadlineExceededError,
                            tf.errors.AbortedError, tf.errors.CancelledError,
                            tf.errors.FailedPreconditionError, tf.errors.InternalError)):
        return None
    config = read_tf_config(environ)
    if config is None or len(config["workers"]) < 2:
        return None
    addresses = {(job, i): address for job, i, address in config["workers"]}
    named = []
    for job, index in re.findall(r"/job:(\w+)/replica:\d+/task:(\d+)", str(exc)):
        key = (job, int(index))
        if key != config["task"] and key in addresses and key not in named:
            named.append(key)
    who = (", ".join(f"{job} {i} ({addresses[(job, i)]})" for job, i in named) if named
           else "another worker")
    return f"{who} stopped answering ({type(exc).__name__}); restart every worker with --resume"
