"""Pick the tf.distribute strategy for this machine (issue 5, item 4).

One code path for a laptop CPU, a multi-GPU box and several machines: models and
optimisers are built in ``strategy.scope()``, datasets go through
``strategy.experimental_distribute_dataset`` and losses are averaged over the global batch
(:func:`msgan.training.steps.global_average`).
"""
from __future__ import annotations

import json
import logging
import os

import tensorflow as tf

log = logging.getLogger(__name__)

# One strategy per device set and process: a second MirroredStrategy over the same devices
# reuses collective instance keys and aborts with "Shape mismatch in the collective
# instance" (tensorflow/tensorflow#62790); cross-validation folds and tuner trials share it.
_STRATEGIES: dict[tuple, tf.distribute.Strategy] = {}


def tf_config_workers(environ=None) -> int:
    """Number of workers named by ``TF_CONFIG`` (0 when unset or unreadable)."""
    text = (os.environ if environ is None else environ).get("TF_CONFIG", "")
    if not text:
        return 0
    try:
        cluster = json.loads(text).get("cluster", {})
    except (ValueError, AttributeError):
        return 0
    return len(cluster.get("worker", [])) + len(cluster.get("chief", []))


def choose_strategy(devices: list[str] | None = None) -> tf.distribute.Strategy:
    """MultiWorkerMirroredStrategy when TF_CONFIG names several workers, else MirroredStrategy.

    ``devices`` overrides the local device list (tests use two logical CPUs). Without GPUs
    MirroredStrategy runs on the CPU, so the same training code runs everywhere.
    """
    if devices is None and tf_config_workers() > 1:
        if "multi-worker" not in _STRATEGIES:
            log.info("TF_CONFIG names %d workers: MultiWorkerMirroredStrategy", tf_config_workers())
            _STRATEGIES["multi-worker"] = tf.distribute.MultiWorkerMirroredStrategy()
        return _STRATEGIES["multi-worker"]
    if devices is None:
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus] if gpus else ["/cpu:0"]
    key = tuple(devices)
    if key not in _STRATEGIES:
        log.info("MirroredStrategy over %s", ", ".join(devices))
        _STRATEGIES[key] = tf.distribute.MirroredStrategy(list(devices))
    return _STRATEGIES[key]


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """True on the worker that writes run files (the only one, except under multi-worker)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not getattr(resolver, "task_type", None):
        return True
    return resolver.task_type == "chief" or (resolver.task_type == "worker" and resolver.task_id == 0
                                             and "chief" not in resolver.cluster_spec().as_dict())
