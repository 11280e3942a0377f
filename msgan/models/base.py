"""The base class of every msgan network: builds its weights from an input shape alone."""
from __future__ import annotations

import keras
from keras import tree


@keras.saving.register_keras_serializable(package="msgan")
class VolumeModel(keras.Model):
    """A subclassed Keras model whose ``build(input_shape)`` traces ``call`` symbolically.

    Keras 3's default ``Model.build`` only marks a subclassed model as built; tracing the
    call on symbolic inputs creates every weight, so parameters can be counted and weights
    loaded without a forward pass on real data (``input_shape`` may have ``None`` sizes).
    """

    def build(self, input_shape):
        inputs = tree.map_shape_structure(lambda shape: keras.KerasTensor(shape), input_shape)
        self.compute_output_spec(inputs)

