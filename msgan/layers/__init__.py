"""Reusable Keras 3 layers of the thesis networks (channels last, 3-D).

- :class:`ConvBlock`: 3x3x3 conv + activation (+ batch norm, dropout) used by every network.
- :class:`ResDown`, :class:`ResUp`: the residual blocks of CF-SAGAN (Fig. 4.2a-b).
- :class:`FlexibleSelfAttention`: the flexible self-attention unit (eqs. 4.1-4.3).
- :class:`GaussianNoiseChannel`: the noise input z of the Sketcher (sec. 3.3.1).
"""
from msgan.layers.attention import FlexibleSelfAttention
from msgan.layers.blocks import ConvBlock, ResDown, ResUp
from msgan.layers.noise import GaussianNoiseChannel

__all__ = ["ConvBlock", "ResDown", "ResUp", "FlexibleSelfAttention", "GaussianNoiseChannel"]
