"""Deep baselines the thesis compares against: a small U-Net and a voxel-wise MLP (sec. 2.2.3)
and the 2-layer DNN of Li et al. 2014 (sec. 3.3.2)."""
from __future__ import annotations

import keras
from keras import layers, ops

from msgan.layers import ConvBlock
from msgan.models.base import VolumeModel


@keras.saving.register_keras_serializable(package="msgan")
class SmallUNet(VolumeModel):
    """The ch. 2 U-Net baseline: two down blocks (two 3x3x3 ReLU convs, 2x max-pool) of
    16 then 32 features, a bottleneck of two 64-wide convs, two up blocks (stride-2
    transposed conv, skip concatenation, two convs) and a linear 1x1x1 output conv.
    Spatial sizes must be divisible by 4.

    Parameters: 389,617 with 5 inputs, against 375.6K in the thesis (sec. 2.3.2). The
    thesis gives neither the transposed convs' kernel nor the output layer. With 3x3x3
    transposed convs (ours: the kernel of every other layer) and a 1x1x1 output we get
    389,617; with 2x2x2 ones (Ronneberger's "up-convolution") 340,977; keeping 64/32
    channels through the up-convolutions gives 396,065 (2x2x2) or 493,345 (3x3x3). None
    of these readings gives 375.6K exactly, so the thesis's U-Net differs in a detail it
    does not state; ``up_kernel`` selects the two nearest readings.
    """

    def __init__(self, base_filters=16, up_kernel=3, **kwargs):
        super().__init__(**kwargs)
        self.base_filters = int(base_filters)
        self.up_kernel = int(up_kernel)
        f = self.base_filters
        self.down = [[ConvBlock(f * 2 ** level, activation="relu", name=f"down{level}_{k}")
                      for k in range(2)] for level in range(2)]
        self.pool = layers.MaxPooling3D(2)
        self.bottleneck = [ConvBlock(f * 4, activation="relu", name=f"bottleneck_{k}")
                           for k in range(2)]
        self.up_convs = [layers.Conv3DTranspose(f * 2 ** level, self.up_kernel, strides=2,
                                                padding="same", name=f"upconv{level}")
                         for level in (1, 0)]
        self.up = [[ConvBlock(f * 2 ** level, activation="relu", name=f"up{level}_{k}")
                    for k in range(2)] for level in (1, 0)]
        self.output_conv = layers.Conv3D(1, 1, name="output_conv")

    @property
    def min_size(self):
        return 4

    def call(self, x):
        skips = []
        for block in self.down:
            for conv in block:
                x = conv(x)
            skips.append(x)
            x = self.pool(x)
        for conv in self.bottleneck:
            x = conv(x)
        for upconv, block, skip in zip(self.up_convs, self.up, reversed(skips)):
            x = ops.concatenate([upconv(x), skip], axis=-1)
            for conv in block:
                x = conv(x)
        return self.output_conv(x)

    def get_config(self):
        return {**super().get_config(), "base_filters": self.base_filters,
                "up_kernel": self.up_kernel}


@keras.saving.register_keras_serializable(package="msgan")
class TwoLayerDNN(VolumeModel):
    """Li et al. 2014 as used in sec. 3.3.2: two 7x7x7 ReLU conv layers of 64 maps (the
    thesis's widening of Li's 10), then a linear 1x1x1 conv to the one output channel."""

    def __init__(self, filters=64, kernel_size=7, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)
        self.hidden = [layers.Conv3D(self.filters, self.kernel_size, padding="same",
                                     activation="relu", name=f"conv{i + 1}") for i in range(2)]
        self.output_conv = layers.Conv3D(1, 1, name="output_conv")

    def call(self, x):
        for conv in self.hidden:
            x = conv(x)
        return self.output_conv(x)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size}


@keras.saving.register_keras_serializable(package="msgan")
class VoxelMLP(VolumeModel):
    """The voxel-wise MLP of sec. 2.2.3: two hidden layers of 100 ReLU units and a linear
    output, written as 1x1x1 convs so that it runs on whole volumes."""

    def __init__(self, units=100, n_hidden=2, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.n_hidden = int(n_hidden)
        self.hidden = [layers.Conv3D(self.units, 1, activation="relu", name=f"dense{i + 1}")
                       for i in range(self.n_hidden)]
        self.output_conv = layers.Conv3D(1, 1, name="output_dense")

    def call(self, x):
        for dense in self.hidden:
            x = dense(x)
        return self.output_conv(x)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "n_hidden": self.n_hidden}
