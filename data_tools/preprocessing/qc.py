"""Quality-control figure of a preprocessed session: checkerboards and a brain-mask contour.

One row per registered sequence: the reference and the registered sequence interleaved
as a checkerboard in three orthogonal slices through the brain's centre, so a shift shows
as broken edges at the tile borders. A last row shows the reference alone. The brain
mask's outline is drawn on every view, and every view keeps the true aspect ratio of its
voxels (thick slices are not squashed).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from data_tools.io.atomic import atomic_output_file

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


def slice_aspects(spacing) -> list[float]:
    """Height/width of one pixel in each view of :func:`_slices`, from the voxel spacing (mm).

    Each rotated slice has the later array axis as rows and the earlier as columns; with
    3 mm slices and 0.7 mm pixels the sagittal and coronal views are 4x taller per pixel.
    """
    si, sj, sk = (float(s) for s in spacing)
    return [sk / sj, sk / si, sj / si]


def draw_qc(title: str, reference_name: str, reference: np.ndarray, registered: dict[str, np.ndarray],
            brain: np.ndarray | None = None, spacing=(1.0, 1.0, 1.0)):
    """The QC figure (a matplotlib Figure): true aspect ratio, brain outline on every view."""
    brain = None if brain is None else brain.astype(bool)
    centre = _centre(brain, reference)
    ref_unit = _unit(reference, brain)
    rows = [(f"{name} / {reference_name}", [checkerboard(r, i) for r, i in
                                            zip(_slices(ref_unit, centre), _slices(_unit(image, brain), centre))])
            for name, image in registered.items()]
    rows.append((f"brain mask on {reference_name}" if brain is not None else reference_name,
                 _slices(ref_unit, centre)))
    return _panel_grid(title, rows, brain, centre, spacing)


def qc_figure(path: str | Path, title: str, reference_name: str, reference: np.ndarray,
              registered: dict[str, np.ndarray], brain: np.ndarray | None = None,
              overwrite: bool = False, spacing=(1.0, 1.0, 1.0)) -> Path:
    """Write the QC PNG; arrays are nibabel-ordered volumes on the same output grid of ``spacing`` mm."""
    return save_figure(draw_qc(title, reference_name, reference, registered, brain, spacing), path, overwrite)


def draw_rows(title: str, rows: dict[str, np.ndarray], brain: np.ndarray | None = None, spacing=(1.0, 1.0, 1.0)):
    """Each named volume in its own row (three views through the brain's centre, true aspect,
    the brain outline on every view): the inputs and the output of ``msgan synthesize``."""
    brain = None if brain is None else brain.astype(bool)
    centre = _centre(brain, next(iter(rows.values())))
    panels = [(label, _slices(_unit(volume, brain), centre)) for label, volume in rows.items()]
    return _panel_grid(title, panels, brain, centre, spacing)


def _centre(brain: np.ndarray | None, image: np.ndarray) -> list[int]:
    """The voxel the three views cross at: the brain's centre, else the image's non-zero centre."""
    where = brain if brain is not None and brain.any() else image != 0
    return [int(round(np.mean(ax))) for ax in np.nonzero(where)] if where.any() else [s // 2 for s in image.shape]


def _panel_grid(title: str, rows, brain: np.ndarray | None, centre, spacing):
    """One row of three views per ``(label, panels)``, at true aspect, the brain outline on each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    aspects = slice_aspects(spacing)
    outlines = _slices(brain, centre) if brain is not None else [None] * 3
    fig, axes = plt.subplots(len(rows), 3, figsize=(9, 3 * len(rows)), squeeze=False)
    for row, (label, panels) in enumerate(rows):
        for col, panel in enumerate(panels):
            ax = axes[row, col]
            ax.imshow(panel, cmap="gray", vmin=0, vmax=1, aspect=aspects[col])
            if outlines[col] is not None and outlines[col].any():
                ax.contour(outlines[col].astype(float), levels=[0.5], colors="r", linewidths=0.8)
        axes[row, 0].set_ylabel(label)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def save_figure(fig, path: str | Path, overwrite: bool = False) -> Path:
    """Write a matplotlib figure as PNG, atomically, and close it."""
    import matplotlib.pyplot as plt

    with atomic_output_file(path, overwrite=overwrite) as tmp:
        fig.savefig(tmp, dpi=80)
    plt.close(fig)
    return Path(path)
