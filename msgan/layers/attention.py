"""Flexible self-attention (sec. 4.2.2, eqs. 4.1-4.3, Fig. 4.1)."""
from __future__ import annotations

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="msgan")
class FlexibleSelfAttention(layers.Layer):
    """Self-attention over max-pooled 3-D features, up-pooled back and added with weight gamma.

    key f(x), query g(x) and value h(x) are 1x1x1 convs reducing C channels to
    C/``reduction`` (C/8 in the thesis); they are max-pooled by ``pool_size`` = p so the
    attention map has (N/p^3)^2 entries instead of N^2 (N voxels). The attended values are
    up-pooled (nearest neighbour) to the input size and brought back to C channels by a
    1x1x1 conv, which eq. 4.3 implies (o must have C channels to be added to x). gamma is a
    trainable scalar starting at 0, so at initialisation the layer is the identity.
    Spatial sizes must be divisible by p.
    """

    def __init__(self, pool_size=2, reduction=8, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = int(pool_size)
        self.reduction = int(reduction)

    def build(self, input_shape):
        channels = int(input_shape[-1])
        reduced = max(1, channels // self.reduction)
        self.key = layers.Conv3D(reduced, 1, name="key")
        self.query = layers.Conv3D(reduced, 1, name="query")
        self.value = layers.Conv3D(reduced, 1, name="value")
        self.output_conv = layers.Conv3D(channels, 1, name="output_conv")
        for conv in (self.key, self.query, self.value):
            conv.build(input_shape)
        self.output_conv.build(tuple(input_shape[:-1]) + (reduced,))
        self.pool = layers.MaxPooling3D(self.pool_size) if self.pool_size > 1 else None
        self.unpool = layers.UpSampling3D(self.pool_size) if self.pool_size > 1 else None
        self.gamma = self.add_weight(name="gamma", shape=(), initializer="zeros")

    def _pooled(self, conv, x):
        y = conv(x)
        return self.pool(y) if self.pool is not None else y

    def attention_map(self, x):
        """beta of eq. 4.1: (B, n, n) softmax over rows of f(x_i)^T g(x_j), n = N / p^3."""
        keys = _flatten_space(self._pooled(self.key, x))
        queries = _flatten_space(self._pooled(self.query, x))
        return attention_weights(keys, queries)

    def call(self, x):
        pooled_values = self._pooled(self.value, x)
        values = _flatten_space(pooled_values)
        beta = self.attention_map(x)
        attended = attend(beta, values)  # (B, n, C')
        o = ops.reshape(attended, ops.shape(pooled_values))
        if self.unpool is not None:
            o = self.unpool(o)
        o = self.output_conv(o)
        return self.gamma * o + x  # eq. 4.3

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "reduction": self.reduction}


def attention_weights(keys, queries):
    """eq. 4.1: beta[j, i] = softmax_i(f(x_i)^T g(x_j)); keys, queries (B, n, C') -> (B, n, n)."""
    logits = ops.matmul(queries, ops.transpose(keys, (0, 2, 1)))  # [b, j, i] = g(x_j).f(x_i)
    return ops.softmax(logits, axis=-1)


def attend(beta, values):
    """eq. 4.2: o_j = sum_i beta[j, i] h(x_i); beta (B, n, n), values (B, n, C') -> (B, n, C')."""
    return ops.matmul(beta, values)


def _flatten_space(x):
    return ops.reshape(x, (ops.shape(x)[0], -1, ops.shape(x)[-1]))
