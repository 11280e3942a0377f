"""Preprocessing on the real patients (2 mm copies to stay fast on shared cores).

The acceptance of issue 9: a scan moved by a known rigid transform comes back to within
1 mm with ``msgan preprocess``; N4 removes a synthetic bias field; the template brain
mask covers the (already extracted) brain.
"""
import os
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

sitk = pytest.importorskip("SimpleITK")

from data_tools.preprocessing.bias import n4_correct  # noqa: E402
from data_tools.preprocessing.itk_bridge import RAS_TO_LPS, array_to_itk, itk_to_affine, itk_to_array, transform_to_matrix  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
PATIENT = "cross_sectional/MNI/patient07"
STEMS = {"T1": "T1_", "FLAIR": "FLAIR_", "lesions": "GOLD_STANDARD_"}
#: the known motion: 5 degrees about the left-right axis, 4 mm along it (RAS)
ANGLE = np.deg2rad(5.0)
MOTION = np.array([[1, 0, 0, 4.0],
                   [0, np.cos(ANGLE), -np.sin(ANGLE), 0],
                   [0, np.sin(ANGLE), np.cos(ANGLE), 0],
                   [0, 0, 0, 1]])


def pooled_2mm(path: Path, mask: bool = False):
    """Mean-pool a 1 mm image 2x2x2 -> (data, affine) on a 2 mm grid."""
    img = nib.load(str(path))
    data = np.asarray(img.dataobj, dtype=np.float32)
    d, h, w = (s // 2 * 2 for s in data.shape)
    data = data[:d, :h, :w].reshape(d // 2, 2, h // 2, 2, w // 2, 2).mean(axis=(1, 3, 5))
    half_voxel = np.array([[2, 0, 0, 0.5], [0, 2, 0, 0.5], [0, 0, 2, 0.5], [0, 0, 0, 1]])
    data = (data >= 0.5).astype(np.uint8) if mask else data
    return data, img.affine @ half_voxel


def save(path: Path, data, affine):
    path.parent.mkdir(parents=True, exist_ok=True)
    img = nib.Nifti1Image(data, affine)
    img.set_sform(affine, 1)
    img.set_qform(affine, 1)
    nib.save(img, str(path))


@pytest.fixture(scope="module")
def patient_2mm(open_ms_data):
    folder = open_ms_data / PATIENT
    out = {}
    for name, stem in STEMS.items():
        out[name] = pooled_2mm(next(folder.glob(stem + "*.nii.gz")), mask=name == "lesions")
    return out


def run_cli(*args):
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "msgan", *args], capture_output=True, text=True, env=env)


