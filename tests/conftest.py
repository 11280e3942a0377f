"""Shared fixtures: tiny synthetic cohorts and access to the real data in ../shared."""
from __future__ import annotations

import gzip
import os
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
OPEN_MS_DATA = REPO.parent / "shared" / "data" / "open_ms_data"
OPEN_MS_MANIFEST = REPO / "examples" / "open_ms_data.csv"


def _shared(folder: Path) -> Path:
    """``folder`` of the shared real data; skipped where absent (a user's clone), a failure under CI=true."""
    if not folder.is_dir():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but the shared real data is missing at {folder}")
        pytest.skip(f"real MS data not found at {folder} (it lives in ../shared beside the repo)")
    return folder


@pytest.fixture(scope="session")
def open_ms_data() -> Path:
    """The real brain-extracted patients (cross_sectional/)."""
    _shared(OPEN_MS_DATA / "cross_sectional")
    return OPEN_MS_DATA


@pytest.fixture(scope="session")
def open_ms_raw() -> Path:
    """The raw (not skull-stripped) patients and the authors' masks and transforms."""
    return _shared(OPEN_MS_DATA / "longitudinal" / "raw")


def write_nifti(path: Path, data: np.ndarray, affine: np.ndarray | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    affine = np.diag([2.0, 2.0, 2.0, 1.0]) if affine is None else affine
    img = nib.Nifti1Image(np.asarray(data), affine)
    img.set_sform(affine, 1)
    img.set_qform(affine, 1)
    nib.save(img, str(path))
    return path


def flip_inside_gzip(path, what):
    """Rewrite ``path`` so that only the gzip trailer can tell it is corrupt.

    ``"crc"``: a stored (uncompressed) deflate stream with one voxel byte flipped, so it
    still decodes, to wrong voxels; ``"length"``: the trailer's length field altered.
    """
    raw = nib.load(str(path)).to_bytes()
    stream = bytearray(gzip.compress(raw, compresslevel=0))
    if what == "crc":
        stream[len(stream) - 100] ^= 0xFF  # inside the voxel data, before the 8-byte trailer
    else:
        stream[-1] ^= 0x01
    path.write_bytes(bytes(stream))


def make_tiny_session(folder: Path, shape=(16, 16, 16), seed: int = 0, lesions: bool = True,
                      names=("T1", "T2", "FLAIR")) -> dict[str, Path]:
    """A ball-shaped 'brain' with a brighter 'WM' core and, optionally, a cubic lesion."""
    rng = np.random.default_rng(seed)
    grid = np.indices(shape).astype(np.float32)
    centre = (np.array(shape, np.float32) - 1) / 2
    radius = np.sqrt(((grid - centre[:, None, None, None]) ** 2).sum(0))
    brain = radius < min(shape) * 0.42
    wm = radius < min(shape) * 0.25
    csf = brain & (radius >= min(shape) * 0.34)  # an outer CSF rim: T1 has three tissue classes
    les = np.zeros(shape, bool)
    if lesions:
        c = [s // 2 for s in shape]
        les[c[0] - 1:c[0] + 1, c[1] - 1:c[1] + 1, c[2] + 1:c[2] + 3] = True
    files = {}
    for k, name in enumerate(names):
        img = np.where(brain, 100.0 + 50 * wm - 60 * csf + 10 * k + rng.normal(0, 5, shape), 0)
        img = img.astype(np.float32)
        img[les] += -40 if name == "T1" else 80  # T1-hypointense, T2/FLAIR-hyperintense
        files[name] = write_nifti(folder / f"{name}.nii.gz", img)
    files["lesions"] = write_nifti(folder / "lesions.nii.gz", les.astype(np.uint8))
    files["wm"] = write_nifti(folder / "wm.nii.gz", wm.astype(np.uint8))
    return files


@pytest.fixture
def tiny_cohort(tmp_path) -> Path:
    """Three subjects (two patients, one control), one session each, 16^3 voxels."""
    root = tmp_path / "cohort"
    rows = ["participant_id\tgroup\tage\tsex\tedss"]
    for i, (sid, group) in enumerate([("p1", "MS"), ("p2", "MS"), ("c1", "HC")]):
        make_tiny_session(root / f"sub-{sid}" / "ses-t0", seed=i, lesions=group == "MS")
        rows.append(f"sub-{sid}\t{group}\t{30 + i}\tF\t{'2.0' if group == 'MS' else 'n/a'}")
    (root / "participants.tsv").write_text("\n".join(rows) + "\n")
    return root


@pytest.fixture
def tiny_shards(tiny_cohort, tmp_path) -> Path:
    """Whole-volume flair shards (T1, T2 -> FLAIR) of :func:`tiny_cohort`."""
    from data_tools.io.cohort import open_cohort
    from data_tools.contracts import ShardSpec
    from data_tools.shards.dataset import build_shards

    out = tmp_path / "shards"
    build_shards(open_cohort(cohort=tiny_cohort), ShardSpec("flair", inputs=["T1", "T2"], target="FLAIR",
                                                            layout="whole"), out, progress=False)
    return out


@pytest.fixture(scope="session")
def open_ms_shards(open_ms_data, tmp_path_factory) -> Path:
    """The README's acceptance shards (flair, T1,T1POST,T2 -> FLAIR, 64^3 at 50 %), written once."""
    from msgan.cli import main

    out = tmp_path_factory.mktemp("oms") / "oms-flair"
    with pytest.raises(SystemExit) as exc:
        main(["make-tfrecords", "--manifest", str(OPEN_MS_MANIFEST), "--root", str(open_ms_data),
              "--task", "flair", "--inputs", "T1,T1POST,T2", "--target", "FLAIR", "--out", str(out)])
    assert exc.value.code == 0
    return out


#: the shared patients' sequences as BIDS suffixes (T1POST: a T1w with a contrast agent)
OPEN_MS_BIDS_SUFFIX = {"T1": "T1w", "T1POST": "ce-gadolinium_T1w", "T2": "T2w", "FLAIR": "FLAIR"}


def make_open_ms_bids(open_ms_data: Path, root: Path) -> Path:
    """A BIDS dataset of links to the shared real patients (no sessions), their expert lesion
    masks as a derivative; ``root``."""
    import json

    from data_tools.io.cohort import load_manifest

    manifest = load_manifest(OPEN_MS_MANIFEST, root=open_ms_data)
    for subject in manifest.subjects.values():
        (session,) = subject.sessions.values()
        for name, path in session.files.items():
            if name == "lesions":
                dest = (root / "derivatives" / "experts" / f"sub-{subject.id}" / "anat"
                        / f"sub-{subject.id}_desc-lesion_mask.nii.gz")
            else:
                dest = root / f"sub-{subject.id}" / "anat" / f"sub-{subject.id}_{OPEN_MS_BIDS_SUFFIX[name]}.nii.gz"
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.symlink_to(Path(path).resolve())
    (root / "dataset_description.json").write_text(json.dumps({"Name": "oms", "BIDSVersion": "1.9.0"}))
    (root / "derivatives" / "experts" / "dataset_description.json").write_text(json.dumps(
        {"Name": "experts", "BIDSVersion": "1.9.0", "DatasetType": "derivative"}))
    return root


def pytest_collection_modifyitems(items):
    """Slow tests first: the two test processes (``-n 2 --dist load --maxschedchunk 1``, one
    test handed out at a time) then start the long tests early and share the short ones at
    the end, instead of one process running a long test alone at the end
    (longest-processing-time-first scheduling)."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
