"""Compute precision and XLA compilation of training and prediction (``--precision``,
``--jit-compile``), as a Keras 3 / TensorFlow user expects them.

- ``mixed_bfloat16`` / ``mixed_float16``: the layers compute in 16 bits, the variables,
  the output heads (:mod:`msgan.models.precision`) and therefore the losses stay float32;
  float16 training scales its losses (``keras.optimizers.LossScaleOptimizer``: dynamic
  scale, steps with non-finite gradients skipped), bfloat16 needs no scaling (float32's
  exponent range).
- ``jit_compile``: every training step's per-replica function (as Keras's own
  ``fit(jit_compile=True)``) and the network inside the sliding window are XLA-compiled.

:func:`compute_settings` sets both for every training and prediction started in its block
that does not name its own (``msgan reproduce``: the chapters' many runs).
"""
from __future__ import annotations

import contextlib
import contextvars
from typing import Iterator

from data_tools.contracts import PRECISIONS, look_up_option
from msgan.errors import ConfigError

_SETTINGS = contextvars.ContextVar("msgan_compute_settings", default=("float32", False))


def check_precision(precision: str, jit_compile: bool = False) -> str:
    """``precision`` if it is one of :data:`PRECISIONS` this machine can run.

    TensorFlow has no CPU kernels for float16 3-D pooling: on a machine without a GPU,
    ``mixed_float16`` runs only XLA-compiled (``--jit-compile``)."""
    look_up_option(precision, PRECISIONS, "--precision")
    if precision == "mixed_float16" and not jit_compile:
        import tensorflow as tf

        if not tf.config.list_physical_devices("GPU"):
            raise ConfigError("--precision mixed_float16 needs a GPU, or --jit-compile on a CPU "
                              "(TensorFlow's CPU kernels lack float16 3-D pooling)")
    return precision


@contextlib.contextmanager
def compute_settings(precision: str = "float32", jit_compile: bool = False) -> Iterator[None]:
    """Within the block, trainings and predictions that name no precision/XLA setting use these."""
    look_up_option(precision, PRECISIONS, "--precision")
    token = _SETTINGS.set((precision, bool(jit_compile)))
    try:
        yield
    finally:
        _SETTINGS.reset(token)


def current_settings() -> tuple[str, bool]:
    """``(precision, jit_compile)`` of the innermost :func:`compute_settings` block (float32, no XLA)."""
    return _SETTINGS.get()


def scaled_optimizer(optimizer, precision: str):
    """``optimizer`` wrapped in a dynamic ``LossScaleOptimizer`` for ``mixed_float16``."""
    import keras

    if precision != "mixed_float16":
        return optimizer
    return keras.optimizers.LossScaleOptimizer(optimizer)


def compiled_replica_fn(fn, jit_compile: bool):
    """The per-replica step function, XLA-compiled when asked (as Keras's ``fit`` does)."""
    if not jit_compile:
        return fn
    import tensorflow as tf

    return tf.function(fn, jit_compile=True, reduce_retracing=True)
