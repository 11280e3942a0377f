"""Training engine: steps under tf.distribute, two-stage GANs, checkpoints, CV, tuning.

Import the submodules you need (``msgan.training.loop``, ``.run``, ...); this package
imports TensorFlow only through them. ``load_run`` is re-exported for convenience.
"""


def load_run(run_dir, precision: str = "float32"):
    """``(model, config, normalizer)`` of a finished run folder (see :mod:`msgan.training.run`)."""
    from msgan.training.run import load_run as _load_run

    return _load_run(run_dir, precision)


__all__ = ["load_run"]
