"""``evaluate()`` end to end on small synthetic cohorts: truth as prediction, gaps, methods,
the FLAIR task, inputs that make the evaluation impossible, and the ``msgan evaluate`` CLI."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from data_tools.errors import ConfigError, GeometryError, InputFileError, OutputExistsError
from data_tools.io.cohort import open_cohort
from msgan.evaluation import evaluate
from tests.conftest import write_nifti
from tests.evaluation_fixtures import PATIENTS, make_myelin_cohort, write_predictions

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def myelin_cohort(tmp_path_factory) -> Path:
    return make_myelin_cohort(tmp_path_factory.mktemp("myelin") / "cohort")


@pytest.fixture(scope="module")
def truth_report(myelin_cohort, tmp_path_factory):
    """The true PIB given as the prediction, evaluated once for the module."""
    work = tmp_path_factory.mktemp("truth")
    pred = write_predictions(myelin_cohort, work / "pred")
    warnings = []
    result = evaluate(pred, open_cohort(cohort=myelin_cohort), "myelin-longitudinal", work / "report",
                      on_warning=warnings.append)
    return result, warnings


def test_truth_as_prediction_gives_perfect_agreement(truth_report):
    result, _ = truth_report
    t = result.tables
    assert (t["roi"].discrepancy == 0).all() and len(t["roi"]) == 2 * 1 + 15 * 2  # 2 HC WM; NAWM+lesions
    assert (t["demyelination"].dice == 1).all()
    longi = t["longitudinal"]
    for change in ("demyelination", "remyelination"):
        # two empty dynamic maps (no voxel changes, true = predicted) have no DICE: n/a, not 1
        score = longi[f"dice_dynamic_{change}"]
        empty = longi[f"dynamic_{change}"].fillna(0) == 0
        assert empty.any() and score[empty].isna().all() and (score[~empty] == 1).all()
    summary = t["longitudinal_summary"].set_index("method")
    # remyelination in p1, p3, p5, p7 only: the mean is over those 4 of the 7 patients
    assert (summary.loc["msgan", "dice_dynamic_remyelination_n"], summary.loc["msgan", "n"]) == (4, 7)
    assert (t["quality"].mse == 0).all() and np.allclose(t["quality"].ssim, 1.0)
    clinical = t["clinical"]
    true_rows = clinical[clinical.maps == "truth"].drop(columns="maps").reset_index(drop=True)
    pred_rows = clinical[clinical.maps == "msgan"].drop(columns="maps").reset_index(drop=True)
    pd.testing.assert_frame_equal(true_rows, pred_rows)
    assert set(clinical["n"]) == {7}  # the 7 patients with both visits
    ba = t["bland_altman"]
    assert (ba[["bias", "sd"]] == 0).all().all()
    # one row per subject: each session on its own (8 patients at t0, 7 at t1; 2 controls at t0)
    n = ba.set_index(["session", "region"]).n
    assert n.to_dict() == {("t0", "WM/NAWM"): 10, ("t0", "lesions"): 8, ("t1", "WM/NAWM"): 7, ("t1", "lesions"): 7}


def test_thresholding_recovers_the_simulated_demyelination(truth_report):
    result, _ = truth_report
    procedure = result.tables["procedure"]
    assert len(procedure) == 15 and (procedure.dice_vs_simulated == 1).all()
    report = (result.out / "report.md").read_text()
    assert "recovers it with DICE 1 (0) at ses-t0" in report


def test_longitudinal_indices_match_the_hand_worked_patterns(truth_report):
    result, _ = truth_report
    longi = result.tables["longitudinal"].set_index(["subject", "method"])
    # p1: t0 slabs 12-14 demyelinated (75 %), t1 slabs 14-15 (50 %) of four equal slabs
    p1 = longi.loc[("p1", "truth")]
    assert p1.global_change == pytest.approx(-25.0)
    assert p1.dynamic_demyelination == pytest.approx(100.0)  # slab 15: normal -> demyelinated
    assert p1.dynamic_remyelination == pytest.approx(200 / 3)  # slabs 12, 13 of 12-14 recover
    # p6: t0 slab 13, t1 slabs 13-15
    p6 = longi.loc[("p6", "msgan")]
    assert (p6.global_change, p6.dynamic_demyelination, p6.dynamic_remyelination) == (
        pytest.approx(50.0), pytest.approx(200 / 3), pytest.approx(0.0))
    demy = result.tables["demyelination"].set_index(["subject", "session", "method"])
    for sid, (t0, t1, *_) in PATIENTS.items():
        assert demy.loc[(sid, "t0", "truth"), "percent"] == pytest.approx(25.0 * len(t0))


def test_patient_without_follow_up_is_a_stated_gap(truth_report):
    result, warnings = truth_report
    assert any(w.startswith("sub-p8:") and "ses-t1" in w for w in warnings)
    assert "p8" not in set(result.tables["longitudinal"].subject)
    report = (result.out / "report.md").read_text()
    assert "## Gaps" in report and "sub-p8: patient without a usable ses-t1" in report
    for name in ("qualitative", "roi_boxplots", "bland_altman", "demyelination_overlays",
                 "demyelination_thresholds", "longitudinal_indices"):
        assert (result.out / "figures" / f"{name}.png").stat().st_size > 5000
        assert f"figures/{name}.png" in report
    assert (result.out / "tables" / "clinical.csv").is_file()


def test_missing_prediction_and_masks_are_gaps_and_methods_are_compared(myelin_cohort, tmp_path):
    cohort_root = tmp_path / "cohort"
    shutil.copytree(myelin_cohort, cohort_root)
    (cohort_root / "sub-p3" / "ses-t0" / "csf.nii.gz").unlink()
    (cohort_root / "sub-c2" / "ses-t0" / "wm.nii.gz").unlink()
    (cohort_root / "sub-p5" / "ses-t1" / "lesions.nii.gz").unlink()
    ours = write_predictions(cohort_root, tmp_path / "ours", skip=(("sub-p2", "ses-t1"),))
    rng = np.random.default_rng(0)
    other = write_predictions(cohort_root, tmp_path / "other",
                              transform=lambda a, s, ses: a + rng.normal(0, 0.05, a.shape))
    warnings = []
    result = evaluate(ours, open_cohort(cohort=cohort_root), "myelin-longitudinal", tmp_path / "report",
                      methods={"noisy": other}, label="ours", on_warning=warnings.append)
    text = "\n".join(warnings)
    assert "sub-p2/ses-t1: no PIB prediction from ours" in text
    assert "sub-p3/ses-t0: no csf mask" in text
    assert "sub-c2/ses-t0: no white matter mask" in text
    assert "sub-p5/ses-t1: patient without a lesions mask" in text
    assert len(warnings) == len(set(warnings)) == len(result.gaps)
    t = result.tables
    assert "c2" not in set(t["roi"].subject)
    assert "p3" not in set(t["longitudinal"].subject)  # p3: no csf at t0
    # p5 has no lesion mask at t1, but its t1 demyelination is over the baseline lesions (sec. 4.2.5)
    p5 = t["demyelination"].set_index(["subject", "session", "method"]).loc[("p5", "t1", "truth")]
    assert (p5.lesion_load_session, p5.lesion_voxels) == ("t0", 64) and "p5" in set(t["longitudinal"].subject)
    assert not ((t["demyelination"].subject == "p3") & (t["demyelination"].session == "t0")).any()
    # the paired tests are scipy's ttest_rel over the subjects both methods predicted, per session
    q = t["quality"]
    tests = t["quality_tests"].set_index(["session", "metric"])
    for session, n in (("t0", 10), ("t1", 6)):  # ours has no p2 at t1
        part = q[q.session == session]
        a = part[part.method == "ours"].set_index("subject").mse
        b = part[part.method == "noisy"].set_index("subject").mse
        shared = a.index.intersection(b.index)
        expected = stats.ttest_rel(b[shared], a[shared])
        row = tests.loc[(session, "mse")]
        assert row.n == len(shared) == n and row.df == expected.df == n - 1
        assert (row.t, row.p) == (pytest.approx(expected.statistic), pytest.approx(expected.pvalue))
    report = (result.out / "report.md").read_text()
    assert "no PIB prediction from ours" in report and "## Method comparisons" in report
    assert "| noisy |" in report


def test_no_patient_counts_twice_in_a_test(myelin_cohort, tmp_path):
    """8 patients at t0 (7 of them at t1) and 2 controls: every test is within one session."""
    ours = write_predictions(myelin_cohort, tmp_path / "ours")
    rng = np.random.default_rng(5)
    other = write_predictions(myelin_cohort, tmp_path / "other",
                              transform=lambda a, s, ses: np.where(a > 0, a + rng.normal(0, 0.05, a.shape), 0))
    result = evaluate(ours, open_cohort(cohort=myelin_cohort), "myelin-longitudinal", tmp_path / "report",
                      methods={"noisy": other}, on_warning=lambda message: None)
    t = result.tables
    expected = {
        "quality_tests": {("t0",): 10, ("t1",): 7},
        "roi_tests": {("t0", "WM_HC"): 2, ("t0", "NAWM"): 8, ("t0", "lesions"): 8, ("t1", "NAWM"): 7,
                      ("t1", "lesions"): 7},
        "demyelination_tests": {("t0",): 8, ("t1",): 7},
    }
    for name, counts in expected.items():
        tests = t[name]
        keys = ["session", "roi"] if name == "roi_tests" else ["session"]
        assert {k: int(n) for k, n in tests.groupby(keys).n.max().items()} == \
            {k if len(k) > 1 else k[0]: n for k, n in counts.items()}, name
        assert (tests.groupby(keys).n.nunique() == 1).all(), name
        assert (tests.df == tests.n - 1).all(), name  # scipy's own degrees of freedom
    paired = t["group_tests"][t["group_tests"].comparison == "lesions vs NAWM (MS)"]
    assert {(r.session, r.df) for r in paired.itertuples()} == {("t0", 7), ("t1", 6)}
    report = (result.out / "report.md").read_text()
    comparisons = report.split("## Method comparisons")[1]
    header = comparisons.split("\n| ---")[0].splitlines()[-1]
    assert [c.strip() for c in header.strip("|").split("|")][:2] == ["session", "metric"]
    assert "| t0 | mse |" in comparisons and "| t1 | mse |" in comparisons


def test_follow_up_percentage_is_over_the_baseline_lesion_load(myelin_cohort, tmp_path):
    """Sec. 4.2.5: a new lesion at t1 is not part of the baseline load the t1 percentage is over."""
    import nibabel as nib

    cohort_root = tmp_path / "cohort"
    shutil.copytree(myelin_cohort, cohort_root)
    t1 = cohort_root / "sub-p1" / "ses-t1"
    for name, value in (("lesions", 1), ("PIB", 1.0)):  # a new, demyelinated lesion of 32 voxels
        img = nib.load(str(t1 / f"{name}.nii.gz"))
        data = np.asarray(img.dataobj).copy()
        data[16:18, 10:14, 10:14] = value
        write_nifti(t1 / f"{name}.nii.gz", data, img.affine)
    pred = write_predictions(cohort_root, tmp_path / "pred")
    result = evaluate(pred, open_cohort(cohort=cohort_root).select(["p1", "p2", "c1", "c2"]),
                      "myelin-longitudinal", tmp_path / "report", on_warning=lambda message: None)
    demy = result.tables["demyelination"].set_index(["subject", "session", "method"])
    t0, t1 = demy.loc[("p1", "t0", "truth")], demy.loc[("p1", "t1", "truth")]
    assert t1.lesion_voxels == t0.lesion_voxels == 64  # the baseline load
    assert t1.percent == pytest.approx(50.0)  # slabs 14, 15 of the 4 baseline slabs (not 64 / 96)
    longi = result.tables["longitudinal"].set_index(["subject", "method"])
    assert longi.loc[("p1", "truth"), "global_change"] == pytest.approx(t1.percent - t0.percent)


def test_predicted_maps_are_classified_with_the_controls_predicted_maps(myelin_cohort, tmp_path):
    """A prediction biased by -0.3 DVR everywhere: against the controls' true thresholds (1.4)
    every normal lesional voxel (1.6 - 0.3) would count as demyelinated; against the controls'
    predicted maps (threshold 1.1) the classification is the truth's."""
    pred = write_predictions(myelin_cohort, tmp_path / "pred", transform=lambda a, s, ses: np.where(a > 0, a - 0.3, 0))
    cohort = open_cohort(cohort=myelin_cohort).select(["p1", "p2", "p3", "c1", "c2"])
    quiet = {"on_warning": lambda message: None, "progress": False}

    def rows(result, method):
        demy = result.tables["demyelination"]
        return demy[demy.method == method].set_index(["subject", "session"]).sort_index()

    same = evaluate(pred, cohort, "myelin", tmp_path / "same", **quiet)
    ours, truth = rows(same, "msgan"), rows(same, "truth")
    assert len(ours) == 6 and (ours.dice == 1).all() and np.allclose(ours.percent, truth.percent)
    assert set(ours.threshold_maps) == {"msgan"} and set(truth.threshold_maps) == {"truth"}
    assert same.options.threshold_source == "same"
    crossed = evaluate(pred, cohort, "myelin", tmp_path / "crossed", threshold_source="truth", **quiet)
    ours = rows(crossed, "msgan")
    assert (ours.percent == 100).all() and set(ours.threshold_maps) == {"truth"}
    assert "threshold source `truth`" in (crossed.out / "report.md").read_text()
    # no control predicted: the method's maps cannot be classified, a stated gap
    partial = write_predictions(myelin_cohort, tmp_path / "partial", skip=(("sub-c1", "ses-t0"), ("sub-c2", "ses-t0")))
    warnings = []
    result = evaluate(partial, cohort, "myelin", tmp_path / "partial_report", on_warning=warnings.append,
                      progress=False)
    assert "msgan" not in set(result.tables["demyelination"].method)
    assert any("msgan" in w and "threshold" in w for w in warnings)
    with pytest.raises(ConfigError, match="threshold"):
        evaluate(pred, cohort, "myelin", tmp_path / "bad", threshold_source="controls", **quiet)


