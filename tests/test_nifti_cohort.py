"""Reading, validating and writing NIfTI; discovering cohorts from folders and manifests."""
import gzip

import nibabel as nib
import numpy as np
import pytest
from conftest import flip_inside_gzip, make_tiny_session, write_nifti

from data_tools.io.atomic import atomic_output_dir
from data_tools.io.cohort import load_cohort_folder, load_manifest, open_cohort, parse_names
from data_tools.errors import (CohortError, GeometryError, ImageContentError, InputFileError,
                               OutputExistsError)
from data_tools.io.masks import LESION, NAWM, OTHER, brain_mask, estimate_white_matter, roi_labels
from data_tools.io.nifti import check_same_grid, load_volume, save_like


def test_load_and_save_keep_geometry(tmp_path):
    affine = np.array([[-1.5, 0, 0, 90], [0, 1.5, 0, -126], [0, 0, 2.0, -72], [0, 0, 0, 1]])
    src = write_nifti(tmp_path / "a.nii.gz", np.random.rand(8, 9, 10).astype(np.float32), affine)
    vol = load_volume(src)
    out = save_like(vol.data * 2, vol, tmp_path / "b.nii.gz")
    back = nib.load(str(out))
    assert np.allclose(back.affine, affine)
    assert int(back.header["sform_code"]) == 1 and int(back.header["qform_code"]) == 1
    assert back.header.get_zooms() == (1.5, 1.5, 2.0)
    assert np.allclose(back.get_fdata(), vol.data * 2)


@pytest.mark.parametrize("problem", ["missing", "gzip", "not_nifti", "4d", "nan", "inf"])
def test_bad_files_raise_one_line_naming_the_file(tmp_path, problem):
    path = tmp_path / "T1.nii.gz"
    if problem == "gzip":
        write_nifti(path, np.ones((4, 4, 4), np.float32))
        path.write_bytes(path.read_bytes()[:60])
    elif problem == "not_nifti":
        path.write_bytes(gzip.compress(b"this is a text file, not an image" * 20))
    elif problem == "4d":
        write_nifti(path, np.ones((4, 4, 4, 3), np.float32))
    elif problem in ("nan", "inf"):
        data = np.ones((4, 4, 4), np.float32)
        data[1, 2, 3] = np.nan if problem == "nan" else np.inf
        write_nifti(path, data)
    with pytest.raises((InputFileError, ImageContentError)) as exc:
        load_volume(path)
    assert exc.value.path == str(path)
    assert "\n" not in exc.value.message


@pytest.mark.parametrize("what", ["crc", "length"])
def test_gzip_trailer_is_verified_whenever_an_image_is_read(tmp_path, what):
    path = write_nifti(tmp_path / "T1.nii.gz", np.arange(512, dtype=np.float32).reshape(8, 8, 8))
    flip_inside_gzip(path, what)
    with pytest.raises(InputFileError) as exc:
        load_volume(path)
    assert exc.value.path == str(path) and "\n" not in exc.value.message


def test_nifti1_and_nifti2_gz_read_as_before(tmp_path):
    data = np.arange(60, dtype=np.float32).reshape(3, 4, 5)
    for klass in (nib.Nifti1Image, nib.Nifti2Image):
        path = tmp_path / f"{klass.__name__}.nii.gz"
        nib.save(klass(data, np.diag([1.5, 2, 3, 1])), str(path))
        vol = load_volume(path)
        assert np.array_equal(vol.data, data) and vol.zooms == (1.5, 2.0, 3.0)
        assert type(nib.load(str(path))) is klass


def test_mask_values_must_be_binary(tmp_path):
    path = write_nifti(tmp_path / "lesions.nii.gz", np.array([0, 1, 2, 0] * 16, np.uint8).reshape(4, 4, 4))
    with pytest.raises(ImageContentError, match="only 0 and 1, found 2"):
        load_volume(path, mask=True)


def test_grid_mismatch_names_the_odd_file(tmp_path):
    a = load_volume(write_nifti(tmp_path / "a.nii.gz", np.ones((4, 4, 4), np.float32)))
    b = load_volume(write_nifti(tmp_path / "b.nii.gz", np.ones((4, 4, 5), np.float32)))
    c = load_volume(write_nifti(tmp_path / "c.nii.gz", np.ones((4, 4, 4), np.float32), np.diag([2, 2, 2.1, 1])))
    with pytest.raises(GeometryError, match="shape") as exc:
        check_same_grid([a, b])
    assert exc.value.path.endswith("b.nii.gz")
    with pytest.raises(GeometryError, match="affine"):
        check_same_grid([a, c])


