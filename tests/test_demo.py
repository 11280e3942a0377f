"""`msgan demo --quick` from the command line: the README's main job, end to end (issue 8)."""
import os
import subprocess
import sys

import pandas as pd
import pytest
from conftest import REPO

from msgan.experiments.demo import QUICK
from msgan.experiments.demo_report import MYELIN_TABLES


@pytest.mark.slow
def test_quick_demo_report(tmp_path):
    out = tmp_path / "demo_output"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "msgan", "demo", "--quick", "--out", str(out)],
                          capture_output=True, text=True, env=env, timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    report = (out / "report.md").read_text()
    assert "All data here are simulated" in report
    assert ".partial-" not in report and f"`{out}/cohort`" in report  # the paths that will exist
    # FLAIR: the fcn beats the mean-image baseline, recomputed from the evaluation's own table
    quality = pd.read_csv(out / "evaluation" / "flair" / "tables" / "quality.csv")
    mse = quality.groupby("method")["mse_brain"].mean()
    assert mse["fcn"] < mse["mean-image"]
    assert "(fcn is better)" in report
    # myelin: every table filled, the clinical regression with true and predicted rows for both indices
    tables = out / "evaluation" / "myelin" / "tables"
    for name in MYELIN_TABLES:
        assert not pd.read_csv(tables / f"{name}.csv").empty, name
    clinical = pd.read_csv(tables / "clinical.csv")
    assert "Every myelin table is filled." in report
    for index in ("dynamic_demyelination", "dynamic_remyelination"):
        row = clinical[(clinical.maps == "truth") & (clinical["index"] == index) & (clinical.term == index)]
        assert len(row) == 1 and row.coef.notna().all(), index
        # the predicted indices get their rows, or the report states why a regression is missing
        predicted = clinical[(clinical.maps == QUICK.myelin_model) & (clinical["index"] == index)]
        assert len(predicted) == 4 or f"EDSS ~ {index} for {QUICK.myelin_model} maps" in report, index
    assert (clinical.maps == QUICK.myelin_model).any()
    # saliency of one held-out patient, files next to the report it embeds
    assert list((out / "saliency").glob("sub-*/p3s.png"))
    assert not list(tmp_path.glob(".demo_output.partial-*"))