def test_follow_up_moved_by_known_rigid_motion_is_registered_back(patient_2mm, tmp_path):
    cohort = tmp_path / "cohort"
    for session, motion in (("t0", np.eye(4)), ("t1", MOTION)):
        for name, (data, affine) in patient_2mm.items():
            # Moving a scan = changing where its voxels are: exact, no interpolation.
            save(cohort / "sub-p07" / f"ses-{session}" / f"{name}.nii.gz", data, motion @ affine)
    out = tmp_path / "out"
    result = run_cli("preprocess", "--cohort", str(cohort), "--out", str(out), "--reference", "T1",
                     "--no-n4", "--brain-mask", "none")
    assert result.returncode == 0, result.stderr

    # Corners of the brain's bounding box (original, unmoved positions, in LPS).
    t1, affine = patient_2mm["T1"]
    idx = np.argwhere(t1 > 0)
    lo, hi = idx.min(0), idx.max(0)
    corners = np.array([[i, j, k, 1.0] for i in (lo[0], hi[0]) for j in (lo[1], hi[1]) for k in (lo[2], hi[2])]).T
    corners_lps = RAS_TO_LPS @ affine @ corners
    found = transform_to_matrix(sitk.ReadTransform(str(out / "transforms/sub-p07/ses-t1/T1_to_ses-t0.tfm")))
    truth = RAS_TO_LPS @ MOTION @ RAS_TO_LPS  # baseline point -> where the moved scan shows it
    displacement = np.linalg.norm((found @ corners_lps - truth @ corners_lps)[:3], axis=0)
    assert displacement.max() < 1.0, displacement
    untouched = np.linalg.norm((corners_lps - truth @ corners_lps)[:3], axis=0)
    assert untouched.min() > 4.0  # the motion really moved every corner

    registered = nib.load(str(out / "sub-p07/ses-t1/T1.nii.gz"))
    np.testing.assert_allclose(registered.affine, affine, atol=1e-4)  # on the baseline grid
    moved_back = registered.get_fdata(dtype=np.float32)
    brain = t1 > 0
    ncc = np.corrcoef(moved_back[brain], t1[brain])[0, 1]
    assert ncc > 0.95
    # nibabel and SimpleITK see the written geometry identically.
    np.testing.assert_allclose(itk_to_affine(sitk.ReadImage(str(out / "sub-p07/ses-t1/T1.nii.gz"))),
                               registered.affine, atol=1e-4)
    # The lesion mask followed its scan (nearest neighbour: still 0/1).
    lesions = nib.load(str(out / "sub-p07/ses-t1/lesions.nii.gz")).get_fdata()
    original = patient_2mm["lesions"][0].astype(bool)
    assert set(np.unique(lesions)) <= {0.0, 1.0}
    dice = 2 * (original & (lesions > 0)).sum() / (original.sum() + (lesions > 0).sum())
    assert dice > 0.6
    assert (out / "qc/sub-p07_ses-t1.png").stat().st_size > 0
    assert (out / "transforms/sub-p07/ses-t1/FLAIR_to_T1.tfm").is_file()


def white_matter(t1: np.ndarray, lesions: np.ndarray) -> np.ndarray:
    """Lesion-free WM of a T1: the brightest of 3 Gaussian classes in the brain, eroded once."""
    from scipy import ndimage
    from sklearn.mixture import GaussianMixture

    brain = t1 > 0
    gmm = GaussianMixture(3, random_state=0).fit(t1[brain][::7, None])
    labels = np.full(t1.shape, -1)
    labels[brain] = gmm.predict(t1[brain][:, None])
    wm = labels == int(np.argmax(gmm.means_[:, 0]))
    return ndimage.binary_erosion(wm) & ~ndimage.binary_dilation(lesions.astype(bool))


def coefficient_of_variation(image, mask):
    values = image[mask]
    return float(values.std() / values.mean())


def test_n4_removes_a_synthetic_smooth_bias_field(patient_2mm):
    t1, affine = patient_2mm["T1"]
    wm = white_matter(t1, patient_2mm["lesions"][0])
    # A smooth multiplicative field varying +-25 % across the head.
    grid = np.stack(np.meshgrid(*[np.linspace(-1, 1, s) for s in t1.shape], indexing="ij"))
    field = np.exp(0.25 * grid[0] - 0.2 * grid[1] ** 2 + 0.15 * grid[1] * grid[2]).astype(np.float32)
    biased = t1 * field
    clean_cv = coefficient_of_variation(t1, wm)
    biased_cv = coefficient_of_variation(biased, wm)
    assert biased_cv > 1.3 * clean_cv  # the field is strong enough to matter
    corrected = itk_to_array(n4_correct(array_to_itk(biased, affine)))
    assert abs(coefficient_of_variation(corrected, wm) - clean_cv) <= 0.10 * clean_cv


def test_template_brain_mask_covers_the_extracted_brain(patient_2mm):
    from data_tools.preprocessing.brain_template import template_to_subject
    from data_tools.preprocessing.registration import resample

    flair, affine = patient_2mm["FLAIR"]
    reference = array_to_itk(flair, affine)
    transform, template_mask = template_to_subject(reference, label="patient07")
    mask = itk_to_array(resample(template_mask, reference, transform, mask=True)).astype(bool)
    brain = flair > 0  # the shared data are brain-extracted: the truth is known
    dice = 2 * (mask & brain).sum() / (mask.sum() + brain.sum())
    assert dice > 0.9, dice
