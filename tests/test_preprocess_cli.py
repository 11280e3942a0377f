"""``msgan preprocess`` on tiny synthetic cohorts: output layout and the bad-input contract."""
import gzip

import numpy as np
import pytest

pytest.importorskip("SimpleITK")

from conftest import make_tiny_session, write_nifti  # noqa: E402
from data_tools.io.cohort import open_cohort  # noqa: E402
from msgan.cli import main  # noqa: E402

SHAPE = (32, 32, 32)


def run(args, capsys):
    """Run the CLI in-process: (exit code, stderr without the progress bar)."""
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    err = capsys.readouterr().err
    # drop the progress bar (tqdm redraws its line with carriage returns)
    kept = [line.split("\r")[-1] for line in err.splitlines(keepends=True)]
    return exc.value.code, "".join(line for line in kept if line.strip() and not line.startswith("preprocess:"))


def tiny_cohort(root, subjects=("p1", "p2")):
    for seed, sid in enumerate(subjects):
        make_tiny_session(root / f"sub-{sid}" / "ses-t0", shape=SHAPE, seed=seed)
    (root / "participants.tsv").write_text("participant_id\tgroup\tage\n"
                                           + "".join(f"sub-{s}\tMS\t{30 + i}\n" for i, s in enumerate(subjects)))
    return root


def test_writes_a_cohort_with_transforms_qc_crop_and_voxel_size(tmp_path, capsys):
    cohort = tiny_cohort(tmp_path / "raw", subjects=("p1",))
    out = tmp_path / "out"
    code, err = run(["preprocess", "--cohort", str(cohort), "--out", str(out), "--reference", "FLAIR",
                     "--crop", "20,24,16", "--voxel-size", "3", "--n4-iterations", "10,10"], capsys)
    assert code == 0, err
    again = open_cohort(cohort=out)  # the output is a cohort msgan reads
    session = again.subjects["p1"].sessions["t0"]
    # the brain-extracted reference's non-zero voxels come out as its brain mask (msgan predict applies it)
    assert set(session.files) == {"T1", "T2", "FLAIR", "lesions", "wm", "brainmask"}
    assert session.load("brainmask").data.any() and not session.load("brainmask").data.all()
    flair = session.load("FLAIR")
    assert flair.shape == (20, 24, 16) and flair.zooms == (3.0, 3.0, 3.0)
    session.load_many(["T1", "T2", "FLAIR", "lesions", "wm"])  # one shared grid
    assert session.load("lesions").data.any()  # nearest neighbour kept the lesion, as 0/1
    assert again.subjects["p1"].info["age"] == 30.0
    assert {p.name for p in (out / "transforms/sub-p1/ses-t0").iterdir()} == {"T1_to_FLAIR.tfm", "T2_to_FLAIR.tfm"}
    assert (out / "qc/sub-p1_ses-t0.png").is_file()
    assert "T1_to_FLAIR" in (out / "preprocess.json").read_text()


def test_session_without_its_reference_is_refused_before_any_work(tmp_path, capsys):
    cohort = tiny_cohort(tmp_path / "raw")
    (cohort / "sub-p2" / "ses-t0" / "FLAIR.nii.gz").unlink()
    out = tmp_path / "out"
    code, err = run(["preprocess", "--cohort", str(cohort), "--out", str(out)], capsys)
    assert code == 2
    assert err.count("\n") == 1 and "sub-p2/ses-t0" in err and "FLAIR is missing" in err
    assert not out.exists()


def test_unreadable_file_names_the_file_and_writes_nothing(tmp_path, capsys):
    cohort = tiny_cohort(tmp_path / "raw")
    broken = cohort / "sub-p2" / "ses-t0" / "T2.nii.gz"
    broken.write_bytes(gzip.compress(b"not a nifti header at all")[:20])  # truncated gzip
    out = tmp_path / "out"
    code, err = run(["preprocess", "--cohort", str(cohort), "--out", str(out), "--no-n4"], capsys)
    assert code == 2
    assert err.count("\n") == 1 and str(broken) in err
    assert not out.exists() and not list(tmp_path.glob(".out.partial-*"))


def test_registration_that_cannot_converge_names_the_session(tmp_path, capsys):
    cohort = tiny_cohort(tmp_path / "raw")
    noise = np.random.default_rng(3).uniform(0, 100, SHAPE).astype(np.float32)
    write_nifti(cohort / "sub-p2" / "ses-t0" / "T1.nii.gz", noise)  # no anatomy to match
    out = tmp_path / "out"
    code, err = run(["preprocess", "--cohort", str(cohort), "--out", str(out), "--no-n4"], capsys)
    assert code == 2
    assert err.count("\n") == 1
    assert "sub-p2/ses-t0 (T1 onto FLAIR)" in err and "did not converge" in err
    assert not out.exists()


def test_bad_options_are_one_line_errors(tmp_path, capsys):
    cohort = tiny_cohort(tmp_path / "raw", subjects=("p1",))
    code, err = run(["preprocess", "--cohort", str(cohort), "--out", str(tmp_path / "o"),
                     "--brain-mask", str(tmp_path / "nope.nii.gz")], capsys)
    assert code == 2 and "brain mask file not found" in err
    code, err = run(["preprocess", "--cohort", str(cohort), "--out", str(tmp_path / "o"), "--crop", "1,2"], capsys)
    assert code == 2 and "D,H,W" in err
    assert not (tmp_path / "o").exists()