def test_flair_task_truth_as_prediction(tiny_cohort, tmp_path):
    pred = write_predictions(tiny_cohort, tmp_path / "pred", target="FLAIR")
    result = evaluate(pred, open_cohort(cohort=tiny_cohort), "flair", tmp_path / "report", on_warning=print)
    contrast = result.tables["contrast"]
    truth = contrast[contrast.method == "truth"].set_index("subject")[["ratio1", "ratio2"]]
    ours = contrast[contrast.method == "msgan"].set_index("subject")[["ratio1", "ratio2"]]
    pd.testing.assert_frame_equal(truth, ours)
    assert (truth.ratio1 > 1.3).all()  # the tiny lesions are FLAIR-hyperintense (+80 on ~150)
    assert (result.tables["segmentation"].dice == 1).all()
    report = (result.out / "report.md").read_text()
    assert "Ratio 1" in report and "not** the external" in report


def test_inputs_that_make_evaluation_impossible_leave_no_output(myelin_cohort, tmp_path):
    cohort = open_cohort(cohort=myelin_cohort)
    out = tmp_path / "report"
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputFileError, match="no PIB_pred.nii.gz for any subject"):
        evaluate(tmp_path / "empty", cohort, "myelin", out)
    with pytest.raises(InputFileError, match="not found"):
        evaluate(tmp_path / "nowhere", cohort, "myelin", out)
    pred = write_predictions(myelin_cohort, tmp_path / "pred")
    bad = pred / "sub-p1" / "ses-t0" / "PIB_pred.nii.gz"
    write_nifti(bad, np.zeros((20, 24, 24), np.float32), np.eye(4))
    with pytest.raises(GeometryError, match="shape"):
        evaluate(pred, cohort, "myelin", out)
    assert not out.exists() and not list(tmp_path.glob(".report*"))
    pred = write_predictions(myelin_cohort, tmp_path / "pred_ok")
    cohort_root = tmp_path / "cohort"
    shutil.copytree(myelin_cohort, cohort_root)
    csf = cohort_root / "sub-p2" / "ses-t0" / "csf.nii.gz"
    write_nifti(csf, np.zeros((24, 24, 24), np.uint8), np.diag([2.0, 2.0, 2.0, 1.0]))
    with pytest.raises(GeometryError, match="csf.nii.gz: affine differs"):
        evaluate(pred, open_cohort(cohort=cohort_root), "myelin", out)
    assert not out.exists()
    out.mkdir()
    with pytest.raises(OutputExistsError):
        evaluate(pred, cohort, "myelin", out)


