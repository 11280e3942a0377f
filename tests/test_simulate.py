"""The simulated cohort (issue 3): layout, determinism, and realism where the method depends on it.

Cohort-level checks use one module-scoped cohort of 6 patients and 4 controls at 4 mm
(coarse, so the whole file runs in well under a minute on two cores).
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from data_tools.errors import ConfigError, OutputExistsError
from data_tools.io.cohort import IMAGE_NAMES, MASK_NAMES, TRUTH_NAMES, open_cohort
from data_tools.simulation import clinical, mri, myelin_imaging
from data_tools.simulation.cohort import SimulationOptions, simulate_cohort
from data_tools.simulation.fields import upsample

REPO = Path(__file__).resolve().parents[1]
RESOLUTION = 4.0


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    root = tmp_path_factory.mktemp("sim") / "cohort"
    simulate_cohort(root, n_ms=6, n_hc=4, resolution=RESOLUTION, seed=3, progress=False)
    return open_cohort(cohort=root)


def _load(session, *names):
    return [session.load(n).data for n in names]


def _patients(cohort):
    return [s for s in cohort.subjects.values() if s.group == "MS"]


def _controls(cohort):
    return [s for s in cohort.subjects.values() if s.group == "HC"]


def _hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


# --- signal equations and helpers, against hand-worked values --------------------------

def test_signal_equations_hand_worked():
    # Spin echo, PD 1, T1 = TR = 1000, T2 = TE = 100: (1 - e^-1) e^-1 = 0.23254.
    assert mri.spin_echo(1.0, 1000.0, 100.0, 1000.0, 100.0) == pytest.approx(0.232544, abs=1e-6)
    # FLASH at 90 degrees reduces to (1 - E1) e^(-TE/T2): T1 = TR, TE = 0 -> 1 - e^-1.
    assert mri.spoiled_gradient_echo(1.0, 20.0, 80.0, 20.0, 0.0, 90.0) == pytest.approx(0.632121, abs=1e-6)
    # FLASH, TR 20, T1 832, 25 degrees: E1 = 0.976248; sin(25)(1-E1)/(1-cos(25)E1) = 0.0100380 / 0.115219 = 0.087121.
    assert mri.spoiled_gradient_echo(1.0, 832.0, 80.0, 20.0, 0.0, 25.0) == pytest.approx(0.087121, rel=1e-4)
    # IR with TI = T1 ln 2 and TR -> infinity nulls: 1 - 2 * 1/2 = 0.
    assert mri.inversion_recovery(1.0, 1000.0, 100.0, 1e9, 0.0, 1000.0 * np.log(2)) == pytest.approx(0, abs=1e-9)
    # TI nulling CSF for TR 9000, T1 4200: 4200 ln(2 / (1 + e^(-2.142857))) = 4200 ln(1.789966) = 2445.3 ms.
    assert mri.flair_null_ti(4200.0, 9000.0) == pytest.approx(2445.3, abs=0.5)
    ti1, ti2 = mri.dir_null_tis(4200.0, 832.0, 7500.0)
    assert ti1 > ti2 > 0
    for t1 in (4200.0, 832.0):
        assert mri.double_inversion_recovery(1.0, t1, 100.0, 7500.0, 0.0, ti1, ti2) == pytest.approx(0, abs=1e-6)
    # GM (T1 1331) is not nulled by the DIR that nulls CSF and WM.
    assert mri.double_inversion_recovery(1.0, 1331.0, 100.0, 7500.0, 0.0, ti1, ti2) > 0.05


def test_fractional_anisotropy_hand_worked():
    # Eigenvalues (1.5, 0.5, 0.5): |1.5 - 0.5| / sqrt(2.25 + 0.5) = 0.603023; isotropic -> 0.
    fa = myelin_imaging.fractional_anisotropy(np.array([1.5, 3.0]), np.array([0.5, 3.0]))
    np.testing.assert_allclose(fa, [0.603023, 0.0], atol=1e-6)


def test_upsample_is_exact_on_a_linear_ramp():
    coarse = np.add.outer(np.add.outer(np.arange(5.0), 2 * np.arange(6.0)), 3 * np.arange(4.0))
    fine = upsample(coarse, (9, 11, 7), step=2.0)
    i, j, k = np.indices((9, 11, 7)) / 2.0
    np.testing.assert_allclose(fine, i + 2 * j + 3 * k, atol=1e-5)


def test_edss_falls_with_remyelination_in_the_default_cohort_table():
    people = clinical.draw_participants(np.random.default_rng(0), 18, 10)
    patients = [p for p in people if p.group == "MS"]
    r, p = stats.pearsonr([q.remyelination_rate for q in patients], [q.edss for q in patients])
    assert r < 0 and p < 0.01
    assert all(p.edss is None and p.remyelination_rate is None for p in people if p.group == "HC")
    assert all(0 <= q.edss <= 10 and (q.edss * 2).is_integer() for q in patients)


# --- determinism --------------------------------------------------------------------

def test_same_seed_identical_files_different_seed_different_anatomy(tmp_path):
    kwargs = dict(n_ms=1, n_hc=0, resolution=RESOLUTION, sessions=("t0",), progress=False)
    a = simulate_cohort(tmp_path / "a", seed=7, jobs=1, **kwargs)
    b = simulate_cohort(tmp_path / "b", seed=7, jobs=2, **kwargs)  # parallel: still identical
    c = simulate_cohort(tmp_path / "c", seed=8, jobs=1, **kwargs)
    ha, hb = _hashes(a), _hashes(b)
    assert ha == hb and len(ha) == 2 + 19  # participants.tsv, simulation.json, 19 images
    for name in ("brainmask", "lesions", "T1"):
        rel = f"sub-ms01/ses-t0/{name}.nii.gz"
        assert _hashes(c)[rel] != ha[rel]
    ca, cc = open_cohort(cohort=a), open_cohort(cohort=c)
    brain_a, les_a = _load(ca.subjects["ms01"].sessions["t0"], "brainmask", "lesions")
    brain_c, les_c = _load(cc.subjects["ms01"].sessions["t0"], "brainmask", "lesions")
    assert (brain_a != brain_c).sum() > 0.01 * brain_a.sum()
    assert not np.array_equal(les_a, les_c)


# --- layout ---------------------------------------------------------------------------

def test_layout_masks_and_participants(cohort):
    assert len(_patients(cohort)) == 6 and len(_controls(cohort)) == 4
    for subject in cohort.subjects.values():
        expected = ["t0", "t1"] if subject.group == "MS" else ["t0"]
        assert sorted(subject.sessions) == expected
        for session in subject.sessions.values():
            names = IMAGE_NAMES + MASK_NAMES + TRUTH_NAMES
            session.require(names)
            vols = session.load_many(names)  # masks validated 0/1, one shared grid
            assert np.allclose(np.abs(np.diag(vols[0].affine))[:3], RESOLUTION)
            brain, wm, gm, csf = _load(session, "brainmask", "wm", "gm", "csf")
            assert not (wm & gm).any() and not (wm & csf).any() and not (gm & csf).any()
            np.testing.assert_array_equal(wm | gm | csf, brain)
            for image in _load(session, "T1", "FLAIR", "PIB"):
                assert image[brain].mean() > 0 and not image[~brain].any()
    for subject in _patients(cohort):
        info = subject.info
        assert info["t2_lesion_load"] > 0 and 5 <= info["n_lesions"] <= 40
        assert info["edss"] is not None and 0 < info["remyelination_rate"] < 1
    for subject in _controls(cohort):
        assert subject.info["t2_lesion_load"] == 0 and subject.info["edss"] is None


def test_lesions_inside_white_matter_and_truth_consistent(cohort):
    for subject in cohort.subjects.values():
        for session in subject.sessions.values():
            les, wm, dem, myelin = _load(session, "lesions", "wm", "demyelinated", "myelin")
            assert not (les & ~wm).any(), session.label
            assert not (dem & ~les).any()
            if subject.group == "HC":
                assert not les.any()
            else:
                assert les.any() and dem.any()
                # Demyelinated voxels hold less myelin than the remaining lesional voxels.
                assert myelin[dem].mean() < myelin[les & ~dem].mean()
    t0 = _load(_patients(cohort)[0].sessions["t0"], "lesions")[0]
    t1 = _load(_patients(cohort)[0].sessions["t1"], "lesions")[0]
    np.testing.assert_array_equal(t0, t1)  # lesion masks are kept across visits


def test_lesions_prefer_the_periventricular_white_matter(cohort):
    from scipy import ndimage
    near, far = [], []
    for subject in _patients(cohort):
        les, wm, csf, brain = _load(subject.sessions["t0"], "lesions", "wm", "csf", "brainmask")
        depth = ndimage.distance_transform_edt(brain, sampling=RESOLUTION)
        distance = ndimage.distance_transform_edt(~(csf & (depth > 15)), sampling=RESOLUTION)
        near.append(np.median(distance[les]))
        far.append(np.median(distance[wm]))
    assert np.mean(near) < np.mean(far)


# --- MRI realism ---------------------------------------------------------------------

def test_flair_nulls_csf_and_lesions_are_hyperintense(cohort):
    for subject in cohort.subjects.values():
        for session in subject.sessions.values():
            flair, les, wm, csf = _load(session, "FLAIR", "lesions", "wm", "csf")
            nawm = wm & ~les
            assert flair[csf].mean() < flair[nawm].mean(), session.label
            if subject.group == "MS":
                assert flair[les].mean() / flair[nawm].mean() > 1.2, session.label


def test_dir_suppresses_white_matter_and_t1_contrast(cohort):
    for subject in cohort.subjects.values():
        session = subject.sessions["t0"]
        dir_, t1, les, wm, gm = _load(session, "DIR", "T1", "lesions", "wm", "gm")
        nawm = wm & ~les
        assert dir_[nawm].mean() < 0.5 * dir_[gm].mean(), session.label
        assert t1[nawm].mean() > t1[gm].mean()  # T1-w: WM brighter than GM
        if subject.group == "MS":
            assert t1[les].mean() < t1[nawm].mean()  # T1 lesions hypointense


def test_t1post_has_enhancing_lesions_somewhere(cohort):
    ratios = []
    for subject in _patients(cohort):
        for session in subject.sessions.values():
            t1, post, les = _load(session, "T1", "T1POST", "lesions")
            ratios.append(np.max(post[les] / np.maximum(t1[les], 1.0)))
    assert max(ratios) > 1.3  # gadolinium shortens T1 in at least one active lesion


# --- myelin imaging ------------------------------------------------------------------

def test_pib_lower_in_lesions_and_nawm_like_control_wm(cohort):
    lesion_means, nawm_means = [], []
    for subject in _patients(cohort):
        pib, les, wm = _load(subject.sessions["t0"], "PIB", "lesions", "wm")
        lesion_means.append(pib[les].mean())
        nawm_means.append(pib[wm & ~les].mean())
        assert lesion_means[-1] < nawm_means[-1], subject.id
    assert stats.ttest_rel(lesion_means, nawm_means).pvalue < 0.001
    control_wm = []
    for subject in _controls(cohort):
        pib, wm = _load(subject.sessions["t0"], "PIB", "wm")
        control_wm.append(pib[wm].mean())
    assert stats.ttest_ind(nawm_means, control_wm).pvalue > 0.05  # as sec. 3.3.4 reports
    assert 1.4 < np.mean(control_wm) < 2.0  # plausible WM DVR


def test_rd_higher_and_mtr_lower_where_truly_demyelinated(cohort):
    for subject in _patients(cohort):
        for session in subject.sessions.values():
            rd, mtr, les, dem = _load(session, "RD", "MTR", "lesions", "demyelinated")
            other = les & ~dem
            assert rd[dem].mean() > rd[other].mean(), session.label
            assert mtr[dem].mean() < mtr[other].mean(), session.label


# --- longitudinal and clinical -------------------------------------------------------

def test_follow_up_remyelination_matches_the_patient_rate(cohort):
    for subject in _patients(cohort):
        dem0, = _load(subject.sessions["t0"], "demyelinated")
        dem1, = _load(subject.sessions["t1"], "demyelinated")
        les, = _load(subject.sessions["t0"], "lesions")
        remyelinated = (dem0 & ~dem1).sum() / dem0.sum()
        demyelinated = (les & ~dem0 & dem1).sum() / (les & ~dem0).sum()
        assert remyelinated == pytest.approx(subject.info["remyelination_rate"], abs=1.0 / dem0.sum() + 1e-3)
        assert demyelinated == pytest.approx(subject.info["demyelination_rate"],
                                             abs=1.0 / (les & ~dem0).sum() + 1e-3)


def test_edss_correlates_negatively_with_remyelination(cohort):
    patients = _patients(cohort)
    rho, _ = stats.spearmanr([s.info["remyelination_rate"] for s in patients], [s.info["edss"] for s in patients])
    assert rho < 0


# --- options, errors, CLI ------------------------------------------------------------

def test_bad_options_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="sessions"):
        simulate_cohort(tmp_path / "x", sessions="t1", resolution=RESOLUTION, progress=False)
    with pytest.raises(ConfigError, match="resolution"):
        simulate_cohort(tmp_path / "x", resolution=0.1, progress=False)
    with pytest.raises(ConfigError, match="lesion count"):
        simulate_cohort(tmp_path / "x", resolution=RESOLUTION, progress=False,
                        options=SimulationOptions(n_lesions=(10, 5)))
    with pytest.raises(ConfigError, match="at least one subject"):
        simulate_cohort(tmp_path / "x", n_ms=0, n_hc=0, resolution=RESOLUTION, progress=False)
    assert not (tmp_path / "x").exists()


def test_cli_writes_cohort_and_refuses_to_overwrite(tmp_path, capsys):
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = tmp_path / "cli_cohort"
    cmd = [sys.executable, "-m", "msgan", "simulate", "--out", str(out), "--n-ms", "1", "--n-hc", "0",
           "--resolution", "4", "--sessions", "t0", "--lesions", "3-4", "--jobs", "1"]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert (out / "sub-ms01" / "ses-t0" / "FLAIR.nii.gz").exists()
    assert not (out / "sub-ms01" / "ses-t1").exists()
    assert 3 <= open_cohort(cohort=out).subjects["ms01"].info["n_lesions"] <= 4
    before = _hashes(out)
    again = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert again.returncode == 2
    assert again.stderr.strip().count("\n") == 0 and "--overwrite" in again.stderr
    assert "Traceback" not in again.stderr
    assert _hashes(out) == before
    from msgan.cli import main
    with pytest.raises(SystemExit) as exit_info:
        main(cmd[3:-4] + ["--lesions", "many", "--overwrite"])
    assert exit_info.value.code == 2 and "--lesions" in capsys.readouterr().err
    assert _hashes(out) == before


def test_existing_output_needs_overwrite(tmp_path):
    out = tmp_path / "c"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(OutputExistsError):
        simulate_cohort(out, n_ms=0, n_hc=1, resolution=RESOLUTION, progress=False)
    assert (out / "keep.txt").read_text() == "mine"
    simulate_cohort(out, n_ms=0, n_hc=1, resolution=RESOLUTION, progress=False, overwrite=True)
    assert not (out / "keep.txt").exists() and (out / "sub-hc01" / "ses-t0" / "PIB.nii.gz").exists()
