"""The 3D fully convolutional network of ch. 2 (sec. 2.2.1, Fig. 2.2)."""
from __future__ import annotations

import keras
from keras import layers

from msgan.models.base import VolumeModel


@keras.saving.register_keras_serializable(package="msgan")
class FCN(VolumeModel):
    """L hidden 3x3x3 'same' convs of F filters with ReLU (eq. 2.2), then a linear 3x3x3
    conv to one channel.

    The thesis does not draw the output layer, but Table 2.1's parameter counts imply it:
    with 5 inputs, F = 32/64/96 gives 60,577 / 231,745 / 513,505 parameters (the table's
    213.7K for F = 64 transposes 231.7K).
    """

    def __init__(self, n_layers=3, filters=64, **kwargs):
        super().__init__(**kwargs)
        self.n_layers = int(n_layers)
        self.filters = int(filters)
        self.hidden = [layers.Conv3D(self.filters, 3, padding="same", activation="relu",
                                     name=f"conv{i + 1}") for i in range(self.n_layers)]
        self.output_conv = layers.Conv3D(1, 3, padding="same", name="output_conv")

    def call(self, x):
        for conv in self.hidden:
            x = conv(x)
        return self.output_conv(x)

    def get_config(self):
        return {**super().get_config(), "n_layers": self.n_layers, "filters": self.filters}
