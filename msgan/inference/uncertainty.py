"""Monte-Carlo dropout (Gal & Ghahramani 2016; beyond the thesis): N stochastic predictions
with only the Dropout layers active, their voxel-wise mean and standard deviation.

Batch normalisation must stay in inference mode: in training mode it would normalise each
window by its own batch statistics, adding noise that is not model uncertainty. Keras 3's
``BatchNormalization`` uses its moving statistics whenever ``trainable`` is False, so the
batch-norm layers are frozen while the model is called with ``training=True``.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

import keras
import numpy as np
from tqdm import tqdm

from data_tools.errors import ConfigError

_DROPOUT_TYPES = (keras.layers.Dropout, keras.layers.SpatialDropout1D, keras.layers.SpatialDropout2D,
                  keras.layers.SpatialDropout3D, keras.layers.GaussianDropout, keras.layers.AlphaDropout)


def _sublayers(model) -> list:
    if not isinstance(model, keras.layers.Layer):
        return []
    return list(model._flatten_layers(include_self=False, recursive=True))


def dropout_layers(model) -> list:
    """The model's Dropout-family layers with a non-zero rate (nested layers included)."""
    return [layer for layer in _sublayers(model)
            if isinstance(layer, _DROPOUT_TYPES) and float(getattr(layer, "rate", 0.0)) > 0]


@contextlib.contextmanager
def mc_dropout(model) -> Iterator[None]:
    """Within the block, ``model(x, training=True)`` drops out but batch norm is in
    inference mode. A model without dropout is a :class:`ConfigError`, not a silent no-op."""
    if not dropout_layers(model):
        name = getattr(model, "name", type(model).__name__)
        raise ConfigError(f"model {name} has no dropout layers; Monte-Carlo dropout (--samples) "
                          "needs a model trained with dropout (unet, cgan, cfsagan, ...)")
    norms = [layer for layer in _sublayers(model) if isinstance(layer, keras.layers.BatchNormalization)
             and layer.trainable]
    for layer in norms:
        layer.trainable = False
    try:
        yield
    finally:
        for layer in norms:
            layer.trainable = True


def mc_dropout_predict(predictor, volumes: np.ndarray, brainmask: np.ndarray, samples: int,
                       progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Mean prediction and voxel-wise sample SD (ddof=1) over ``samples`` dropout passes.

    ``predictor`` is a :class:`~msgan.inference.pipeline.VolumePredictor`; both maps are
    in the target's units and 0 outside the brain.
    """
    if samples < 2:
        raise ConfigError(f"--samples needs at least 2 passes to estimate a standard deviation, got {samples}")
    with mc_dropout(predictor.model):
        run = predictor.compiled(stochastic=True, fresh=True)  # traced with batch norm frozen
        draws = np.stack([run(volumes.astype(np.float32), brainmask.astype(np.float32)).numpy()
                          for _ in tqdm(range(samples), desc="MC dropout", unit="pass",
                                        disable=not progress, leave=False)])
    return draws.mean(axis=0).astype(np.float32), draws.std(axis=0, ddof=1).astype(np.float32)