def _cli(*args):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "msgan", "evaluate", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=120)


def test_cli_writes_report_and_fails_cleanly(myelin_cohort, tmp_path):
    pred = write_predictions(myelin_cohort, tmp_path / "pred", skip=(("sub-p1", "ses-t0"),))
    out = tmp_path / "report"
    run = _cli("--pred", pred, "--cohort", myelin_cohort, "--task", "myelin", "--out", out,
               "--subjects", "p1,p2,p3,c1,c2")
    assert run.returncode == 0, run.stderr
    assert "warning: sub-p1/ses-t0: no PIB prediction from msgan" in run.stderr
    assert "wrote" in run.stdout and (out / "report.md").is_file()
    assert "msgan evaluate --pred" in (out / "report.md").read_text()  # the command is recorded
    bad = _cli("--pred", tmp_path / "missing", "--cohort", myelin_cohort, "--task", "myelin",
               "--out", tmp_path / "report2")
    assert bad.returncode == 2
    assert bad.stderr.strip().startswith("error:") and len(bad.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "report2").exists()
    bad = _cli("--pred", pred, "--cohort", myelin_cohort, "--task", "myelin", "--out", tmp_path / "r3",
               "--methods", "oops")
    assert bad.returncode == 2 and "name=DIR" in bad.stderr
    bad = _cli("--pred", pred, "--cohort", myelin_cohort, "--task", "myelin", "--out", tmp_path / "r4",
               "--threshold-space", "talairach")
    assert bad.returncode == 2 and bad.stderr.startswith("error:") and "mni" in bad.stderr
    assert not (tmp_path / "r4").exists()


