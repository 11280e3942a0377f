"""PNG overlays of saliency maps on the input images (thesis Fig. 2.6 and 3.9)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np


def _slice(volume: np.ndarray, index: int) -> np.ndarray:
    # axial slice, rotated so anterior is up as radiologists view it
    return np.rot90(volume[:, :, index])


def _robust_limits(values: np.ndarray) -> tuple[float, float]:
    if values.size == 0:
        return 0.0, 1.0
    lo, hi = np.percentile(values, [1, 99.5])
    return float(lo), float(hi if hi > lo else lo + 1)


def saliency_overlay_figure(inputs: np.ndarray, saliency: np.ndarray, names: Sequence[str],
                            brain: np.ndarray, path: str | Path, title: str,
                            lesions: np.ndarray | None = None, slice_index: int | None = None) -> Path:
    """One column per map: the input slice (top) and its saliency in heat colours over it (bottom).

    ``saliency`` is (D,H,W,C) with one map per name (P3S), or (D,H,W) with ``names`` of
    length 1 (the attention map, drawn over the first input). Lesion outlines are drawn
    when given, since the thesis reads these maps against the lesions.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    maps = saliency if saliency.ndim == 4 else saliency[..., None]
    if slice_index is None:
        # the axial slice with the most lesion (or brain) voxels shows the most
        weight = lesions if lesions is not None and lesions.any() else brain
        slice_index = int(np.argmax(weight.sum(axis=(0, 1))))
    vmax = float(np.percentile(maps[brain], 99.5)) or 1.0
    n = maps.shape[-1]
    fig, axes = plt.subplots(2, n, figsize=(2.6 * n, 5.4), squeeze=False)
    for c in range(n):
        image = inputs[..., min(c, inputs.shape[-1] - 1)]
        lo, hi = _robust_limits(image[brain])
        for row in range(2):
            ax = axes[row, c]
            ax.imshow(_slice(image, slice_index), cmap="gray", vmin=lo, vmax=hi)
            ax.set_axis_off()
        heat = np.ma.masked_where(~_slice(brain, slice_index), _slice(maps[..., c], slice_index))
        im = axes[1, c].imshow(heat, cmap="hot", vmin=0, vmax=vmax, alpha=0.85)
        if lesions is not None and lesions.any():
            axes[1, c].contour(_slice(lesions, slice_index).astype(float), levels=[0.5],
                               colors="cyan", linewidths=0.6)
        axes[0, c].set_title(names[c], fontsize=10)
    fig.colorbar(im, ax=axes[1, :].tolist(), shrink=0.8, label="|gradient|")
    fig.suptitle(f"{title} (axial slice {slice_index})", fontsize=11)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path
