"""Reading a chapter report of ``msgan reproduce``: its sections, and the numbers in them."""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd


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


def is_number(cell: str) -> bool:
    """A cell such as ``0.0123 (0.004)*`` starts with a number."""
    try:
        float(cell.split(" ")[0].rstrip("*"))
        return True
    except ValueError:
        return False


def table_rows(body: str) -> dict[str, list[str]]:
    """The section's markdown table as ``{first cell: other cells}``."""
    rows = [line for line in body.splitlines() if line.startswith("|")][2:]
    cells = [[c.strip() for c in row.strip().strip("|").split("|")] for row in rows]
    return {row[0]: row[1:] for row in cells}


def check_report(out: Path, tables: list[str], figures: list[str]) -> dict[str, str]:
    """Every table section holds numbers of msgan's (markdown and CSV), every figure section
    shows existing images; returns the sections."""
    found = sections((out / "report.md").read_text())
    for prefix in tables:
        title, body = section(found, prefix)
        assert table_numbers(body) > 0, f"{title} holds no number"
        csv = re.search(r"CSV: `(tables/[^`]+)`", body).group(1)
        assert msgan_numbers(pd.read_csv(out / csv)) > 0, f"{csv}: no number of msgan's"
    for prefix in figures:
        title, body = section(found, prefix)
        images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", body)
        assert images and all((out / image).is_file() for image in images), title
    assert (out / "evaluation" / "report.md").is_file()
    return found