@pytest.mark.real_data
def test_flair_evaluation_runs_on_a_real_patient(open_ms_data, tmp_path):
    """182x218x182, no wm or brain mask, no group column: WM estimated, patient from its lesions."""
    from scipy import ndimage

    from data_tools.io.nifti import save_like

    cohort = open_cohort(manifest=REPO / "examples" / "open_ms_data.csv", root=open_ms_data).select(["patient07"])
    session = cohort.subjects["patient07"].sessions["t0"]
    flair = session.load("FLAIR")
    save_like(ndimage.gaussian_filter(flair.data, 1.5), flair,
              tmp_path / "pred" / "patient07" / "t0" / "FLAIR_pred.nii.gz")
    warnings = []
    result = evaluate(tmp_path / "pred", cohort, "flair", tmp_path / "report", on_warning=warnings.append)
    assert warnings == ["sub-patient07: no group in participants.tsv; taken as a patient (MS) "
                        "because it has a lesion mask"]
    quality = result.tables["quality"].iloc[0]
    assert 0.5 < quality.ssim_brain < quality.ssim < 1 and np.isfinite(quality.psnr_brain)
    contrast = result.tables["contrast"].set_index("method")
    # blurring spreads the small bright lesions into their surroundings: both ratios drop
    assert contrast.loc["truth", "ratio1"] > contrast.loc["msgan", "ratio1"] > 1
    assert contrast.loc["truth", "ratio2"] > contrast.loc["msgan", "ratio2"] > 1
    assert 0 < result.tables["segmentation"].dice.iloc[0] < 1
