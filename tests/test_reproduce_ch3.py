"""`msgan reproduce ch3 --check`: every table and figure of chapter 3 in one report.

The toy run trains all 10 configurations of the chapter in 3 folds (README, "Reproducing
the thesis", gives its time), so it is slow; the checks are on the report's structure:
each thesis item is a section, each table section holds numbers, each figure exists.
"""
from __future__ import annotations

import re

import pandas as pd
import pytest

from msgan.cli import main

TABLES = ["Table 3.1", "Table 3.2", "Fig. 3.5", "Sec. 3.3.4", "Fig. 3.7", "Table 3.3", "Table 3.4", "Sec. 3.3.7"]
FIGURES = ["Fig. 3.4", "Fig. 3.5", "Fig. 3.6", "Fig. 3.7", "Fig. 3.8", "Fig. 3.9"]


def sections(report: str) -> dict[str, str]:
    parts = re.split(r"^## (.+)$", report, flags=re.M)
    return {title.strip(): body for title, body in zip(parts[1::2], parts[2::2])}


def section(found: dict[str, str], prefix: str) -> tuple[str, str]:
    titles = [t for t in found if t == prefix or t.startswith(prefix + " ") or t.startswith(prefix + ":")
              or t.startswith(prefix + ",")]
    assert len(titles) == 1, f"{prefix}: sections {titles} among {list(found)}"
    return titles[0], found[titles[0]]


def msgan_numbers(frame: pd.DataFrame) -> int:
    """Cells of msgan's columns (not the thesis's) that start with a finite number."""
    mine = frame[[c for c in frame.columns if "thesis" not in c]].astype(str)
    return int(mine.apply(lambda col: col.str.match(r"-?\d")).to_numpy().sum())


def table_numbers(body: str) -> int:
    """Cells of the section's markdown table (header and rule excluded) that are numbers."""
    rows = [line for line in body.splitlines() if line.startswith("|")][2:]
    cells = [c.strip().split(" ")[0].rstrip("*") for row in rows for c in row.strip("|").split("|")]
    return sum(bool(re.fullmatch(r"-?\d+(\.\d+)?(e[-+]?\d+)?", c)) for c in cells)


@pytest.mark.slow
def test_check_run_writes_every_table_and_figure(tmp_path):
    out = tmp_path / "ch3"
    with pytest.raises(SystemExit) as done:
        main(["reproduce", "ch3", "--check", "--out", str(out), "--quiet"])
    assert done.value.code == 0
    found = sections((out / "report.md").read_text())
    for prefix in TABLES:
        title, body = section(found, prefix)
        assert table_numbers(body) > 0, f"{title} holds no number"
        csv = re.search(r"CSV: `(tables/[^`]+)`", body).group(1)
        assert msgan_numbers(pd.read_csv(out / csv)) > 0, f"{csv}: no number of msgan's"
    for prefix in FIGURES:
        title, body = section(found, prefix)
        images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", body)
        assert images and all((out / image).is_file() for image in images), title
    # every method of Tables 3.1-3.4 and every K of Fig. 3.5 was trained and scored: no empty cell
    for prefix in ("Table 3.1", "Table 3.2", "Fig. 3.5", "Table 3.3", "Table 3.4"):
        assert "n/a" not in section(found, prefix)[1], prefix
    assert (out / "evaluation" / "report.md").is_file()

