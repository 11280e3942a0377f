"""What a Keras model's architecture implies for windowing: total stride, receptive field.

Read from the layers (every nested Conv/Pooling layer), not from the model's name, so it
works for any model: the sum of every convolution's reach is an upper bound of the
receptive-field radius along any path through the network, which is what the halo needs
(a larger halo costs a little time, never correctness). Training (batch-norm checks) and
inference (window plans, :mod:`msgan.inference.geometry`) both read these facts, so they
live with the models.
"""
from __future__ import annotations

import math

import keras


def _all_layers(model) -> list:
    return list(model._flatten_layers(include_self=False, recursive=True))


def prediction_chain(model) -> list:
    """The networks a prediction runs through, in order.

    A GAN predicts with its generator alone (discriminators never see a test image); a
    Sketcher-Refiner model chains its stages' generators. Anything else is one network.
    """
    if hasattr(model, "stages"):
        return [stage.generator for stage in model.stages]
    if hasattr(model, "generator"):
        return [model.generator]
    return [model]


def _network_stride(network) -> int:
    """The size every input dimension must be a multiple of.

    msgan's networks declare it (``min_size``: 2**levels for the U-Nets and CF-SAGAN);
    for any other Keras model the product of its convolution and pooling strides.
    """
    declared = getattr(network, "min_size", None)
    if isinstance(declared, int):
        return declared
    stride = 1
    for layer in _all_layers(network):
        if _is_downsampling(layer):
            stride *= max(as_triple(layer.strides))
    return stride


def _network_radius(network) -> int:
    radius = 0
    for layer in _all_layers(network):
        if _is_downsampling(layer):
            size = getattr(layer, "kernel_size", None) or getattr(layer, "pool_size", None)
            dilation = max(as_triple(getattr(layer, "dilation_rate", 1)))
            radius += dilation * (max(as_triple(size)) - 1) // 2 + (max(as_triple(size)) - 1) % 2
    return radius


def as_triple(value) -> tuple[int, int, int]:
    """``k`` or ``(k,)`` -> ``(k, k, k)``; a 3-sequence -> a tuple of ints."""
    value = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    return tuple(int(v) for v in (value * 3 if len(value) == 1 else value))


def _is_downsampling(layer) -> bool:
    from keras.src.layers.convolutional.base_conv import BaseConv
    from keras.src.layers.pooling.base_pooling import BasePooling

    return isinstance(layer, (BaseConv, BasePooling))


def total_stride(model) -> int:
    """Product of the strides of every convolution and pooling layer (1 for fcn/mlp/dnn2).

    Transposed convolutions upsample and are not counted; windows of a strided network
    must be a multiple of this in every axis. Chained generators (Sketcher-Refiner) each
    see the whole window, so the window must suit every one of them.
    """
    return math.lcm(*(_network_stride(network) for network in prediction_chain(model)))


def _local_layer_types() -> tuple:
    """Leaf layers whose output voxel depends only on a bounded neighbourhood of the input."""
    from keras.src.layers.merging.base_merge import Merge

    L = keras.layers
    return (L.InputLayer, L.Activation, L.ReLU, L.LeakyReLU, L.PReLU, L.ELU, L.Softmax,
            L.BatchNormalization, L.Dropout, L.SpatialDropout3D, L.GaussianDropout,
            L.AlphaDropout, L.Identity, Merge)


def is_local(model) -> bool:
    """True when every leaf layer is a convolution, pooling or a voxel-wise layer.

    Layers with sublayers (blocks, nested models) are judged by their leaves; a layer of
    another kind (attention, normalisation over space, anything unknown) might see the
    whole input, so halo tiling would not be exact for it.
    """
    local = _local_layer_types()
    for layer in (layer for network in prediction_chain(model) for layer in _all_layers(network)):
        if list(layer._flatten_layers(include_self=False, recursive=False)):
            continue  # a container: its leaves are checked
        if not (_is_downsampling(layer) or isinstance(layer, local)):
            return False
    return True


def receptive_radius(model) -> int:
    """Upper bound, in voxels, of how far an output voxel sees: sum of dilation*(k-1)/2.

    Chained generators add their reaches (the Refiner sees the Sketcher's output).
    """
    return sum(_network_radius(network) for network in prediction_chain(model))
