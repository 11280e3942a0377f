"""make-tfrecords reads each image file of a session once (issue 17, item 4).

Reads are counted at nibabel's and pathlib's door (``nibabel.load`` and
``pathlib.Path.read_bytes``, which ``data_tools.io.nifti`` uses for ``.nii.gz``): the
calls go through unchanged.
"""
import collections
import pathlib

import nibabel
import numpy as np
import pytest
from conftest import make_tiny_session, write_nifti

from data_tools.contracts import ShardSpec
from data_tools.io.cohort import open_cohort
from data_tools.shards import dataset
from data_tools.shards.tfrecords import make_dataset


@pytest.fixture
def cohort(tmp_path):
    """p1 with a given brainmask and wm, p2 without wm (estimated from T1), c1 as made."""
    root = tmp_path / "cohort"
    for i, sid in enumerate(["p1", "p2", "c1"]):
        files = make_tiny_session(root / f"sub-{sid}" / "ses-t0", seed=i, lesions=sid != "c1")
        if sid == "p1":
            brain = nibabel.load(files["T1"]).get_fdata() != 0
            write_nifti(files["T1"].parent / "brainmask.nii.gz", brain.astype(np.uint8))
        if sid == "p2":
            files["wm"].unlink()
    return root


@pytest.fixture
def reads(monkeypatch):
    counts = collections.Counter()
    load, read_bytes = nibabel.load, pathlib.Path.read_bytes

    def counting_load(filename, *args, **kwargs):
        counts[pathlib.Path(filename).resolve()] += 1
        return load(filename, *args, **kwargs)

    def counting_read_bytes(self):
        if self.name.endswith((".nii", ".nii.gz")):
            counts[self.resolve()] += 1
        return read_bytes(self)

    monkeypatch.setattr(nibabel, "load", counting_load)
    monkeypatch.setattr(pathlib.Path, "read_bytes", counting_read_bytes)
    return counts


def _write(cohort, out):
    dataset.build_shards(open_cohort(cohort=cohort), ShardSpec("flair", inputs="T1,T2", patch=8, overlap=0.5), out,
                         progress=False)
    return [{k: v.numpy() for k, v in ex.items()}
            for ex in make_dataset(out, shuffle=False, deterministic=True, verify=False)]


def test_each_image_file_is_read_once(cohort, reads, tmp_path):
    _write(cohort, tmp_path / "shards")
    files = sorted(p.resolve() for p in cohort.rglob("*.nii.gz"))
    assert len(files) == 15  # 3 x (T1, T2, FLAIR, lesions) + brainmask + 2 wm
    assert dict(reads) == {f: 1 for f in files}


def test_sessions_beyond_the_memory_budget_are_read_again_with_the_same_examples(cohort, reads, tmp_path,
                                                                                 monkeypatch):
    kept = _write(cohort, tmp_path / "kept")
    reads.clear()
    monkeypatch.setattr(dataset, "MEMORY_FRACTION", 0.0)
    again = _write(cohort, tmp_path / "again")
    assert set(reads.values()) == {2}
    assert len(kept) == len(again) > 0
    for a, b in zip(kept, again):
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
