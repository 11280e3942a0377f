"""Cells of the reports' tables, from the evaluation's tables: numbers, ``mean (SD)``, the
star of a paired test and a method's row of measures. ``msgan evaluate``'s report and the
chapters' reports (``msgan reproduce``, ``msgan demo``) write their cells with these."""
from __future__ import annotations

import math

import pandas as pd

STAR_P = 0.05
NA = "n/a"
#: the image-quality columns of the chapters' tables (Tables 3.1, 3.3, 4.1), as :func:`measure` names them
QUALITY = {"MSE": "mse_brain", "PSNR": "psnr_brain"}


def fmt(value, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NA
    if isinstance(value, float):
        return "inf" if math.isinf(value) else f"{value:.{digits}g}"
    return str(value)


def markdown_table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(fmt(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def mean_sd(values) -> str:
    """``mean (SD)`` of a series (NaN left out), ``n/a`` when empty."""
    series = pd.to_numeric(pd.Series(values), errors="coerce").dropna()
    if series.empty:
        return NA
    sd = series.std(ddof=1) if len(series) > 1 else float("nan")
    return f"{fmt(float(series.mean()))} ({fmt(float(sd))})"


def summary_cell(row, metric: str, defined: bool = False) -> str:
    """``mean (SD)`` of ``metric`` in one row of a summary table (``<metric>_mean``,
    ``<metric>_sd``); ``defined``: ``(n=k)`` after it when only k of the row's ``n``
    subjects have a value."""
    cell = f"{fmt(row[f'{metric}_mean'])} ({fmt(row[f'{metric}_sd'])})"
    count = row.get(f"{metric}_n") if defined else None
    if count is not None and int(count) < int(row["n"]):
        cell += f" (n={int(count)})"
    return cell


def starred(tests: pd.DataFrame | None, method: str, metric: str, **where) -> str:
    """``*`` when the paired test of ``method`` (``metric``, the ``where`` columns' values)
    against the reference gives p < 0.05."""
    if tests is None or tests.empty:
        return ""
    sel = tests[(tests.method == method) & (tests.metric == metric)]
    for key, value in where.items():
        sel = sel[sel[key] == value]
    return "*" if len(sel) and float(sel.p.iloc[0]) < STAR_P else ""


def quality_cell(tables: dict, method: str, metric: str, reference: str, session: str = "t0"):
    """``(mean (SD) with a star when a paired test against ``reference`` gives p < 0.05, n)``."""
    summary = tables.get("quality_summary")
    if summary is None:
        return NA, ""
    row = summary[(summary.method == method) & (summary.session == session)]
    if not len(row):
        return NA, ""
    star = "" if method == reference else starred(tables.get("quality_tests"), method, metric, session=session)
    return summary_cell(row.iloc[0], metric) + star, int(row["n"].iloc[0])


def roi_discrepancy(tables: dict, method: str, roi: str = "lesions", session: str = "t0") -> str:
    """Mean (SD) over subjects of |mean true - mean predicted| in ``roi`` (WM_HC, NAWM, lesions)."""
    rows = tables.get("roi")
    if rows is None:
        return NA
    return mean_sd(rows[(rows.method == method) & (rows.session == session) & (rows.roi == roi)].discrepancy)


def measure(tables: dict, method: str, what: str, reference: str) -> str | int:
    """One cell of a method's row: ``n``, a quality metric with its star (``mse_brain``,
    ``psnr_brain``) or a region's discrepancy (``roi:<region>``)."""
    if what.startswith("roi:"):
        return roi_discrepancy(tables, method, what[4:])
    cell, n = quality_cell(tables, method, "mse_brain" if what == "n" else what, reference)
    return n if what == "n" else cell


def measures_table(tables: dict, reference: str, first: str, rows: dict, measures: dict[str, str],
                   published: dict | None = None) -> pd.DataFrame:
    """A table declared as data: one row per ``rows`` item (shown -> method name), one column
    per ``measures`` item (column -> :func:`measure`); with ``published`` (shown -> the thesis's
    values, in the measures' order without ``n``) msgan's columns and the thesis's side by side."""
    mine = [c if published is None or c == "n" else f"{c} (msgan)" for c in measures]
    theirs = [f"{c} (thesis)" for c in measures if c != "n"] if published is not None else []
    body = [[shown, *[measure(tables, name, what, reference) for what in measures.values()],
             *(published[shown] if published is not None else ())] for shown, name in rows.items()]
    return pd.DataFrame(body, columns=[first, *mine, *theirs])
