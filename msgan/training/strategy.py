"""Pick the tf.distribute strategy for this machine (issue 5, item 4; issue 21, item 3).

One code path for a laptop CPU, a multi-GPU box and several machines: models and
optimisers are built in ``strategy.scope()``, datasets go through
``strategy.experimental_distribute_dataset`` and losses are averaged over the global batch
(:func:`msgan.training.steps.global_average`).

Several machines are named by ``TF_CONFIG``, which is checked here (one line on a bad
one). TensorFlow waits forever, inside C++, for a worker that never starts; a watchdog
thread ends the process after ``connect_timeout`` seconds with one line naming the
workers that do not answer.
"""
from __future__ import annotations

import json
import logging
import os
import re
import socket
import sys
import threading

import tensorflow as tf

from msgan.errors import ConfigError
from msgan.training.presets import DEFAULT_CONNECT_TIMEOUT

log = logging.getLogger(__name__)


# One strategy per device set and process: a second MirroredStrategy over the same devices
# reuses collective instance keys and aborts with "Shape mismatch in the collective
# instance" (tensorflow/tensorflow#62790); cross-validation folds and tuner trials share it.
_STRATEGIES: dict[tuple, tf.distribute.Strategy] = {}


def read_tf_config(environ=None) -> dict | None:
    """``TF_CONFIG`` checked: None when unset; else ``{"workers": [...], "task": (type, index)}``.

    Raises :class:`ConfigError` (named ``TF_CONFIG``) on anything TensorFlow would choke on.
    """
    text = (os.environ if environ is None else environ).get("TF_CONFIG", "").strip()
    if not text:
        return None
    try:
        config = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"not valid JSON ({exc})", "TF_CONFIG") from None
    cluster = config.get("cluster") if isinstance(config, dict) else None
    if not isinstance(cluster, dict) or not cluster:
        raise ConfigError('needs a "cluster" object, e.g. {"worker": ["host-a:12345", "host-b:12345"]}',
                          "TF_CONFIG")
    workers = []
    for job in ("chief", "worker"):
        addresses = cluster.get(job, [])
        if not isinstance(addresses, list) or not all(
                isinstance(a, str) and re.fullmatch(r"[^\s:]+:\d+", a) for a in addresses):
            raise ConfigError(f'cluster "{job}" must be a list of "host:port"', "TF_CONFIG")
        workers += [(job, i, a) for i, a in enumerate(addresses)]
    unknown = sorted(set(cluster) - {"chief", "worker"})
    if unknown:
        raise ConfigError(f"msgan trains with chief/worker tasks only, not {', '.join(unknown)}", "TF_CONFIG")
    task = config.get("task")
    if not isinstance(task, dict) or task.get("type") not in ("chief", "worker"):
        raise ConfigError('needs "task": {"type": "worker", "index": N}', "TF_CONFIG")
    index, count = task.get("index"), len(cluster.get(task["type"], []))
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < count:
        raise ConfigError(f"task index {index!r} is outside the cluster's {count} {task['type']}(s)",
                          "TF_CONFIG")
    return {"workers": workers, "task": (task["type"], index)}


def tf_config_workers(environ=None) -> int:
    """Number of workers (chief included) named by ``TF_CONFIG`` (0 when unset)."""
    config = read_tf_config(environ)
    return 0 if config is None else len(config["workers"])


def _reachable(address: str, timeout: float = 1.0) -> bool:
    host, port = address.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError:
        return False
    return True


def _watch_startup(config: dict, timeout: float) -> threading.Event:
    """Exit the process (code 2, one line) unless the returned event is set within ``timeout``."""
    started = threading.Event()
    me = config["task"]

    def watch():
        if started.wait(timeout):
            return
        missing = [f"{job} {i} ({address})" for job, i, address in config["workers"]
                   if (job, i) != me and not _reachable(address)]
        who = ", ".join(missing) if missing else "a worker (their ports answer; still starting?)"
        sys.stderr.write(f"error: TF_CONFIG: {who} did not join within {timeout:g} s "
                         f"(--connect-timeout); start every worker with the same command\n")
        sys.stderr.flush()
        os._exit(2)  # the main thread is blocked inside TensorFlow: nothing else ends it

    threading.Thread(target=watch, name="msgan-connect-watchdog", daemon=True).start()
    return started


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
            started = _watch_startup(config, connect_timeout)
            # A collective that waits longer than this for a peer fails (DeadlineExceeded)
            # instead of hanging forever when the peer has died.
            options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=connect_timeout)
            _STRATEGIES["multi-worker"] = tf.distribute.MultiWorkerMirroredStrategy(
                communication_options=options)
            started.set()
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