def test_cohort_folder_and_participants(tiny_cohort):
    cohort = load_cohort_folder(tiny_cohort)
    assert cohort.ids() == ["c1", "p1", "p2"]
    p1 = cohort.subjects["p1"]
    assert p1.group == "MS" and p1.info["edss"] == 2.0 and cohort.subjects["c1"].info["edss"] is None
    ses = p1.sessions["t0"]
    assert {"T1", "T2", "FLAIR", "lesions", "wm"} <= set(ses.files)
    stack, ref = ses.stack(["T1", "T2"])
    assert stack.shape == (16, 16, 16, 2) and stack.dtype == np.float32
    with pytest.raises(CohortError, match="DIR is missing for subject p1"):
        ses.require(["T1", "DIR"])


def test_manifest_relative_paths_duplicates_and_unknown_names(tmp_path):
    make_tiny_session(tmp_path / "data" / "s1")
    csv = tmp_path / "m.csv"
    csv.write_text("subject,session,name,path\ns1,t0,t1,s1/T1.nii.gz\ns1,t0,FLAIR,s1/FLAIR.nii.gz\n")
    cohort = load_manifest(csv, root=tmp_path / "data")
    assert cohort.subjects["s1"].sessions["t0"].load("T1").shape == (16, 16, 16)
    csv.write_text("subject,session,name,path\ns1,t0,T1,a\ns1,t0,T1,b\n")
    with pytest.raises(CohortError, match="duplicate row") as exc:
        load_manifest(csv)
    assert exc.value.path.endswith("m.csv:3")
    csv.write_text("subject,session,name,path\ns1,t0,T3,a\n")
    with pytest.raises(CohortError, match="unknown image name 'T3'"):
        load_manifest(csv)
    with pytest.raises(CohortError):
        open_cohort(cohort=tmp_path, manifest=csv)
    assert parse_names("t1, flair") == ["T1", "FLAIR"]


def test_brain_mask_empty_is_an_error(tmp_path):
    make_tiny_session(tmp_path / "sub-a" / "ses-t0")
    write_nifti(tmp_path / "sub-a" / "ses-t0" / "brainmask.nii.gz", np.zeros((16, 16, 16), np.uint8))
    ses = load_cohort_folder(tmp_path).subjects["a"].sessions["t0"]
    with pytest.raises(ImageContentError, match="brain mask is empty"):
        brain_mask(ses, ["T1"])


def test_white_matter_estimate_and_roi_labels(tiny_cohort):
    ses = load_cohort_folder(tiny_cohort).subjects["p1"].sessions["t0"]
    brain = brain_mask(ses, ["T1", "T2"])
    true_wm = ses.load("wm").data
    wm = estimate_white_matter(ses.load("T1").data, brain)
    dice = 2 * (wm & true_wm).sum() / (wm.sum() + true_wm.sum())
    assert dice > 0.8
    les = ses.load("lesions").data
    labels = roi_labels(les, true_wm | les)
    assert (labels[les] == LESION).all()
    assert (labels[true_wm & ~les] == NAWM).all()
    assert (labels[~true_wm & ~les] == OTHER).all()


def test_atomic_output_dir_leaves_nothing_on_error(tmp_path):
    target = tmp_path / "out"
    with pytest.raises(RuntimeError):
        with atomic_output_dir(target) as tmp:
            (tmp / "half.txt").write_text("x")
            raise RuntimeError("fail midway")
    assert list(tmp_path.iterdir()) == []
    with atomic_output_dir(target) as tmp:
        (tmp / "done.txt").write_text("x")
    assert (target / "done.txt").exists()
    with pytest.raises(OutputExistsError):
        with atomic_output_dir(target):
            pass
    with atomic_output_dir(target, overwrite=True) as tmp:
        (tmp / "new.txt").write_text("y")
    assert sorted(p.name for p in target.iterdir()) == ["new.txt"]


def test_manifest_saved_as_csv_utf8_with_a_byte_order_mark(tmp_path):
    make_tiny_session(tmp_path / "s1")
    csv = tmp_path / "m.csv"
    csv.write_bytes("subject,session,name,path\ns1,t0,T1,s1/T1.nii.gz\n".encode("utf-8-sig"))
    (tmp_path / "participants.tsv").write_bytes("participant_id\tgroup\nsub-s1\tMS\n".encode("utf-8-sig"))
    cohort = load_manifest(csv)
    assert cohort.ids() == ["s1"] and cohort.subjects["s1"].group == "MS"
