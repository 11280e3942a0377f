"""The cluster named by ``TF_CONFIG``, checked before TensorFlow is imported (issue 21, item 3).

A malformed ``TF_CONFIG`` or a task index outside its cluster is one line naming
``TF_CONFIG``, not a TensorFlow traceback (nor, as before, a silent single-machine run).
"""
from __future__ import annotations

import json
import os
import re

from msgan.errors import ConfigError


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
