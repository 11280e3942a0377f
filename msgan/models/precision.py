"""Mixed precision of a built network: every layer computes in the chosen policy's dtype
(variables stay float32), except the output heads, which compute in float32.

The policy is set on the layers of an already built model (Keras 3 layers read their
``dtype_policy`` when called and cast their floating inputs to it), so the models are
built as always, weights files are the same for every precision, and no global Keras
state is touched. The heads are the layers named :data:`HEADS` (every msgan generator ends
with ``output_conv``, every discriminator with its softmax ``classifier``; only networks'
heads count, not those of layers inside them): the image and
the probabilities the losses read are float32, as Keras's mixed-precision guide asks.
"""
from __future__ import annotations

import keras

from data_tools.contracts import PRECISIONS, look_up_option

#: attribute names of the output layers that stay float32 under a mixed policy
HEADS = ("output_conv", "classifier")


def _layers(layer) -> list:
    return list(layer._flatten_layers(include_self=True, recursive=True))


def set_precision(model, precision: str):
    """Make ``model`` (built) compute in ``precision`` (:data:`PRECISIONS`), heads float32;
    returns the model."""
    look_up_option(precision, PRECISIONS, "precision")
    for layer in _layers(model):
        layer.dtype_policy = precision
    for network in (layer for layer in _layers(model) if isinstance(layer, keras.Model)):
        for name in HEADS:
            head = getattr(network, name, None)
            if head is not None:
                for part in _layers(head):
                    part.dtype_policy = "float32"
    return model


def model_precision(model) -> str:
    """The policy name the model's layers compute in (that of its first layer)."""
    return _layers(model)[0].dtype_policy.name
