"""Shards of a tiny cohort: write, read back exactly, select subjects, order, integrity."""
import json

import numpy as np
import pytest
from conftest import make_tiny_session

from data_tools.contracts import ShardSpec
from data_tools.errors import ConfigError, DataIntegrityError
from data_tools.io.cohort import open_cohort
from data_tools.io.masks import LESION, NAWM, OTHER
from data_tools.io.nifti import load_volume
from data_tools.shards.dataset import build_shards, resolve_task
from data_tools.shards.normalize import Normalizer
from data_tools.shards.patches import bounding_box, extract, grid_origins

from data_tools.shards.tfrecords import make_dataset, read_index, verify_shards


@pytest.fixture
def shards(tiny_cohort, tmp_path):
    out = tmp_path / "shards"
    build_shards(open_cohort(cohort=tiny_cohort), ShardSpec("flair", inputs="T1,T2", patch=8, overlap=0.5,
                                                            shard_size=4), out, progress=False)
    return out


def _all(ds):
    return [{k: v.numpy() for k, v in batch.items()} for batch in ds]


def test_index_and_examples_read_back_exactly(tiny_cohort, shards):
    index = read_index(shards)
    assert index["inputs"] == ["T1", "T2"] and index["target"] == "FLAIR" and index["layout"] == "patches"
    assert index["subjects"] == ["c1", "p1", "p2"] and index["example_shape"] == [8, 8, 8]
    # groups travel with the shards so cross-validation can spread the controls
    assert index["groups"] == {"c1": "HC", "p1": "MS", "p2": "MS"}
    from msgan.training.zoo import index_subjects
    assert index_subjects(index) == index["groups"]
    assert all(len(s["sha256"]) == 64 and s["count"] <= 4 for s in index["shards"])
    assert json.loads((shards / "normalization.json").read_text()) == index["normalization"]
    norm = Normalizer.from_json(shards / "normalization.json")

    examples = _all(make_dataset(shards, shuffle=False, deterministic=True))
    assert len(examples) == index["n_examples"] == sum(s["count"] for s in index["shards"])
    for ex in examples:  # contract dtypes and shapes
        assert ex["inputs"].shape == (1, 8, 8, 8, 2) and ex["inputs"].dtype == np.float32
        assert ex["target"].shape == ex["brainmask"].shape == ex["roi"].shape == (1, 8, 8, 8, 1)
        assert ex["roi"].dtype == np.int32 and ex["origin"].dtype == np.int32

    ses = tiny_cohort / "sub-p1" / "ses-t0"
    t2, flair = load_volume(ses / "T2.nii.gz").data, load_volume(ses / "FLAIR.nii.gz").data
    brain = load_volume(ses / "T1.nii.gz").data != 0
    brain &= t2 != 0
    lo, hi = bounding_box(brain)
    expected = [o for o in grid_origins(lo, hi, 8, 0.5) if extract(brain, o, (8, 8, 8), False).any()]
    p1 = [ex for ex in examples if ex["subject"][0] == b"p1"]
    assert [tuple(ex["origin"][0]) for ex in p1] == [tuple(o) for o in expected]
    pad_t2 = norm.background("T2")
    for ex, origin in zip(p1, expected):
        want = extract(norm.apply("T2", t2), origin, (8, 8, 8), pad_t2)
        assert np.array_equal(ex["inputs"][0, ..., 1], want)  # voxel for voxel
        assert np.array_equal(ex["target"][0, ..., 0], extract(norm.apply("FLAIR", flair), origin, (8, 8, 8),
                                                               norm.background("FLAIR")))
        assert np.array_equal(ex["brainmask"][0, ..., 0], extract(brain, origin, (8, 8, 8), False))
    lesions = load_volume(ses / "lesions.nii.gz", mask=True).data
    roi_seen = np.concatenate([ex["roi"].ravel() for ex in p1])
    assert set(roi_seen) == {LESION, NAWM, OTHER} and lesions.sum() > 0


