"""The preprocessing QC figure: true aspect ratio of thick slices, brain outline on every view."""
import numpy as np
import pytest

from data_tools.preprocessing.qc import draw_qc, slice_aspects


def test_slice_aspects_of_3_mm_slices_with_0_72_mm_pixels():
    # sagittal (rows k, columns j), coronal (k, i), axial (j, i): height / width of a pixel
    assert slice_aspects((0.72, 0.72, 3.0)) == pytest.approx([3.0 / 0.72, 3.0 / 0.72, 1.0])
    assert slice_aspects((1.0, 2.0, 4.0)) == pytest.approx([2.0, 4.0, 2.0])


def test_figure_keeps_voxel_aspect_and_outlines_the_brain_everywhere():
    import matplotlib.pyplot as plt

    shape = (32, 32, 8)  # 8 thick slices
    grid = np.indices(shape).astype(np.float32)
    reference = grid[0] + grid[1] + 10 * grid[2]
    brain = np.zeros(shape, bool)
    brain[8:24, 8:24, 2:6] = True
    fig = draw_qc("sub-x", "FLAIR", reference, {"T1": reference[::-1]}, brain, spacing=(0.72, 0.72, 3.0))
    try:
        axes = fig.axes
        assert len(axes) == 6  # one checkerboard row and the reference row, three views each
        for row in range(2):
            aspects = [axes[3 * row + col].get_aspect() for col in range(3)]
            assert aspects == pytest.approx(slice_aspects((0.72, 0.72, 3.0)))
        assert all(ax.collections for ax in axes)  # a contour on every view
        assert axes[0].images[0].get_array().shape == (8, 32)  # sagittal: slices as rows
    finally:
        plt.close(fig)
