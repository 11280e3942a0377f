"""The Sketcher's noise input z (sec. 3.3.1), random in training and fixed at inference."""
from __future__ import annotations

import contextlib
from typing import Iterator

import keras
from keras import layers, ops

#: seed of the fixed inference draws: draw k is the stateless normal field of seed
#: INFERENCE_SEED + k, the same for every window, session and run
INFERENCE_SEED = 20200101


@keras.saving.register_keras_serializable(package="msgan")
class GaussianNoiseChannel(layers.Layer):
    """Append one channel of standard normal noise z to the input.

    Why a channel: the thesis keeps z for the Sketcher (sec. 3.3.1) without saying how it
    enters a fully convolutional 3-D U-Net; a dense z vector would tie the network to one
    patch size, while a noise channel (as in conditional image-to-image GANs that feed
    noise spatially) works at any size.

    In training z is drawn afresh at every call. At inference it is fixed, so the same
    scan always gives the same image and a patient's t0 and t1 predictions differ only by
    their inputs (sec. 4.2.5 compares them voxel by voxel): by default z = 0, its mean;
    :func:`fixed_noise` selects instead the k-th fixed draw, a stateless normal field of
    seed ``INFERENCE_SEED + k``, identical in every window of every session (the mean of
    K such predictions estimates E_z[G(x, z)], ``msgan predict --noise-samples K``).
    ``sampling`` (set by :func:`sampled_noise`) draws z at inference too: the frozen
    Sketcher feeding a Refiner in training (eq. 3.3, I_s ~ G_S(I_M, z)).
    """

    def __init__(self, stddev=1.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.stddev = float(stddev)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.inference_draw: int | None = None  # None: z = 0
        self.sampling = False

    def call(self, x, training=None):
        shape = ops.shape(x[..., :1])
        if training or self.sampling:
            z = keras.random.normal(shape, stddev=self.stddev, dtype=x.dtype, seed=self.seed_generator)
        elif self.inference_draw is None:
            z = ops.zeros(shape, dtype=x.dtype)
        else:
            # an integer seed makes Keras draw statelessly: the same field at every call
            z = keras.random.normal(shape, stddev=self.stddev, dtype=x.dtype,
                                    seed=INFERENCE_SEED + int(self.inference_draw))
        return ops.concatenate([x, z], axis=-1)

    def compute_output_shape(self, input_shape):
        channels = None if input_shape[-1] is None else input_shape[-1] + 1
        return tuple(input_shape[:-1]) + (channels,)

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


def noise_layers(model) -> list[GaussianNoiseChannel]:
    """Every noise channel inside ``model`` (a two-stage GAN has one, in its Sketcher)."""
    if not isinstance(model, layers.Layer):
        return []
    return [layer for layer in model._flatten_layers(include_self=True, recursive=True)
            if isinstance(layer, GaussianNoiseChannel)]


@contextlib.contextmanager
def _overriding(model, attribute: str, value) -> Iterator[None]:
    """Every noise channel of ``model`` has ``attribute = value`` within the block."""
    found = noise_layers(model)
    previous = [getattr(layer, attribute) for layer in found]
    for layer in found:
        setattr(layer, attribute, value)
    try:
        yield
    finally:
        for layer, old in zip(found, previous):
            setattr(layer, attribute, old)


def fixed_noise(model, draw: int | None) -> contextlib.AbstractContextManager:
    """Within the block (read when a graph is traced), inference uses draw ``draw``
    (``None``: z = 0)."""
    return _overriding(model, "inference_draw", draw)


def sampled_noise(model) -> contextlib.AbstractContextManager:
    """Within the block, z is drawn at every call, inference mode included."""
    return _overriding(model, "sampling", True)
