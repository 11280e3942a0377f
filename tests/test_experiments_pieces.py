"""The small pieces the chapter reports are built from, without training: the thesis's
numbers read from their data file, the cells of a measures table, sec. 4.3.5's categories
and the held-out patient whose maps the reports show."""
from __future__ import annotations

from types import SimpleNamespace

import pandas as pd

from msgan.evaluation.cells import measures_table, quality_cell, summary_cell
from msgan.evaluation.constants import TRUTH
from msgan.evaluation.tables import right_categories
from msgan.experiments.chapter import ChapterRun
from msgan.experiments.chapter_report import ChapterReport, said_by_thesis
from msgan.experiments.thesis_values import THESIS


def test_thesis_values_are_keyed_by_title_and_keep_their_types():
    # a table: per row, the printed cells; Table 4.1's baseline rows are Table 3.1's in the thesis
    assert THESIS["Table 4.1"]["2-Layer DNN"] == THESIS["Table 3.1"]["2-Layer DNN"] == \
        ["0.0136 (0.0048)*", "27.767 (1.214)*"]
    assert THESIS["Table 2.1"]["64"] == ["918.07 (41.70)", "213.7 K", "1.34"]
    # Table 4.3: [coefficient, SE, t, p, beta] per term, numbers
    assert THESIS["Table 4.3"]["truth"]["dynamic_remyelination"]["index"] == [-0.233, 0.085, -2.75, 0.021, -0.703]
    assert isinstance(THESIS["Fig. 3.8"], str) and "about" not in THESIS


def test_the_thesis_sentence_ends_the_note_of_its_section_only(tmp_path):
    assert said_by_thesis("Sec. 3.3.4: group comparisons", "Means.") == f"Means. Thesis: {THESIS['Sec. 3.3.4']}."
    assert said_by_thesis("Table 3.1", "Quality.") == "Quality."  # a table of numbers: in its columns
    assert said_by_thesis("Fig. 3.4", "Panel.") == "Panel."  # the thesis says nothing in words
    report = ChapterReport("t", folder=tmp_path)
    report.figure("Fig. 4.6", None, "Voxels.")
    report.table("Sec. 4.4: 3 vs 2", pd.DataFrame({"a": [1]}), "Two against three.")
    assert report.sections[0][1][0] == f"Voxels. Thesis: {THESIS['Fig. 4.6']}."
    assert report.sections[1][1][0] == f"Two against three. Thesis: {THESIS['Sec. 4.4']}."


def _tables():
    summary = pd.DataFrame({"method": ["ref", "other"], "session": ["t0", "t0"], "mse_brain_mean": [1.0, 2.0],
                            "mse_brain_sd": [0.5, 0.25], "mse_brain_n": [3, 2], "n": [3, 3]})
    tests = pd.DataFrame({"method": ["other"], "metric": ["mse_brain"], "session": ["t0"], "p": [0.01]})
    roi = pd.DataFrame({"method": ["other"] * 2, "session": ["t0"] * 2, "roi": ["lesions"] * 2,
                        "discrepancy": [0.1, 0.3]})
    return {"quality_summary": summary, "quality_tests": tests, "roi": roi}


def test_cells_star_the_tested_methods_and_name_partial_means():
    tables = _tables()
    assert quality_cell(tables, "other", "mse_brain", "ref") == ("2 (0.25)*", 3)
    assert quality_cell(tables, "ref", "mse_brain", "ref") == ("1 (0.5)", 3)  # the reference has no star
    assert quality_cell(tables, "missing", "mse_brain", "ref") == ("n/a", "")
    row = tables["quality_summary"].iloc[1]
    assert summary_cell(row, "mse_brain") == "2 (0.25)"
    assert summary_cell(row, "mse_brain", defined=True) == "2 (0.25) (n=2)"  # 2 of 3 subjects had a value
    frame = measures_table(tables, "ref", "method", {"Other": "other"},
                           {"MSE": "mse_brain", "n": "n", "lesions": "roi:lesions"}, {"Other": ["0.1", "0.2"]})
    assert list(frame.columns) == ["method", "MSE (msgan)", "n", "lesions (msgan)", "MSE (thesis)",
                                   "lesions (thesis)"]
    assert frame.iloc[0].tolist() == ["Other", "2 (0.25)*", 3, "0.2 (0.1414)", "0.1", "0.2"]


def test_right_categories_compare_signs_of_the_global_change():
    longi = pd.DataFrame({"method": [TRUTH] * 3 + ["m"] * 3, "subject": ["a", "b", "c"] * 2,
                          "global_change": [1.0, -1.0, 0.5, 2.0, 1.0, float("nan")]})
    row = right_categories(longi).iloc[0]
    assert (row["method"], row["patients in the right category"], row["patients"]) == ("m", 1, 2)
    assert row["share"] == 0.5
    assert right_categories(None).empty


def _run(plan, groups):
    data = SimpleNamespace(subjects={s: SimpleNamespace(group=g) for s, g in groups.items()})
    return ChapterRun(None, None, (), True, None, None, data, None, True, print, False, plan=plan)


def test_the_held_out_patient_is_the_first_ms_patient_and_its_fold():
    plan = [{"fold": 1, "test": ["hc01", "hc02"]}, {"fold": 2, "test": ["hc03", "ms02", "ms01"]}]
    groups = {"hc01": "HC", "hc02": "HC", "hc03": "HC", "ms01": "MS", "ms02": "MS"}
    assert _run(plan, groups).held_out_patient() == ("ms02", 2)
    no_patients = {s: "HC" for s in groups}
    assert _run(plan, no_patients).held_out_patient() == ("hc01", 1)
