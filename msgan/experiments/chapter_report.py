"""One chapter's report: sections titled as the thesis names its tables and figures, each
table also ``tables/<slug>.csv``, figures in ``figures/``, the thesis's values beside msgan's
(docs/reproducing.md).
"""
from __future__ import annotations

import platform
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from msgan.evaluation.cells import NA, markdown_table
from msgan.experiments.thesis_values import THESIS


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
        note = said_by_thesis(title, note)
        self.sections.append((title, ([note, ""] if note else []) + lines))

    def figure(self, title: str, path: str | Path | None, caption: str) -> None:
        """A section showing ``path`` (relative to the report, or a file inside ``folder``) with its caption."""
        path = self._relative(path)
        image = [f"![{title}]({path})"] if path else ["(figure not drawn: see the notes)"]
        body = [said_by_thesis(title, caption), ""] + image
        self.sections.append((title, body))

    def _relative(self, path: str | Path | None) -> str | None:
        return str(path.relative_to(self.folder)) if isinstance(path, Path) else path

    def copied(self, name: str, source: Path | None = None, as_name: str | None = None) -> str | None:
        """``<source>/<name>`` (default: the evaluation's figures) copied to ``figures/<as_name>``
        (default ``fig_<name>``); that path (None if not drawn)."""
        source = (source or self.folder / "evaluation" / "figures") / name
        as_name = as_name or f"fig_{name}"
        if not source.is_file():
            return None
        (self.folder / "figures").mkdir(exist_ok=True)
        shutil.copy2(source, self.folder / "figures" / as_name)
        return f"figures/{as_name}"

    def demyelination(self, title: str, tables: dict, reference: str, caption: str) -> None:
        """Fig. 3.8 / 4.4: (A) % of the lesion load demyelinated, ``caption`` with ``{dice}``, the
        reference's DICE with the true maps per visit; (B) the demyelinated maps overlaid."""
        demy = tables.get("demyelination_summary")
        dice = NA if demy is None else "; ".join(f"ses-{r.session}: {r.dice_mean:.3g} ({r.dice_sd:.3g})"
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
        self.preamble.append(f"- Total time: {time.perf_counter() - started:.0f} s ({machine()}).")
        path = self.write(tmp)
        final_paths([tmp / "report.md", tmp / "evaluation" / "report.md"], tmp, out)
        return out / path.name

    def write(self, folder: Path) -> Path:
        """``report.md`` in ``folder``, each table also ``tables/<slug>.csv``; its path."""
        if self.tables:  # a report of text sections only (the demo's) has no tables/ folder
            (folder / "tables").mkdir(exist_ok=True)
        for name, frame in self.tables.items():
            frame.to_csv(folder / "tables" / f"{name}.csv", index=False)
        lines = [f"# {self.title}", "", *self.preamble]
        for title, body in self.sections:
            lines += ["", f"## {title}", "", *body]
        path = folder / "report.md"
        path.write_text("\n".join(lines) + "\n")
        return path


def said_by_thesis(title: str, text: str) -> str:
    """``text``, then ``Thesis: <sentence>.`` when the thesis says in words what section
    ``title`` (up to its colon) shows."""
    said = THESIS.get(title.split(":")[0])
    return f"{text} Thesis: {said}." if isinstance(said, str) else text


def machine() -> str:
    """The machine a report ran on, as the reports state it."""
    return f"{platform.machine()}, {platform.system()}, Python {platform.python_version()}"


def final_paths(reports: list[Path], tmp: Path, out: Path) -> None:
    """Name ``out`` instead of ``tmp``, the partial folder it will become, in written reports."""
    for report in reports:
        report.write_text(report.read_text().replace(str(tmp), str(out)))
