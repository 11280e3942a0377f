"""The collectors are functions of their arguments that return rows (no evaluator, no
state): checked on the hand-worked cohort of ``evaluation_fixtures`` (patient p1: t0
slabs 12-14 of four demyelinated, t1 slabs 14-15)."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from msgan.evaluation import collect
from msgan.evaluation.constants import TRUTH
from msgan.evaluation.demyelination import distance_to_csf, pool_control_statistics
from tests.evaluation_fixtures import anatomy, true_pib

A = anatomy()
DISTANCE = distance_to_csf(A["csf"])
NAWM = A["wm"] & ~A["lesions"]


def _volume(data):
    return SimpleNamespace(data=data, zooms=(1.0, 1.0, 1.0))


def _thresholds():
    control, _ = true_pib(lesional=False)
    return pool_control_statistics([(control, DISTANCE, A["wm"])])


def _visit(slabs, preds, thresholds, threshold_source="same", simulated=None, session="t0"):
    truth, _ = true_pib(slabs)
    base = {"subject": "p1", "session": session, "group": "MS"}
    return collect.demyelination(base, _volume(truth), preds, (A["lesions"], "t0"), DISTANCE, thresholds,
                                 threshold_source, simulated)


def test_demyelination_rows_and_maps_are_returned():
    thresholds = _thresholds()
    truth, demyelinated = true_pib((12, 13, 14))
    preds = {"msgan": truth.copy(), "flat": np.full_like(truth, 1.6), "unthresholded": truth.copy()}
    before = {name: pred.copy() for name, pred in preds.items()}
    rows, visit = _visit((12, 13, 14), preds, {TRUTH: thresholds, "msgan": thresholds, "flat": thresholds},
                         simulated=demyelinated)
    by_method = {row["method"]: row for row in rows["demyelination"]}
    assert list(by_method) == [TRUTH, "msgan", "flat"]  # a method without thresholds is left out
    assert by_method[TRUTH]["percent"] == pytest.approx(75.0) and by_method["msgan"]["dice"] == 1.0
    assert by_method["flat"]["percent"] == 0.0 and by_method["msgan"]["threshold_maps"] == "msgan"
    assert rows["procedure"][0]["dice_vs_simulated"] == 1.0
    assert set(visit["maps"]) == {TRUTH, "msgan", "flat"} and visit["voxel_ml"] == pytest.approx(0.001)
    assert all(np.array_equal(preds[n], before[n]) for n in preds)  # inputs untouched
    rows_truth, _ = _visit((12, 13, 14), {"msgan": truth}, {TRUTH: thresholds, "msgan": thresholds}, "truth")
    assert [row["threshold_maps"] for row in rows_truth["demyelination"]] == [TRUTH, TRUTH]
    assert "procedure" not in rows_truth  # no simulated truth given


def test_longitudinal_rows_from_two_visits():
    thresholds = {TRUTH: _thresholds(), "msgan": _thresholds()}
    truth0, _ = true_pib((12, 13, 14))
    truth1, _ = true_pib((14, 15))
    _, t0 = _visit((12, 13, 14), {"msgan": truth0}, thresholds)
    _, t1 = _visit((14, 15), {"msgan": truth1}, thresholds, session="t1")
    subject = SimpleNamespace(id="p1", info={"edss": 3.0, "age": 30, "sex": "F", "t2_lesion_load": 4.1})
    rows = collect.longitudinal(subject, t0, t1)
    assert [row["method"] for row in rows] == [TRUTH, "msgan"]
    for row in rows:
        assert row["global_change"] == pytest.approx(-25.0)
        assert row["dynamic_demyelination"] == pytest.approx(100.0)
        assert row["dynamic_remyelination"] == pytest.approx(200 / 3)
        assert row["baseline_lesion_ml"] == pytest.approx(0.064) and row["edss"] == 3.0


def test_quality_roi_and_flair_rows():
    truth, _ = true_pib((12,))
    base = {"subject": "p1", "session": "t0", "group": "MS"}
    quality = collect.quality(base, truth, {"a": truth, "b": truth + 0.1}, A["brain"])
    assert [(r["method"], r["subject"]) for r in quality] == [("a", "p1"), ("b", "p1")]
    assert quality[0]["mse"] == 0 and quality[1]["mse"] > 0
    roi = collect.myelin_rois(base, truth, {"a": truth}, A["wm"], A["lesions"])
    assert {r["roi"] for r in roi} == {"NAWM", "lesions"} and all(r["discrepancy"] == 0 for r in roi)
    image = np.where(A["lesions"], 3.0, np.where(A["wm"], 1.0, 0.5)).astype(np.float32)  # bright lesions
    flair = collect.flair(base, image, {"a": image, "dim": np.minimum(image, 1.0)}, A["lesions"], A["wm"],
                          k=2.0, dilation=2)
    assert [r["method"] for r in flair["contrast"]] == [TRUTH, "a", "dim"]
    assert flair["contrast"][1]["ratio1"] == pytest.approx(3.0)  # lesions over their NAWM surround
    segmentation = {r["method"]: r for r in flair["segmentation"]}
    assert segmentation["a"]["dice"] == 1.0 and segmentation["a"]["voxels_true"] == int(A["lesions"].sum())
    assert segmentation["dim"]["voxels_pred"] == 0 and segmentation["dim"]["dice"] == 0.0
    assert collect.quality(base, truth, {}, A["brain"]) == []


def test_the_example_slice_prefers_a_patient():
    assert collect.replaces_example(None, is_patient=False)
    assert collect.replaces_example({"is_patient": False}, is_patient=True)
    assert not collect.replaces_example({"is_patient": True}, is_patient=True)
    assert not collect.replaces_example({"is_patient": False}, is_patient=False)
    assert collect.slice_through(A["lesions"]) in (10, 11, 12, 13)
    assert collect.slice_through(np.zeros((4, 4, 6), bool)) == 3
