"""Demyelination thresholds in MNI space (``threshold_space="mni"``, thesis sec. 3.3.5):
the distance to CSF of each voxel's template location, after affine + B-spline registration."""
import numpy as np
import pytest

from data_tools.io.cohort import open_cohort
from data_tools.preprocessing.registration import RegistrationSettings
from msgan.evaluation import evaluate
from msgan.evaluation.demyelination import distance_to_csf
from msgan.evaluation.mni_space import (CSF, WHITE_MATTER, MniRegistration, csf_template, mni152_csf_template,
                                        template_distance, tissue_image)
from tests.evaluation_fixtures import anatomy, make_myelin_cohort, write_predictions

SCALE = 1.1
#: a small, quick registration for 24^3 volumes
QUICK = RegistrationSettings(shrink_factors=(2, 1), smoothing_sigmas_mm=(1.0, 0.0), sampling=(1.0, 1.0))


def scaled_template():
    """The fixture's anatomy as a 'template' 10 % larger and shifted: its distances are 1.1x."""
    a = anatomy()
    affine = np.diag([SCALE, SCALE, SCALE, 1.0])
    affine[:3, 3] = [2.0, -1.5, 1.0]
    return csf_template(a["brain"], a["csf"], a["wm"], affine, "scaled test template")


def test_distance_is_the_templates_at_each_voxels_template_location():
    a = anatomy()
    how = MniRegistration(template=scaled_template(), affine=QUICK, bspline_iterations=5)
    distance, mattes_mi = template_distance(a["brain"], a["csf"], a["wm"] | a["lesions"], np.eye(4), how, "sub-x")
    native = distance_to_csf(a["csf"])
    wm = a["wm"]
    assert np.abs(distance[wm] - SCALE * native[wm]).max() < 0.2  # mm; 1.1x native is up to 1.9 mm off
    assert mattes_mi > 1.0


def test_nilearn_template_is_bundled_and_its_csf_distance_is_consistent():
    template = mni152_csf_template()
    from data_tools.preprocessing.itk_bridge import itk_to_array

    tissue, distance = itk_to_array(template.tissue), itk_to_array(template.distance)
    csf_ml = (tissue == CSF).sum() * np.prod(template.tissue.GetSpacing()) / 1000
    assert 80 < csf_ml < 300  # ventricles and sulci of an adult brain
    assert (distance[tissue == CSF] == 0).all()
    assert 2 < distance[tissue == WHITE_MATTER].mean() < 15  # mm


def test_tissue_image_labels():
    brain = np.array([0, 1, 1, 1], bool)
    assert tissue_image(brain, np.array([0, 1, 0, 0], bool), np.array([0, 0, 0, 1], bool)).tolist() == [0, 1, 2, 3]


def test_evaluation_in_mni_space_registers_every_session(tmp_path):
    cohort_root = make_myelin_cohort(tmp_path / "cohort")
    pred = write_predictions(cohort_root, tmp_path / "pred")
    cohort = open_cohort(cohort=cohort_root).select(["p1", "c1", "c2"])
    how = MniRegistration(template=scaled_template(), affine=QUICK, bspline_iterations=5)
    quiet = {"on_warning": lambda message: None, "progress": False}
    mni = evaluate(pred, cohort, "myelin-longitudinal", tmp_path / "mni", threshold_space="mni", mni=how, **quiet)
    native = evaluate(pred, cohort, "myelin-longitudinal", tmp_path / "native", **quiet)
    reg = mni.tables["registration"]
    assert sorted(zip(reg.subject, reg.session)) == [("c1", "t0"), ("c2", "t0"), ("p1", "t0"), ("p1", "t1")]
    assert (reg.seconds > 0).all() and "registration" not in native.tables
    # the fixture's thresholds are 1.4 at every distance: both spaces classify alike
    columns = ["subject", "session", "method", "percent", "dice"]
    assert mni.tables["demyelination"][columns].equals(native.tables["demyelination"][columns])
    assert "threshold space `mni`" in (mni.out / "report.md").read_text()


@pytest.mark.slow
def test_registration_to_the_real_mni152_recovers_a_known_displacement():
    """A 'subject' = the template's own tissue moved by 4 mm and rotated 4 degrees."""
    from data_tools.preprocessing.itk_bridge import itk_to_affine, itk_to_array

    template = mni152_csf_template()
    tissue = itk_to_array(template.tissue)
    affine = itk_to_affine(template.tissue)
    angle = np.deg2rad(4.0)
    motion = np.eye(4)
    motion[:3, :3] = [[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]]
    motion[:3, 3] = [4.0, -3.0, 2.0]
    moved = motion @ affine  # the same voxels, placed elsewhere in the world
    distance, _ = template_distance(tissue > 0, tissue == CSF, tissue == WHITE_MATTER, moved, label="moved MNI152")
    expected = itk_to_array(template.distance)  # voxel for voxel: the template's own distance
    wm = tissue == WHITE_MATTER
    error = np.abs(distance[wm] - expected[wm])
    assert np.median(error) < 0.5 and np.percentile(error, 90) < 1.5  # mm, on 2 mm voxels
