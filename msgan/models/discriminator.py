"""The 3-D patch discriminators: ch. 3 (sec. 3.2.4, Fig. 3.3B) and CF-SAGAN's (sec. 4.2.6)."""
from __future__ import annotations

import keras
from keras import layers, ops

from msgan.layers import ConvBlock, FlexibleSelfAttention, ResDown
from msgan.models.base import VolumeModel


@keras.saving.register_keras_serializable(package="msgan")
class PatchDiscriminator(VolumeModel):
    """Classify every non-overlapping ``patch_size``^3 patch of (conditioning MRI, target).

    ``call([mri, target])`` stacks the two along channels, cuts the volume into
    non-overlapping cubic patches and runs one CNN on each: ``levels`` times a 3x3x3
    stride-1 conv, batch norm and LeakyReLU 0.2, then downsampling, then a
    2-node dense layer with softmax. It returns per-patch class probabilities of shape
    (B, D/P, H/P, W/P, 2); channel 1 is "real", channel 0 "fake". The adversarial losses
    (``msgan.losses``) sum the patches' cross-entropies (sec. 3.2.4).

    ``residual=False`` (ch. 3) downsamples by 2x max-pooling (Fig. 3.3B says "Downsampling";
    ch. 4 names strided convs as its change); ``residual=True`` (CF-SAGAN, sec. 4.2.6)
    downsamples by :class:`ResDown` blocks. ``attention_level`` inserts a
    :class:`FlexibleSelfAttention` unit after that level (CF-SAGAN: after level 1).
    Spatial sizes must be divisible by ``patch_size``, and ``patch_size`` by 2**levels.
    """

    def __init__(self, patch_size=32, base_filters=32, levels=3, residual=False,
                 attention_level=None, attention_pool=2, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.patch_size = int(patch_size)
        self.base_filters = int(base_filters)
        self.levels = int(levels)
        self.residual = bool(residual)
        self.attention_level = None if attention_level is None else int(attention_level)
        self.attention_pool = int(attention_pool)
        self.dropout = float(dropout)
        if self.patch_size % 2 ** self.levels:
            raise ValueError(f"patch_size {self.patch_size} is not divisible by 2**levels")
        self.convs, self.downs = [], []
        for level in range(self.levels):
            filters = self.base_filters * 2 ** level
            self.convs.append(ConvBlock(filters, activation="leaky_relu", batch_norm=True,
                                        norm_first=True, name=f"conv{level}"))
            self.downs.append(ResDown(filters, dropout=self.dropout, name=f"resdown{level}")
                              if self.residual else layers.MaxPooling3D(2, name=f"pool{level}"))
        self.attention = (FlexibleSelfAttention(self.attention_pool, name="attention")
                          if self.attention_level is not None else None)
        self.flatten = layers.Flatten()
        self.classifier = layers.Dense(2, activation="softmax", name="classifier")

    @property
    def min_size(self):
        return self.patch_size

    def call(self, inputs, training=None):
        mri, target = inputs
        x = ops.concatenate([mri, target], axis=-1)
        patches, grid = _to_patches(x, self.patch_size)
        for level, (conv, down) in enumerate(zip(self.convs, self.downs)):
            patches = conv(patches, training=training)
            patches = down(patches, training=training) if self.residual else down(patches)
            if level == self.attention_level:
                patches = self.attention(patches)
        probabilities = self.classifier(self.flatten(patches))
        return ops.reshape(probabilities, (ops.shape(x)[0],) + grid + (2,))

    def get_config(self):
        return {**super().get_config(), "patch_size": self.patch_size,
                "base_filters": self.base_filters, "levels": self.levels,
                "residual": self.residual, "attention_level": self.attention_level,
                "attention_pool": self.attention_pool, "dropout": self.dropout}


def _to_patches(x, size):
    """(B, D, H, W, C) -> (B * nD * nH * nW, size, size, size, C) and the grid (nD, nH, nW)."""
    batch, depth, height, width, channels = ops.shape(x)
    grid = (depth // size, height // size, width // size)
    x = ops.reshape(x, (batch, grid[0], size, grid[1], size, grid[2], size, channels))
    x = ops.transpose(x, (0, 1, 3, 5, 2, 4, 6, 7))
    return ops.reshape(x, (-1, size, size, size, x.shape[-1])), grid
