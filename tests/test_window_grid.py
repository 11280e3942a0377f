"""The one window grid (data_tools.shards.patches.window_starts) against each of its callers."""
import itertools

import numpy as np
import tensorflow as tf

from data_tools.shards.patches import grid_origins, grid_stride, window_starts, window_stride
from msgan.inference.sliding_window import WindowPlan, _axes_layout
from msgan.saliency.maps import window_boxes

CASES = [(length, window, overlap) for length, window, overlap in itertools.product(
    (1, 7, 16, 23, 64, 100, 181), (4, 7, 16, 64), (0.0, 0.25, 0.3, 0.5, 0.75))]


def _covered_once_or_more(starts, window, length):
    counts = np.zeros(max(length, int(starts[-1]) + window), int)
    for s in starts:
        counts[s:s + window] += 1
    return counts[:length]


def test_window_starts_cover_every_voxel_with_the_last_window_flush():
    for length, window, overlap in CASES:
        starts = np.asarray(window_starts(length, window, overlap))
        stride = int(window_stride(window, overlap))
        assert starts[0] == 0 and np.all(np.diff(starts) > 0), (length, window, overlap)
        assert np.all(np.diff(starts)[:-1] == stride), (length, window, overlap)
        assert _covered_once_or_more(starts, window, length).min() >= 1
        if length >= window:
            assert starts[-1] + window == length  # flush: no window runs past the axis
        else:
            assert starts.tolist() == [0]  # one window, padded by the caller


def test_stride_rule_hand_worked():
    # round(window * (1 - overlap)): 64 x 0.7 = 44.8 -> 45 (MONAI's int() gave 44)
    assert int(window_stride(64, 0.3)) == 45 and int(window_stride(64, 0.5)) == 32
    assert int(window_stride(64, 0.25)) == 48 and int(window_stride(3, 0.9)) == 1
    assert grid_stride((64, 16, 5), 0.5) == (32, 8, 2)  # 2.5 -> 2: half to even, as round()
    assert np.asarray(window_starts(10, 4, 0.25)).tolist() == [0, 3, 6]
    assert np.asarray(window_starts(10, 4, 0.0)).tolist() == [0, 4, 6]
    assert np.asarray(window_starts(100, 64, 0.3)).tolist() == [0, 36]


def test_the_grid_inside_a_graph_equals_the_eager_grid():
    @tf.function(input_signature=[tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.int32)])
    def graph_starts(length, window):
        return window_starts(length, window, 0.3)

    for length, window, overlap in CASES:
        if overlap == 0.3:
            expected = np.asarray(window_starts(length, window, overlap))
            assert graph_starts(length, window).numpy().tolist() == expected.tolist()


def test_training_patches_use_the_grid():
    lo, hi = (3, 0, 5), (40, 9, 30)
    for patch, overlap in [((16, 16, 8), 0.5), ((8, 4, 12), 0.3), (7, 0.0)]:
        size = (patch,) * 3 if isinstance(patch, int) else patch
        axes = [lo[a] + np.asarray(window_starts(hi[a] - lo[a], size[a], overlap)) for a in range(3)]
        expected = np.array(list(itertools.product(*axes)))
        assert grid_origins(lo, hi, patch, overlap).tolist() == expected.tolist()


def test_inference_windows_use_the_grid():
    volume = tf.zeros((37, 20, 64, 2))
    for plan in [WindowPlan(mode="gaussian", window=(16, 8, 32), overlap=0.3),
                 WindowPlan(mode="constant", window=(32, 32, 16), overlap=0.5)]:
        padded, sizes, origins, _ = _axes_layout(volume, plan, tf.zeros([2]))
        for k in range(3):
            length = int(padded.shape[k])
            assert length == max(volume.shape[k], plan.window[k])
            expected = np.asarray(window_starts(length, plan.window[k], plan.overlap))
            assert origins[k].numpy().tolist() == expected.tolist()
            assert origins[k].numpy()[-1] + sizes[k] == length
    # halo tiles step by their core: tile 10 + 2 x 3 halo -> window 16, core 10
    plan = WindowPlan(mode="halo", tile=(10, 10, 10), halo=3, overlap=0.0)
    _, sizes, origins, _ = _axes_layout(volume, plan, tf.zeros([2]))
    assert origins[0].numpy().tolist() == np.asarray(window_starts(37, 16, 0.0, core=10)).tolist() == [0, 10, 20, 21]


def test_saliency_windows_use_the_grid_and_own_each_voxel_once():
    shape, core = (23, 8, 17), 7
    boxes = window_boxes(shape, [core] * 3)
    expected = list(itertools.product(*[np.asarray(window_starts(s, min(core, s), 0.0)).tolist() for s in shape]))
    assert [corner for corner, _ in boxes] == [tuple(c) for c in expected]
    owned = np.zeros(shape, int)
    for corner, box in boxes:
        assert all(c <= b.start and b.stop <= c + min(core, s) for c, b, s in zip(corner, box, shape))
        owned[box] += 1
    assert owned.min() == 1 and owned.max() == 1
