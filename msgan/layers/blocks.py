"""Convolution blocks shared by the networks: plain conv blocks and the CF-SAGAN residual blocks."""
from __future__ import annotations

import keras
from keras import layers


@keras.saving.register_keras_serializable(package="msgan")
class ConvBlock(layers.Layer):
    """3-D convolution, then activation, then (optionally) batch norm and dropout.

    The order conv -> activation -> batch norm -> dropout is the one of sec. 3.2.4 ("batch
    normalization and dropout are applied after each LeakyReLU layer");
    ``norm_first=True`` gives conv -> batch norm -> activation, the order of the ch. 3 patch
    discriminator (sec. 3.2.4: "convolution layers followed by batch normalization,
    LeakyReLU"). ``activation`` is ``"relu"``, ``"leaky_relu"`` (slope 0.2, sec. 3.2.4) or ``None``.
    """

    def __init__(self, filters, kernel_size=3, strides=1, activation="leaky_relu",
                 batch_norm=False, dropout=0.0, transpose=False, norm_first=False, **kwargs):
        super().__init__(**kwargs)
        self.norm_first = bool(norm_first)
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)
        self.strides = int(strides)
        self.activation = activation
        self.batch_norm = bool(batch_norm)
        self.dropout = float(dropout)
        self.transpose = bool(transpose)
        conv_class = layers.Conv3DTranspose if transpose else layers.Conv3D
        self.conv = conv_class(self.filters, self.kernel_size, strides=self.strides,
                               padding="same", name="conv")
        self.act = _activation_layer(activation)
        self.norm = layers.BatchNormalization(name="bn") if self.batch_norm else None
        self.drop = layers.Dropout(self.dropout) if self.dropout > 0 else None

    def build(self, input_shape):
        # explicit builds: Keras would otherwise trace call() once more per nesting level
        self.conv.build(input_shape)
        output_shape = self.conv.compute_output_shape(input_shape)
        if self.norm is not None:
            self.norm.build(output_shape)

    def compute_output_shape(self, input_shape):
        return self.conv.compute_output_shape(input_shape)

    def call(self, x, training=None):
        x = self.conv(x)
        if self.norm is not None and self.norm_first:
            x = self.norm(x, training=training)
        if self.act is not None:
            x = self.act(x)
        if self.norm is not None and not self.norm_first:
            x = self.norm(x, training=training)
        if self.drop is not None:
            x = self.drop(x, training=training)
        return x

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "activation": self.activation,
                "batch_norm": self.batch_norm, "dropout": self.dropout,
                "transpose": self.transpose, "norm_first": self.norm_first}


def _activation_layer(name):
    if name is None or name == "linear":
        return None
    if name == "leaky_relu":
        return layers.LeakyReLU(negative_slope=0.2)
    if name == "relu":
        return layers.ReLU()
    raise ValueError(f"unknown activation {name!r} (relu, leaky_relu or None)")


@keras.saving.register_keras_serializable(package="msgan")
class _ResidualBlock(layers.Layer):
    """Two 3x3x3 convs on the main path (the first one resamples by 2), a resampling
    1x1x1 conv on the shortcut, their sum, LeakyReLU 0.2 and dropout (Fig. 4.2a-b).

    Fig. 4.2 is not machine-readable in our copy of the thesis; the projection shortcut is
    the usual He et al. (2016) choice when the shape changes, and batch norm after each
    activation is carried over from the ch. 3 networks (``batch_norm=False`` removes it).
    """

    upsample = False

    def __init__(self, filters, dropout=0.5, batch_norm=True, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.dropout = float(dropout)
        self.batch_norm = bool(batch_norm)
        self.resample = ConvBlock(self.filters, 3, strides=2, transpose=self.upsample,
                                  activation="leaky_relu", batch_norm=self.batch_norm,
                                  name="resample")
        self.refine = ConvBlock(self.filters, 3, activation=None, name="refine")
        conv_class = layers.Conv3DTranspose if self.upsample else layers.Conv3D
        self.shortcut = conv_class(self.filters, 1, strides=2, padding="same", name="shortcut")
        self.act = layers.LeakyReLU(negative_slope=0.2)
        self.norm = layers.BatchNormalization(name="bn") if self.batch_norm else None
        self.drop = layers.Dropout(self.dropout) if self.dropout > 0 else None

    def build(self, input_shape):
        self.resample.build(input_shape)
        resampled = self.resample.compute_output_shape(input_shape)
        self.refine.build(resampled)
        self.shortcut.build(input_shape)
        if self.norm is not None:
            self.norm.build(resampled)

    def compute_output_shape(self, input_shape):
        return self.resample.compute_output_shape(input_shape)

    def call(self, x, training=None):
        y = self.refine(self.resample(x, training=training), training=training)
        y = self.act(y + self.shortcut(x))
        if self.norm is not None:
            y = self.norm(y, training=training)
        if self.drop is not None:
            y = self.drop(y, training=training)
        return y

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "dropout": self.dropout,
                "batch_norm": self.batch_norm}


@keras.saving.register_keras_serializable(package="msgan")
class ResDown(_ResidualBlock):
    """Residual block halving each spatial size by a stride-2 conv (Fig. 4.2a)."""

    upsample = False


@keras.saving.register_keras_serializable(package="msgan")
class ResUp(_ResidualBlock):
    """Residual block doubling each spatial size by a stride-2 transposed conv (Fig. 4.2b)."""

    upsample = True
