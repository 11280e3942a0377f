"""Saliency maps of chapter 2 (P3S, eq. 2.3) and chapter 3 (visual attention, eq. 3.7).

``maps`` holds the gradients, ``figures`` the PNG overlays, ``session`` the driver that
``msgan saliency`` calls for one subject of a cohort with a trained run.
"""
from msgan.saliency.maps import (attention_saliency_map, loss_gradient, mean_saliency_per_sequence,
                                 p3s_map, squared_error_norm, windowed_vjp)

__all__ = ["attention_saliency_map", "loss_gradient", "mean_saliency_per_sequence", "p3s_map",
           "squared_error_norm", "windowed_vjp"]
