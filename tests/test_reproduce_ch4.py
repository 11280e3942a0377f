"""`msgan reproduce ch4 --check`: every table and figure of chapter 4 in one report.

The full toy run trains all 13 configurations in 3 folds (README, "Reproducing the
thesis", gives its time); the suite runs it with the reference (Refiner CF-SAGAN) alone,
which exercises every step and every section: each thesis item is a section, each table
of the reference's numbers holds them, each figure exists, and the cells of the methods
that did not run read n/a.
"""
from __future__ import annotations

import pandas as pd
import pytest

from msgan.cli import main
from report_sections import check_report, is_number, section, table_rows

TABLES = ["Table 4.1", "Sec. 4.3.5", "Table 4.3 (a)", "Table 4.3 (b)", "Table 4.3, negative control", "Sec. 4.4"]
FIGURES = ["Fig. 4.3", "Fig. 4.4", "Fig. 4.5", "Fig. 4.6"]


@pytest.mark.slow
def test_check_run_writes_every_table_and_figure(tmp_path):
    out = tmp_path / "ch4"
    with pytest.raises(SystemExit) as done:
        main(["reproduce", "ch4", "--check", "--methods", "refiner_cfsagan", "--out", str(out), "--quiet"])
    assert done.value.code == 0
    found = check_report(out, TABLES, FIGURES)
    table_4_1 = table_rows(section(found, "Table 4.1")[1])
    assert all(is_number(cell) for cell in table_4_1["Refiner CF-SAGAN"][:2])
    assert table_4_1["CF-SAGAN"][0] == "n/a"
    # Table 4.2 (the single models with each loss, none of which ran): every msgan cell n/a,
    # the thesis's beside them
    for part in ("a", "b"):
        unet = table_rows(section(found, f"Table 4.2 ({part})")[1])["3D U-Net"]
        assert unet[0] == unet[2] == unet[4] == "n/a" and is_number(unet[1])
    # the thresholds in MNI space by default (sec. 3.3.5): sessions registered to the template
    # (native space registers none and writes no such table)
    assert not pd.read_csv(out / "evaluation" / "tables" / "registration.csv").empty
    # Fig. 4.6 drew the evaluation's classified maps, not a second classification
    assert (out / "figures" / "fig_4_6_dynamic_voxels.png").is_file()
    # every patient predicted at both visits by the model of the fold that held it out
    predicted = out / "predictions" / "refiner_cfsagan"
    assert all(len(list(p.iterdir())) == 2 for p in predicted.iterdir() if p.name.startswith("ms"))


def test_unknown_chapter_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as done:
        main(["reproduce", "ch9", "--check", "--out", str(tmp_path / "x")])
    assert done.value.code == 2 and "ch9" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_mni_thresholds_without_simpleitk_fail_before_any_work(tmp_path, capsys, monkeypatch):
    import sys

    from data_tools.preprocessing.itk_bridge import sitk

    sitk.cache_clear()  # another test in this process may have found the module already
    monkeypatch.setitem(sys.modules, "SimpleITK", None)  # import SimpleITK now raises ImportError
    try:
        with pytest.raises(SystemExit) as done:
            main(["reproduce", "ch4", "--check", "--out", str(tmp_path / "x")])
    finally:
        sitk.cache_clear()  # errors are not cached: later calls import the real module again
    assert done.value.code == 2 and "SimpleITK" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
