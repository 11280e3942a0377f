"""One chapter's report: sections titled as the thesis names its tables and figures.

Each table section is written twice: as a markdown table in ``report.md`` and as
``tables/<slug>.csv``; figures live in ``figures/``. The thesis's value sits in its own
column beside msgan's wherever the thesis prints one.
"""
from __future__ import annotations

import platform
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from msgan.evaluation.report import fmt, markdown_table


def slug(title: str) -> str:
    """``"Table 4.2 (a)"`` -> ``"table_4_2_a"`` (file names of a section's CSV)."""
    return re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")


@dataclass
class ChapterReport:
    """Sections in order; ``write(folder)`` renders them."""

    title: str
    preamble: list[str] = field(default_factory=list)
    sections: list[tuple[str, list[str]]] = field(default_factory=list)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def table(self, title: str, frame: pd.DataFrame, note: str = "", image: str | None = None) -> None:
        """A section holding ``frame`` (kept as ``tables/<slug>.csv``), an optional note and image."""
        name = slug(title)
        self.tables[name] = frame
        lines = [markdown_table(list(map(str, frame.columns)), frame.values.tolist()) if len(frame)
                 else "(no rows: see the notes and the evaluation report's Gaps)", "",
                 f"CSV: `tables/{name}.csv`."]
        if image:
            lines += ["", f"![{title}]({image})"]
        self.sections.append((title, ([note, ""] if note else []) + lines))

    def figure(self, title: str, path: str | None, caption: str) -> None:
        """A section showing ``path`` (relative to the report) with its caption."""
        body = [caption, ""] + ([f"![{title}]({path})"] if path else ["(figure not drawn: see the notes)"])
        self.sections.append((title, body))

    def text(self, title: str, lines: list[str]) -> None:
        self.sections.append((title, lines))

    def finish(self, tmp: Path, out: Path, started: float) -> Path:
        """Add the total time and the machine, write into ``tmp`` (the partial folder of
        ``out``) and name ``out`` in the reports' paths, as the folder will be; ``report.md``'s
        path under ``out``."""
        self.preamble.append(f"- Total time: {time.perf_counter() - started:.0f} s ({platform.machine()}, "
                             f"{platform.system()}, Python {platform.python_version()}).")
        path = self.write(tmp)
        for name in ("report.md", "evaluation/report.md"):
            file = tmp / name
            file.write_text(file.read_text().replace(str(tmp), str(out)))
        return out / path.name

    def write(self, folder: Path) -> Path:
        (folder / "tables").mkdir(parents=True, exist_ok=True)
        for name, frame in self.tables.items():
            frame.to_csv(folder / "tables" / f"{name}.csv", index=False)
        lines = [f"# {self.title}", "", *self.preamble]
        for title, body in self.sections:
            lines += ["", f"## {title}", "", *body]
        path = folder / "report.md"
        path.write_text("\n".join(lines) + "\n")
        return path


def mean_sd(values) -> str:
    """``mean (SD)`` of a series (NaN left out), ``n/a`` when empty."""
    series = pd.to_numeric(pd.Series(values), errors="coerce").dropna()
    if series.empty:
        return "n/a"
    sd = series.std(ddof=1) if len(series) > 1 else float("nan")
    return f"{fmt(float(series.mean()))} ({fmt(float(sd))})"


def copy_figure(evaluation: Path, name: str, figures: Path) -> str | None:
    """Copy ``evaluation/figures/<name>`` into ``figures/fig_<name>``; its path relative to the report."""
    source = evaluation / "figures" / name
    if not source.is_file():
        return None
    figures.mkdir(exist_ok=True)
    shutil.copy2(source, figures / f"fig_{name}")
    return f"figures/fig_{name}"


def quality_cell(tables: dict, method: str, metric: str, reference: str, session: str = "t0"):
    """``(mean (SD) with a star when a paired test against ``reference`` gives p < 0.05, n)``."""
    summary = tables.get("quality_summary")
    if summary is None:
        return "n/a", ""
    row = summary[(summary.method == method) & (summary.session == session)]
    if not len(row):
        return "n/a", ""
    cell = f"{fmt(row[f'{metric}_mean'].iloc[0])} ({fmt(row[f'{metric}_sd'].iloc[0])})"
    tests = tables.get("quality_tests")
    star = ""
    if tests is not None and len(tests) and method != reference:
        t = tests[(tests.method == method) & (tests.metric == metric) & (tests.session == session)]
        star = "*" if len(t) and float(t.p.iloc[0]) < 0.05 else ""
    return cell + star, int(row["n"].iloc[0])


def roi_discrepancy(tables: dict, method: str, roi: str = "lesions", session: str = "t0") -> str:
    """Mean (SD) over subjects of |mean true - mean predicted| in ``roi`` (WM_HC, NAWM, lesions)."""
    rows = tables.get("roi")
    if rows is None:
        return "n/a"
    return mean_sd(rows[(rows.method == method) & (rows.session == session) & (rows.roi == roi)].discrepancy)
