"""Patch geometry (grid, crop, padding) and the sec. 4.3.1 augmentation."""
import numpy as np
import pytest

from data_tools.errors import ConfigError
from data_tools.io.masks import OTHER
from data_tools.shards.patches import (AUGMENTATIONS, augment, augmented, as_size, bounding_box, extract,
                                grid_origins, layout_origins)


def test_grid_origins_cover_the_box_hand_worked():
    # extent 10 along axis 0, patch 4, overlap 0.5 -> stride 2, starts 3,5,7,9 (9+4=13 = hi)
    # extent 4 along axis 1 -> one window; extent 5 along axis 2 -> starts 0 and 1 (flush: 1+4 = 5)
    origins = grid_origins((3, 0, 0), (13, 4, 5), 4, 0.5)
    assert sorted({o[0] for o in origins}) == [3, 5, 7, 9]
    assert sorted({o[1] for o in origins}) == [0]
    assert sorted({o[2] for o in origins}) == [0, 1]
    assert len(origins) == 8 and tuple(origins[1]) == (3, 0, 1)  # last axis fastest
    assert grid_origins((0, 0, 0), (3, 9, 9), 4, 0.5)[:, 0].max() == 0  # box < patch: one window at lo
    assert len(grid_origins((0, 0, 0), (64, 64, 64), 64, 0.5)) == 1
    assert len(grid_origins((0, 0, 0), (10, 10, 10), 4, 0.0)) == 27  # stride 4: 0,4,8


def test_extract_pads_outside_the_volume_per_channel():
    vol = np.arange(2 * 3 * 4 * 2, dtype=np.float32).reshape(2, 3, 4, 2)
    patch = extract(vol, (-1, 1, 2), (3, 3, 3), pad_value=[-5, -7])
    assert patch.shape == (3, 3, 3, 2)
    assert np.all(patch[0, :, :, 0] == -5) and np.all(patch[0, :, :, 1] == -7)  # before the volume
    assert np.all(patch[1:, 2, :, 0] == -5)  # past the end along axis 1
    assert np.array_equal(patch[1:, :2, :2], vol[:, 1:3, 2:4])


def test_layouts_on_a_brain_mask():
    brain = np.zeros((20, 24, 20), bool)
    brain[5:15, 4:20, 6:12] = True
    assert [tuple(x) for x in bounding_box(brain)] == [(5, 4, 6), (15, 20, 12)]
    origins, size = layout_origins("whole", brain)
    assert size == (20, 24, 20) and origins.tolist() == [[0, 0, 0]]
    origins, size = layout_origins("crop", brain, crop=(8, 20, 10))
    assert size == (8, 20, 10) and origins.tolist() == [[6, 2, 4]]  # centred on the box
    brain[7:15, 12:20] = False  # an L shape: one grid window now misses the brain
    origins, size = layout_origins("patches", brain, patch=8, overlap=0.5)
    # box 10 x 16 x 6, stride 4, last flush: starts 5,7 x 4,8,12 x 6 -> 6 windows, (7, 12, 6) empty
    assert len(grid_origins((5, 4, 6), (15, 20, 12), 8, 0.5)) == 6
    assert size == (8, 8, 8) and len(origins) == 5 and [7, 12, 6] not in origins.tolist()
    with pytest.raises(ConfigError):
        as_size("64,64")


def _example(size=16):
    """Image channels and masks that all mark the same off-centre block."""
    block = np.zeros((size,) * 3, bool)
    block[2:6, 9:12, 4:7] = True
    return {"inputs": np.stack([block * 10.0, block * -3.0], -1).astype(np.float32),
            "target": block.astype(np.float32)[..., None] * 5,
            "brainmask": block.astype(np.uint8),
            "roi": np.where(block, 1, OTHER).astype(np.uint8)}


def _centroid(mask):
    return np.argwhere(mask).mean(0)


@pytest.mark.parametrize("kind", AUGMENTATIONS)
def test_augmentation_moves_inputs_target_and_masks_together(kind):
    ex = _example()
    pads = {"inputs": np.float32([0, 0]), "target": np.float32(0), "brainmask": 0, "roi": OTHER}
    out = augment(ex, kind, pads)
    assert all(out[k].shape == ex[k].shape and out[k].dtype == ex[k].dtype for k in ex)
    assert set(np.unique(out["roi"])) <= {1, OTHER} and set(np.unique(out["brainmask"])) <= {0, 1}
    mask = out["brainmask"].astype(bool)
    centre = (np.array(mask.shape) - 1) / 2
    src = _centroid(ex["brainmask"])
    if kind.startswith("rot"):
        expected = np.rot90(ex["brainmask"], int(kind[3:]) // 90, axes=(0, 1)).astype(bool)
        assert np.array_equal(mask, expected)
        assert np.array_equal(out["inputs"][..., 0] > 5, mask) and np.array_equal(out["target"][..., 0] > 2.5, mask)
    else:
        factor = float(kind[4:])
        # the block's centre moves away from / towards the patch centre by the zoom factor
        assert np.allclose(_centroid(mask), centre + factor * (src - centre), atol=0.6)
        assert np.allclose(_centroid(out["inputs"][..., 0] > 5), _centroid(mask), atol=0.6)
        assert np.allclose(_centroid(out["target"][..., 0] > 2.5), _centroid(mask), atol=0.6)
        assert mask.sum() == pytest.approx(ex["brainmask"].sum() * factor ** 3, rel=0.35)
    assert np.array_equal(out["roi"] == 1, mask)  # masks: nearest neighbour, identical to each other
    assert np.allclose(out["inputs"][..., 1], out["inputs"][..., 0] * -0.3, atol=1e-5)


def test_zoom_out_pads_with_the_given_values():
    ex = _example()
    pads = {"inputs": np.float32([-1, -2]), "target": np.float32(-4), "brainmask": 0, "roi": OTHER}
    out = augment(ex, "zoom0.75", pads)  # 16 -> 12 voxels, 2 of padding each side
    assert np.all(out["inputs"][0, :, :, 0] == -1) and np.all(out["inputs"][:, :, -1, 1] == -2)
    assert np.all(out["target"][:, 0] == -4) and np.all(out["roi"][0] == OTHER)
    assert [k for k, _ in augmented(ex, pads)] == ["none", *AUGMENTATIONS]
