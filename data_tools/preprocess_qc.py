"""Quality-control figure of a preprocessed session: checkerboards and a brain-mask contour.

One row per registered sequence: the reference and the registered sequence interleaved
as a checkerboard in three orthogonal slices through the brain's centre, so a shift shows
as broken edges at the tile borders. A last row outlines the brain mask on the reference.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from data_tools.atomic import atomic_output_file

TILE_VOXELS = 12


def _unit(image: np.ndarray, brain: np.ndarray | None) -> np.ndarray:
    """Scale to [0, 1] by the 1st-99th percentiles inside the brain (or non-zero voxels)."""
    inside = image[brain] if brain is not None and brain.any() else image[image != 0]
    if inside.size == 0:
        return np.zeros_like(image, dtype=np.float32)
    lo, hi = np.percentile(inside, [1, 99])
    return np.clip((image - lo) / max(hi - lo, 1e-6), 0, 1).astype(np.float32)


def checkerboard(a: np.ndarray, b: np.ndarray, tile: int = TILE_VOXELS) -> np.ndarray:
    """2-D checkerboard: ``a`` on even tiles, ``b`` on odd ones."""
    rows, cols = np.indices(a.shape)
    return np.where(((rows // tile) + (cols // tile)) % 2 == 0, a, b)


def _slices(volume: np.ndarray, centre) -> list[np.ndarray]:
    i, j, k = centre
    # rot90 so that anterior/superior point up for RAS-like arrays.
    return [np.rot90(volume[i, :, :]), np.rot90(volume[:, j, :]), np.rot90(volume[:, :, k])]


def qc_figure(path: str | Path, title: str, reference_name: str, reference: np.ndarray,
              registered: dict[str, np.ndarray], brain: np.ndarray | None = None,
              overwrite: bool = False) -> Path:
    """Write the QC PNG; arrays are nibabel-ordered volumes on the same output grid."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    brain = None if brain is None else brain.astype(bool)
    where = brain if brain is not None and brain.any() else reference != 0
    centre = [int(round(np.mean(ax))) for ax in np.nonzero(where)] if where.any() \
        else [s // 2 for s in reference.shape]
    ref_unit = _unit(reference, brain)
    rows = [(f"{name} / {reference_name}", _unit(image, brain)) for name, image in registered.items()]
    n_rows = len(rows) + (brain is not None)
    fig, axes = plt.subplots(max(n_rows, 1), 3, figsize=(9, 3 * max(n_rows, 1)), squeeze=False)
    for row, (label, image) in enumerate(rows):
        for col, (ref_slice, img_slice) in enumerate(zip(_slices(ref_unit, centre), _slices(image, centre))):
            axes[row, col].imshow(checkerboard(ref_slice, img_slice), cmap="gray", vmin=0, vmax=1)
        axes[row, 0].set_ylabel(label)
    if brain is not None:
        for col, (ref_slice, mask_slice) in enumerate(zip(_slices(ref_unit, centre), _slices(brain, centre))):
            axes[-1, col].imshow(ref_slice, cmap="gray", vmin=0, vmax=1)
            if mask_slice.any():
                axes[-1, col].contour(mask_slice.astype(float), levels=[0.5], colors="r", linewidths=0.8)
        axes[-1, 0].set_ylabel(f"brain mask on {reference_name}")
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title)
    fig.tight_layout()
    with atomic_output_file(path, overwrite=overwrite) as tmp:
        fig.savefig(tmp, dpi=80)
    plt.close(fig)
    return Path(path)
