"""One chapter's report: sections titled as the thesis names its tables and figures.

Each table section is written twice: as a markdown table in ``report.md`` and as
``tables/<slug>.csv``; figures live in ``figures/``. The thesis's value sits in its own
column beside msgan's wherever the thesis prints one.
"""
from __future__ import annotations

import re
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

    def table(self, title: str, frame: pd.DataFrame, note: str = "") -> None:
        """A section holding ``frame`` (kept as ``tables/<slug>.csv``) and an optional note."""
        name = slug(title)
        self.tables[name] = frame
        lines = [markdown_table(list(map(str, frame.columns)), frame.values.tolist()) if len(frame)
                 else "(no rows: see the notes and the evaluation report's Gaps)", "",
                 f"CSV: `tables/{name}.csv`."]
        self.sections.append((title, ([note, ""] if note else []) + lines))

    def figure(self, title: str, path: str | None, caption: str) -> None:
        """A section showing ``path`` (relative to the report) with its caption."""
        body = [caption, ""] + ([f"![{title}]({path})"] if path else ["(figure not drawn: see the notes)"])
        self.sections.append((title, body))

    def text(self, title: str, lines: list[str]) -> None:
        self.sections.append((title, lines))

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
