"""Acceptance on the real patients: the README's make-tfrecords command, read back exactly."""
import numpy as np
import pytest

from data_tools.io.nifti import load_volume
from data_tools.shards.tfrecords import make_dataset, read_index

INPUTS = ["T1", "T1POST", "T2"]
PATCH, STRIDE = 64, 32


def _files(open_ms_data, patient):
    folder = open_ms_data / "cross_sectional" / "MNI" / patient
    stem = "_N4_noneck_reduced_winsor_regtoFLAIR_brain_N4_regtoMNI.nii.gz"
    files = {n: folder / f"{n}{stem}" for n in INPUTS + ["FLAIR"]}
    files["lesions"] = folder / "GOLD_STANDARD_N4_noneck_reduced_winsor_regtoFLAIR_regtoMNI.nii.gz"
    return files


def _touching_grid(brain):
    """Grid corners over the brain bounding box (stride 32, 64^3, the last flush with the box)
    that contain brain voxels."""
    where = np.argwhere(brain)
    lo, hi = where.min(0), where.max(0) + 1
    span = hi - lo - PATCH
    axes = [lo[a] + np.minimum(STRIDE * np.arange(1 + max(0, -(-span[a] // STRIDE))), max(span[a], 0))
            for a in range(3)]
    corners = [(i, j, k) for i in axes[0] for j in axes[1] for k in axes[2]]
    return [c for c in corners if brain[c[0]:c[0] + PATCH, c[1]:c[1] + PATCH, c[2]:c[2] + PATCH].any()]


def test_real_shards_count_and_voxels(open_ms_data, open_ms_shards):
    index = read_index(open_ms_shards)
    assert index["layout"] == "patches" and index["patch_size"] == [64, 64, 64] and index["overlap"] == 0.5
    assert index["subjects"] == ["patient07", "patient19"]

    flair_all = []
    for patient in index["subjects"]:
        files = _files(open_ms_data, patient)
        brain = np.logical_and.reduce([load_volume(files[n]).data != 0 for n in INPUTS])
        grid = _touching_grid(brain)
        assert index["sessions"][f"sub-{patient}/ses-t0"] == len(grid)
        flair_all.append(load_volume(files["FLAIR"]).data)
    assert index["n_examples"] == sum(index["sessions"].values())

    # thesis normalisation: one mean and SD over all voxels of all FLAIR images
    allv = np.concatenate([f.ravel() for f in flair_all]).astype(np.float64)
    stats = index["normalization"]["stats"]["FLAIR"]
    assert stats["mean"] == pytest.approx(allv.mean(), rel=1e-9)
    assert stats["std"] == pytest.approx(allv.std(), rel=1e-9)

    # one patch inside the volume with lesions in it, voxel for voxel against the NIfTI files
    files = _files(open_ms_data, "patient19")
    lesions = load_volume(files["lesions"], mask=True).data
    flair = flair_all[1]
    t1post = load_volume(files["T1POST"]).data
    checked = 0
    for batch in make_dataset(open_ms_shards, subjects=["patient19"], shuffle=False, deterministic=True):
        o = batch["origin"][0].numpy()
        window = tuple(slice(o[a], o[a] + PATCH) for a in range(3))
        if (o < 0).any() or (o + PATCH > flair.shape).any() or not lesions[window].any():
            continue
        m, s = stats["mean"], stats["std"]
        want = ((flair[window].astype(np.float64) - m) / s).astype(np.float32)
        assert np.array_equal(batch["target"][0, ..., 0].numpy(), want)
        t1p = index["normalization"]["stats"]["T1POST"]
        want = ((t1post[window].astype(np.float64) - t1p["mean"]) / t1p["std"]).astype(np.float32)
        assert np.array_equal(batch["inputs"][0, ..., 1].numpy(), want)
        assert np.array_equal(batch["roi"][0, ..., 0].numpy() == 1, lesions[window])
        checked += 1
        break
    assert checked == 1
