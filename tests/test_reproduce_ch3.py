"""`msgan reproduce ch3 --check`: every table and figure of chapter 3 in one report.

The full toy run trains all 10 configurations in 3 folds (README, "Reproducing the
thesis", gives its time); the suite runs it with the reference (the Refiner) alone, which
exercises every step and every section (the sections of methods that did not run are then
n/a cells, an empty test table and an undrawn Fig. 3.9).
"""
from __future__ import annotations

import pytest

from data_tools.contracts import FoldPlan
from msgan.cli import main
from report_sections import check_report, is_number, section, table_rows

TABLES = ["Table 3.1", "Table 3.2", "Fig. 3.5", "Sec. 3.3.4", "Fig. 3.7", "Table 3.3", "Table 3.4"]
FIGURES = ["Fig. 3.4", "Fig. 3.5", "Fig. 3.6", "Fig. 3.7", "Fig. 3.8"]


@pytest.mark.slow
def test_check_run_writes_every_table_and_figure(tmp_path):
    out = tmp_path / "ch3"
    with pytest.raises(SystemExit) as done:
        main(["reproduce", "ch3", "--check", "--methods", "sketcher_refiner", "--out", str(out), "--quiet"])
    assert done.value.code == 0
    found = check_report(out, TABLES, FIGURES)
    table_3_3 = table_rows(section(found, "Table 3.3")[1])
    assert is_number(table_3_3["MTR+DTI"][0]) and table_3_3["MTR"][0] == "n/a"
    section(found, "Sec. 3.3.7")  # present, without rows: MTR and MTR+RD did not run
    assert "![" not in section(found, "Fig. 3.9")[1]  # no image: the U-Nets did not run
    # no validation set (sec. 3.3.1): every non-test subject of a fold trained
    plan = FoldPlan.from_json(out / "cv" / "sketcher_refiner" / "folds.json")
    assert all(not fold["val"] for fold in plan.folds)

