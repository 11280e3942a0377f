"""`msgan reproduce ch2`: chapter 2's protocol, and every table and figure in its report.

The full `--check` run trains all 23 configurations in 5 folds (README, "Reproducing the
thesis", gives its time); the suite runs `--check` with the reference FCN and one method
of each other kind (a classic method, a removed sequence, a combination), which exercises
every step and every section.
"""
from __future__ import annotations

import pytest

from data_tools.contracts import FoldPlan
from data_tools.io.cohort import open_cohort
from msgan.cli import main
from report_sections import check_report, is_number, section, table_rows

TABLES = ["Table 2.1", "Fig. 2.3", "Table 2.2 (a)", "Table 2.2 (b)", "Table 2.3", "Fig. 2.6",
          "Table 2.4 (a)", "Table 2.4 (b)", "Table 2.4 (c)"]
FIGURES = ["Fig. 2.3", "Fig. 2.4", "Fig. 2.5", "Fig. 2.6", "Fig. 2.7"]
METHODS = "fcn-64,random_forest,fcn-no-DIR,fcn-T1-DIR"


@pytest.mark.slow
def test_check_run_writes_every_table_and_figure(tmp_path):
    out = tmp_path / "ch2"
    with pytest.raises(SystemExit) as done:
        main(["reproduce", "ch2", "--check", "--methods", METHODS, "--out", str(out), "--quiet"])
    assert done.value.code == 0
    found = check_report(out, TABLES, FIGURES)

    # 5 subject-level folds, each control in its own fold, every subject tested once
    plan = FoldPlan.from_json(out / "cv" / "fcn-64" / "folds.json")
    cohort = open_cohort(cohort=out / "cohort")
    tested = [s for fold in plan.folds for s in fold["test"]]
    assert sorted(tested) == sorted(cohort.ids()) and len(plan.folds) == 5
    controls = [s for s in cohort.ids() if cohort.subjects[s].group == "HC"]
    assert len({next(f["fold"] for f in plan.folds if c in f["test"]) for c in controls}) == len(controls)
    assert plan.early_stop_on_test  # the thesis's protocol (sec. 2.2.3), said in the report
    # the classic method followed the same folds: every subject predicted once
    assert sorted(p.name for p in (out / "predictions" / "random_forest").iterdir()) == sorted(cohort.ids())

    # Table 2.2: five folds and the average; the methods that ran have numbers, the others n/a
    rows = table_rows(section(found, "Table 2.2 (a)")[1])
    assert [k for k in rows if k.startswith("Fold")] == [f"Fold {i}" for i in range(1, 6)]
    header = ["Random Forest 60", "Modality Propagation", "Multilayer Perceptron", "U-Net", "Our Method"]
    average = dict(zip(header, rows["Average"]))
    assert is_number(average["Our Method"]) and is_number(average["Random Forest 60"])
    assert average["Modality Propagation"] == "n/a"
    # Table 2.1: the F = 64 FCN at 1/16 width (4 filters) on 5 inputs, 3 hidden 3^3 convolutions
    # and the output one: (27*5*4 + 4) + 2 * (27*4*4 + 4) + (27*4 + 1) = 1525 parameters
    table_2_1 = table_rows(section(found, "Table 2.1")[1])
    assert table_2_1["F1 = F2 = F3 = 64"][1] == "1.5 K"
    assert table_2_1["F1 = F2 = F3 = 32"][0] == "n/a"
    # Fig. 2.3: a learning curve of two epochs for the depth that ran (L = 3, the reference)
    curves = table_rows(section(found, "Fig. 2.3")[1])
    assert set(curves) == {"L = 3"} and curves["L = 3"][0] == "2"


@pytest.mark.parametrize("methods", ["fcn-64,fcn-99", "fcn-32,random_forest"])
def test_unknown_method_or_no_reference_is_a_usage_error(tmp_path, methods):
    out = tmp_path / "x"
    with pytest.raises(SystemExit) as done:
        main(["reproduce", "ch2", "--check", "--methods", methods, "--out", str(out), "--quiet"])
    assert done.value.code == 2
    assert not out.exists()
