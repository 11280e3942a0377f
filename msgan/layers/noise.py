"""The Sketcher's noise input z (sec. 3.3.1)."""
from __future__ import annotations

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="msgan")
class GaussianNoiseChannel(layers.Layer):
    """Append one channel of standard normal noise z to the input.

    Why a channel: the thesis keeps z for the Sketcher (sec. 3.3.1) without saying how it
    enters a fully convolutional 3-D U-Net; a dense z vector would tie the network to one
    patch size, while a noise channel (as in conditional image-to-image GANs that feed
    noise spatially) works at any size. z is drawn on every call, in training and at
    inference: the thesis wants it to give "slight variation in the generated images";
    pass ``seed`` for reproducible draws.
    """

    def __init__(self, stddev=1.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.stddev = float(stddev)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, x):
        z = keras.random.normal(ops.shape(x[..., :1]), stddev=self.stddev, dtype=x.dtype,
                                seed=self.seed_generator)
        return ops.concatenate([x, z], axis=-1)

    def compute_output_shape(self, input_shape):
        channels = None if input_shape[-1] is None else input_shape[-1] + 1
        return tuple(input_shape[:-1]) + (channels,)

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}

