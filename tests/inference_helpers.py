"""Tiny Keras models standing in for the msgan networks in the inference tests."""
from __future__ import annotations

import keras
import numpy as np

NORMALIZATION = {"scope": "global", "region": "all",
                 "stats": {"T1": {"mean": 110.0, "std": 40.0}, "T2": {"mean": 120.0, "std": 45.0},
                           "FLAIR": {"mean": 130.0, "std": 50.0}}}


def fcn_like(n_inputs=2, filters=4, seed=0) -> keras.Model:
    """Stride-1 fully convolutional: 3x3x3, dilated 3x3x3, 3x3x3 (receptive radius 4)."""
    keras.utils.set_random_seed(seed)
    inp = keras.Input((None, None, None, n_inputs))
    x = keras.layers.Conv3D(filters, 3, padding="same", activation="relu")(inp)
    x = keras.layers.Conv3D(filters, 3, padding="same", dilation_rate=2, activation="relu")(x)
    out = keras.layers.Conv3D(1, 1, padding="same")(x)
    return keras.Model(inp, out, name="fcn_like")


def pointwise(n_inputs=2, seed=0) -> keras.Model:
    """1x1x1 convolutions only: exactly translation-equivariant, whatever the padding."""
    keras.utils.set_random_seed(seed)
    inp = keras.Input((None, None, None, n_inputs))
    x = keras.layers.Conv3D(3, 1, activation="tanh")(inp)
    return keras.Model(inp, keras.layers.Conv3D(1, 1)(x), name="pointwise")


def unet_like(n_inputs=2, dropout=0.5, seed=0) -> keras.Model:
    """Strided conv + BatchNormalization + Dropout + transposed conv + skip (total stride 4),
    LeakyReLU as the thesis U-Net, so dropout noise reaches every voxel."""
    keras.utils.set_random_seed(seed)
    inp = keras.Input((None, None, None, n_inputs))
    skip = keras.layers.Conv3D(4, 3, padding="same", activation="leaky_relu")(inp)
    x = keras.layers.Conv3D(4, 3, strides=2, padding="same", activation="leaky_relu")(skip)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Conv3D(4, 3, strides=2, padding="same", activation="leaky_relu")(x)
    if dropout:
        x = keras.layers.Dropout(dropout)(x)
    x = keras.layers.Conv3DTranspose(4, 4, strides=4, padding="same")(x)
    x = keras.layers.Concatenate()([x, skip])
    return keras.Model(inp, keras.layers.Conv3D(1, 1)(x), name="unet_like")


def random_volume(shape=(20, 22, 18), channels=2, seed=0) -> tuple[np.ndarray, np.ndarray]:
    """Raw-intensity volumes (brain ~ N(110, 40), background 0) and their brain mask."""
    rng = np.random.default_rng(seed)
    grid = np.indices(shape).astype(np.float32)
    centre = (np.array(shape, np.float32) - 1) / 2
    radius = np.sqrt(((grid - centre[:, None, None, None]) ** 2).sum(0))
    brain = radius < min(shape) * 0.4
    volumes = rng.normal(110, 40, shape + (channels,)).astype(np.float32) * brain[..., None]
    return volumes, brain


def finished_fcn_run(run) -> "Path":
    """A run folder as training leaves it (config, normalisation, weights) with a 2-filter fcn."""
    import json
    from pathlib import Path

    from msgan.models import build
    from msgan.training.run import save_weights

    run = Path(run)
    run.mkdir(parents=True)
    config = {"task": "flair", "inputs": ["T1", "T2"], "target": "FLAIR", "model": "fcn",
              "model_kwargs": {"filters": 2, "n_layers": 1}, "patch": [8, 8, 8],
              "train_subjects": ["a", "b"], "val_subjects": ["c"]}
    keras.utils.set_random_seed(0)
    save_weights(build("fcn", 2, **config["model_kwargs"]), run / "model.weights.h5")
    (run / "config.json").write_text(json.dumps(config))
    (run / "normalization.json").write_text(json.dumps(NORMALIZATION))
    return run
