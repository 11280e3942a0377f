"""The 3D U-Net generator of ch. 3 (sec. 3.2.4, Fig. 3.3A)."""
from __future__ import annotations

import keras
from keras import ops

from msgan.layers import ConvBlock, GaussianNoiseChannel
from msgan.models.base import VolumeModel


@keras.saving.register_keras_serializable(package="msgan")
class UNet(VolumeModel):
    """Encoder: ``levels`` times (two 3x3x3 convs, a stride-2 conv), features starting at
    ``base_filters`` (32) and doubling per level; two bottleneck convs; decoder: ``levels``
    times (stride-2 transposed conv, skip concatenation of the encoder's last conv before
    downsampling, two convs). Every conv is followed by LeakyReLU 0.2, batch norm and
    dropout 0.5 (sec. 3.2.4). The output conv ends with a LeakyReLU instead of a sigmoid
    because DVR is not in [0, 1] (sec. 3.3.2). Spatial sizes must be divisible by
    2**levels.

    ``noise=True`` appends a standard normal noise channel z to the input (the Sketcher's
    z, sec. 3.3.1; see :class:`~msgan.layers.GaussianNoiseChannel` for why a channel and
    how it is fixed at inference); the Refiner has none.
    """

    def __init__(self, base_filters=32, levels=3, dropout=0.5, noise=False, noise_seed=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.base_filters = int(base_filters)
        self.levels = int(levels)
        self.dropout = float(dropout)
        self.noise = bool(noise)
        self.noise_seed = noise_seed
        self.noise_layer = GaussianNoiseChannel(seed=noise_seed, name="z") if self.noise else None

        def block(filters, name, **extra):
            return ConvBlock(filters, activation="leaky_relu", batch_norm=True,
                             dropout=self.dropout, name=name, **extra)

        widths = [self.base_filters * 2 ** level for level in range(self.levels)]
        self.encoder = [[block(f, f"enc{level}_{k}") for k in range(2)]
                        for level, f in enumerate(widths)]
        self.downsample = [block(f, f"down{level}", strides=2) for level, f in enumerate(widths)]
        bottom = self.base_filters * 2 ** self.levels
        self.bottleneck = [block(bottom, f"bottleneck_{k}") for k in range(2)]
        self.upsample = [block(widths[level], f"up{level}", strides=2, transpose=True)
                         for level in reversed(range(self.levels))]
        self.decoder = [[block(widths[level], f"dec{level}_{k}") for k in range(2)]
                        for level in reversed(range(self.levels))]
        self.output_conv = ConvBlock(1, activation="leaky_relu", name="output_conv")

    @property
    def min_size(self):
        return 2 ** self.levels

    def call(self, x, training=None):
        if self.noise_layer is not None:
            x = self.noise_layer(x, training=training)
        skips = []
        for convs, down in zip(self.encoder, self.downsample):
            for conv in convs:
                x = conv(x, training=training)
            skips.append(x)
            x = down(x, training=training)
        for conv in self.bottleneck:
            x = conv(x, training=training)
        for up, convs, skip in zip(self.upsample, self.decoder, reversed(skips)):
            x = ops.concatenate([up(x, training=training), skip], axis=-1)
            for conv in convs:
                x = conv(x, training=training)
        return self.output_conv(x)

    def get_config(self):
        return {**super().get_config(), "base_filters": self.base_filters, "levels": self.levels,
                "dropout": self.dropout, "noise": self.noise, "noise_seed": self.noise_seed}