def test_subject_selection_and_order(shards):
    def subjects(ds):
        return [s.decode() for ex in _all(ds) for s in ex["subject"]]

    assert set(subjects(make_dataset(shards, subjects=["p1"], shuffle=False))) == {"p1"}
    assert set(subjects(make_dataset(shards, exclude_subjects=["sub-p1", "c1"], batch_size=3))) == {"p2"}
    with pytest.raises(ConfigError, match="zz"):
        make_dataset(shards, subjects=["zz"])

    def order(**kw):
        return [(s, tuple(o)) for ex in _all(make_dataset(shards, **kw))
                for s, o in zip(ex["subject"], ex["origin"])]

    written = order(shuffle=False, deterministic=True)
    assert [s for s, _ in written] == sorted(s for s, _ in written)  # writing order: c1, p1, p2
    first = order(shuffle=True, deterministic=True, seed=3)
    assert first == order(shuffle=True, deterministic=True, seed=3)
    assert first != written and sorted(first) == sorted(written)
    assert sorted(order(shuffle=True, deterministic=False)) == sorted(written)


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_damaged_shard_is_named_before_reading(shards, damage):
    shard = shards / read_index(shards)["shards"][1]["file"]
    data = bytearray(shard.read_bytes())
    if damage == "truncate":
        shard.write_bytes(bytes(data[: len(data) // 2]))
    else:
        data[len(data) // 2] ^= 0xFF
        shard.write_bytes(bytes(data))
    with pytest.raises(DataIntegrityError) as exc:
        make_dataset(shards)
    assert exc.value.path == str(shard)
    with pytest.raises(DataIntegrityError, match="truncated" if damage == "truncate" else "sha256"):
        verify_shards(shards)


def test_layouts_whole_crop_and_augment(tiny_cohort, tmp_path):
    cohort = open_cohort(cohort=tiny_cohort)
    whole = build_shards(cohort, ShardSpec("flair", inputs="T1,T2", layout="whole"), tmp_path / "w", progress=False)
    assert whole["n_examples"] == 3 and whole["example_shape"] == [16, 16, 16]
    crop = build_shards(cohort, ShardSpec("flair", inputs="T1,T2", layout="crop", crop="12,20,12", subjects=["p1"]),
                        tmp_path / "c", progress=False)
    ex = _all(make_dataset(tmp_path / "c"))[0]
    assert ex["inputs"].shape == (1, 12, 20, 12, 2) and crop["subjects"] == ["p1"]
    assert ex["brainmask"][0, :, 0].sum() == 0  # the 20-voxel axis reaches past the 16-voxel volume: padded
    aug = build_shards(cohort, ShardSpec("flair", inputs="T1,T2", patch=8, augment=True, subjects=["p1"]),
                       tmp_path / "a", progress=False)
    plain = build_shards(cohort, ShardSpec("flair", inputs="T1,T2", patch=8, subjects=["p1"]), tmp_path / "p",
                         progress=False)
    assert aug["n_examples"] == 6 * plain["n_examples"] and len(aug["augment"]) == 5
    with pytest.raises(ConfigError, match="augment"):
        build_shards(cohort, ShardSpec("flair", layout="whole", augment=True), tmp_path / "x", progress=False)
    assert not (tmp_path / "x").exists()


def test_myelin_task_with_subject_scope_keeps_pib_global(tmp_path):
    root = tmp_path / "myelin"
    for i, sid in enumerate(["m1", "m2"]):
        make_tiny_session(root / f"sub-{sid}" / "ses-t0", seed=i, names=("MTR", "FA", "RD", "AD", "PIB"))
    index = build_shards(open_cohort(cohort=root), ShardSpec("myelin", normalize="subject", patch=16), tmp_path / "s",
                         progress=False)
    assert index["inputs"] == ["MTR", "FA", "RD", "AD"] and index["target"] == "PIB"
    assert index["normalization"]["scope"] == "subject" and set(index["normalization"]["stats"]) == {"PIB"}
    pib_stats = index["normalization"]["stats"]["PIB"]
    for ex in _all(make_dataset(tmp_path / "s", shuffle=False, deterministic=True)):
        brain = ex["brainmask"][0, ..., 0] > 0
        mtr = ex["inputs"][0, ..., 0][brain]
        assert abs(mtr.mean()) < 1e-5 and mtr.std() == pytest.approx(1.0, abs=1e-5)  # per image, in the brain
        sid = ex["subject"][0].decode()
        pib = load_volume(root / f"sub-{sid}" / "ses-t0" / "PIB.nii.gz").data
        want = ((pib.astype(np.float64) - pib_stats["mean"]) / pib_stats["std"]).astype(np.float32)
        pad = np.float32(-pib_stats["mean"] / pib_stats["std"])
        assert np.array_equal(ex["target"][0, ..., 0], extract(want, ex["origin"][0], (16, 16, 16), pad))


def test_task_defaults(tiny_cohort):
    sessions = open_cohort(cohort=tiny_cohort).sessions()
    assert resolve_task("myelin", None, None, sessions) == (["MTR", "FA", "RD", "AD"], "PIB")
    assert resolve_task("flair", None, None, sessions) == (["T1", "T2"], "FLAIR")  # those present
    assert resolve_task("flair", "t2,T1", None, sessions) == (["T2", "T1"], "FLAIR")  # user order kept
    with pytest.raises(ConfigError, match="both an input and the target"):
        resolve_task("flair", "T1,FLAIR", None, sessions)
    with pytest.raises(ConfigError, match="mask"):
        resolve_task("flair", "T1,lesions", None, sessions)
