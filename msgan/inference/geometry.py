"""The window plan a model needs for a sliding-window prediction.

The architecture facts it reads (stride, receptive radius, locality, the chain of networks
a prediction runs through) are in :mod:`msgan.models.geometry`, re-exported here.
"""
from __future__ import annotations

import keras

from data_tools.contracts import BLEND_NAMES, look_up_option
from data_tools.errors import ConfigError
from msgan.inference.sliding_window import WindowPlan
from msgan.models.geometry import as_triple, is_local, prediction_chain, receptive_radius, total_stride

__all__ = ["plan_for_model", "DEFAULT_BLEND_OVERLAP", "is_local", "prediction_chain",
           "receptive_radius", "total_stride"]


#: MONAI's default overlap, used for blended windows when none is given
DEFAULT_BLEND_OVERLAP = 0.25


def plan_for_model(model: keras.Model, patch=None, overlap: float | None = None, blend: str = "gaussian",
                   batch_size: int = 1, tile=(256, 256, 256)) -> WindowPlan:
    """The window plan a model needs.

    A stride-1 network of local layers (:func:`is_local`) gets halo tiling (exact, no
    overlap needed); any other network gets ``patch``-sized blended windows, refused
    unless a multiple of its total stride.
    ``overlap`` None means 0 for halo tiling (it needs none) and 0.25 for blending.
    ``blend`` (one of :data:`~data_tools.contracts.BLEND_NAMES`) is checked even when halo
    tiling makes it moot.
    """
    look_up_option(blend, BLEND_NAMES, "blend mode")
    stride = total_stride(model)
    if stride == 1 and is_local(model):
        return WindowPlan(mode="halo", tile=tuple(tile), halo=receptive_radius(model),
                          overlap=overlap or 0.0, batch_size=batch_size)
    if patch is None:
        raise ConfigError("this network is strided or not purely convolutional; it needs a "
                          "window size (the run's patch size)")
    patch = as_triple(patch)
    bad = [p for p in patch if p % stride]
    if bad:
        raise ConfigError(f"window {'x'.join(map(str, patch))} is not a multiple of the "
                          f"network's total stride {stride}")
    overlap = DEFAULT_BLEND_OVERLAP if overlap is None else overlap
    return WindowPlan(mode=blend, window=patch, overlap=overlap, batch_size=batch_size)
