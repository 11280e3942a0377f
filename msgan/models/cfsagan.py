"""The CF-SAGAN generator (sec. 4.2.6, Fig. 4.2c); its discriminator is
:class:`~msgan.models.discriminator.PatchDiscriminator` with ``residual=True``."""
from __future__ import annotations

import keras
from keras import ops

from msgan.layers import ConvBlock, FlexibleSelfAttention, GaussianNoiseChannel, ResDown, ResUp
from msgan.models.base import VolumeModel


@keras.saving.register_keras_serializable(package="msgan")
class CFSAGANGenerator(VolumeModel):
    """Conv (16 features), four ResDown blocks doubling the features (32 ... 256), four ResUp
    blocks halving them back, long skips concatenating each encoder level to the decoder
    level of the same size, and an output conv (LeakyReLU like the ch. 3 U-Net, since DVR
    is not in [0, 1]).

    One flexible self-attention unit sits in the encoder after ResDown number
    ``attention_level`` and one in the decoder at the same resolution; the thesis says
    "in between" without a level, and ``attention_level=2`` (1/4 resolution, 64 features
    by default) keeps the attention map small ((N / 4^3 / p^3)^2 entries).
    ``noise=True`` appends the Sketcher's noise channel z (as :class:`UNet`).
    Spatial sizes must be divisible by 2**levels (16), and the attention level's size by p.
    """

    def __init__(self, base_filters=16, levels=4, attention_level=2, attention_pool=2,
                 dropout=0.5, noise=False, noise_seed=None, **kwargs):
        super().__init__(**kwargs)
        self.base_filters = int(base_filters)
        self.levels = int(levels)
        self.attention_level = int(attention_level)
        self.attention_pool = int(attention_pool)
        self.dropout = float(dropout)
        self.noise = bool(noise)
        self.noise_seed = noise_seed
        if not 1 <= self.attention_level < self.levels:
            raise ValueError(f"attention_level must be in 1..{self.levels - 1}")
        self.noise_layer = GaussianNoiseChannel(seed=noise_seed, name="z") if self.noise else None
        widths = [self.base_filters * 2 ** level for level in range(self.levels + 1)]
        self.input_conv = ConvBlock(widths[0], activation="leaky_relu", name="input_conv")
        self.down = [ResDown(widths[level], dropout=self.dropout, name=f"resdown{level}")
                     for level in range(1, self.levels + 1)]
        self.up = [ResUp(widths[level], dropout=self.dropout, name=f"resup{level}")
                   for level in reversed(range(self.levels))]
        self.encoder_attention = FlexibleSelfAttention(self.attention_pool, name="enc_attention")
        self.decoder_attention = FlexibleSelfAttention(self.attention_pool, name="dec_attention")
        self.output_conv = ConvBlock(1, activation="leaky_relu", name="output_conv")

    @property
    def min_size(self):
        # every level halves the size; the attention level must still be divisible by p
        return max(2 ** self.levels, 2 ** self.attention_level * self.attention_pool)

    def call(self, x, training=None):
        if self.noise_layer is not None:
            x = self.noise_layer(x, training=training)
        x = self.input_conv(x)
        skips = [x]
        for level, block in enumerate(self.down, start=1):
            x = block(x, training=training)
            if level == self.attention_level:
                x = self.encoder_attention(x)
            skips.append(x)
        skips.pop()  # the bottom level is the decoder's input, not a skip
        for level, block in zip(reversed(range(self.levels)), self.up):
            x = ops.concatenate([block(x, training=training), skips[level]], axis=-1)
            if level == self.attention_level:
                x = self.decoder_attention(x)
        return self.output_conv(x)

    def get_config(self):
        return {**super().get_config(), "base_filters": self.base_filters, "levels": self.levels,
                "attention_level": self.attention_level, "attention_pool": self.attention_pool,
                "dropout": self.dropout, "noise": self.noise, "noise_seed": self.noise_seed}
