"""The base class of every msgan network: builds its weights from an input shape alone."""
from __future__ import annotations

import keras
from keras import ops, tree


@keras.saving.register_keras_serializable(package="msgan")
class VolumeModel(keras.Model):
    """A subclassed Keras model whose ``build(input_shape)`` creates every weight.

    Keras 3's default ``Model.build`` only marks a subclassed model as built. Here
    ``build`` runs the model once, eagerly, on zeros of the smallest spatial size the
    network accepts (:attr:`min_size`), whatever spatial sizes ``input_shape`` gives
    (they may be ``None``): weights depend on channels only. An eager run on a tiny volume
    is several times faster than tracing ``call`` symbolically, which matters for the
    GANs' thousands of ops.
    """

    #: the smallest spatial size (and the multiple of it every size must be) the network takes
    @property
    def min_size(self):
        return 1

    def build(self, input_shape):
        size = self.min_size

        def zeros(shape):
            shape = tuple(shape)
            return ops.zeros((1, size, size, size, shape[-1]), dtype="float32")

        self.call(tree.map_shape_structure(zeros, input_shape))
