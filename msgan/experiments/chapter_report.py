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
    """Sections in order; ``write(folder)`` renders them. ``folder``: the partial output
    folder whose ``evaluation/figures`` :meth:`copied` takes figures from."""

    title: str
    preamble: list[str] = field(default_factory=list)
    sections: list[tuple[str, list[str]]] = field(default_factory=list)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    folder: Path | None = None

    def table(self, title: str, frame: pd.DataFrame | None, note: str = "", image: str | Path | None = None) -> None:
        """A section holding ``frame`` (kept as ``tables/<slug>.csv``), an optional note and image."""
        image = self._relative(image)
        name = slug(title)
        frame = pd.DataFrame() if frame is None else frame
        self.tables[name] = frame
        lines = [markdown_table(list(map(str, frame.columns)), frame.values.tolist()) if len(frame)
                 else "(no rows: see the notes and the evaluation report's Gaps)", "",
                 f"CSV: `tables/{name}.csv`."]
        if image:
            lines += ["", f"![{title}]({image})"]
        self.sections.append((title, ([note, ""] if note else []) + lines))

    def figure(self, title: str, path: str | Path | None, caption: str) -> None:
        """A section showing ``path`` (relative to the report, or a file inside ``folder``) with its caption."""
        path = self._relative(path)
        body = [caption, ""] + ([f"![{title}]({path})"] if path else ["(figure not drawn: see the notes)"])
        self.sections.append((title, body))

    def _relative(self, path: str | Path | None) -> str | None:
        return str(path.relative_to(self.folder)) if isinstance(path, Path) else path

    def copied(self, name: str) -> str | None:
        """``evaluation/figures/<name>`` copied to ``figures/fig_<name>``; that path (None if not drawn)."""
        source = self.folder / "evaluation" / "figures" / name
        if not source.is_file():
            return None
        (self.folder / "figures").mkdir(exist_ok=True)
        shutil.copy2(source, self.folder / "figures" / f"fig_{name}")
        return f"figures/fig_{name}"

    def demyelination(self, title: str, tables: dict, reference: str, caption: str) -> None:
        """Fig. 3.8 / 4.4: (A) % of the lesion load demyelinated, ``caption`` with ``{dice}``, the
        reference's DICE with the true maps per visit; (B) the demyelinated maps overlaid."""
        demy = tables.get("demyelination_summary")
        dice = "n/a" if demy is None else "; ".join(f"ses-{r.session}: {r.dice_mean:.3g} ({r.dice_sd:.3g})"
                                                    for r in demy[demy.method == reference].itertuples())
        self.figure(title, self.copied("demyelination_percent.png"), caption.format(dice=dice))
        overlay = self.copied("demyelination_overlays.png")
        if overlay:
            self.sections[-1][1].extend(["", f"(B) ![{title} (B)]({overlay})"])

    def text(self, title: str, lines: list[str]) -> None:
        self.sections.append((title, lines))

    def files(self, scope: str, folders: str) -> None:
        """The closing section naming what the output folder holds."""
        self.text("Files", [f"- `evaluation/report.md`: every measure and test of `msgan evaluate`{scope}.",
                            f"- {folders}", "- `tables/*.csv`: the tables above; `figures/*.png`: the figures above."])

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


def pyplot():
    """matplotlib's pyplot on the Agg backend (files only, no display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: Path) -> Path:
    """Write ``fig`` to ``path`` (its folder made) at the reports' resolution, and close it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    pyplot().close(fig)
    return path


def mean_sd(values) -> str:
    """``mean (SD)`` of a series (NaN left out), ``n/a`` when empty."""
    series = pd.to_numeric(pd.Series(values), errors="coerce").dropna()
    if series.empty:
        return "n/a"
    sd = series.std(ddof=1) if len(series) > 1 else float("nan")
    return f"{fmt(float(series.mean()))} ({fmt(float(sd))})"


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
