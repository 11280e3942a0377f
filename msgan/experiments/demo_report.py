"""``report.md`` of ``msgan demo`` (a :class:`~msgan.experiments.chapter_report.ChapterReport`
of text sections): headline results, then the evaluation reports it ran."""
from __future__ import annotations

import re
from pathlib import Path

from msgan.evaluation.cells import fmt, markdown_table
from msgan.experiments.chapter import ChapterRun
from msgan.experiments.chapter_report import ChapterReport, machine

#: the tables the myelin section must fill (Tables 3.2/4.2b, 3.3.4 tests, Fig. 3.7,
#: Fig. 3.8/4.4, Fig. 4.5, Table 4.3)
MYELIN_TABLES = ("roi_summary", "group_tests", "bland_altman", "demyelination_summary",
                 "longitudinal_summary", "clinical")


def _embedded(report: Path, prefix: str) -> str:
    """Another report's body, headings pushed down one level, figure links made relative to us."""
    text = report.read_text()
    text = re.sub(r"(?m)^(#+) ", lambda m: "#" + m.group(1) + " ", text)
    return re.sub(r"\]\((?!https?:)([^)]+)\)", lambda m: f"]({prefix}/{m.group(1)})", text)


def flair_headline(flair) -> str:
    """One sentence comparing fcn with the mean image inside the brain, and whether fcn wins."""
    quality = flair.tables["quality"]
    by_method = quality.groupby("method")["mse_brain"].mean()
    fcn, mean = float(by_method["fcn"]), float(by_method["mean-image"])
    return (f"Mean MSE inside the brain over {quality.subject.nunique()} held-out subjects: "
            f"**fcn {fmt(fcn)}** vs mean-image baseline {fmt(mean)} "
            f"({'fcn is better' if fcn < mean else 'fcn is NOT better'}).")


def write_demo_report(flair: ChapterRun, myelin: ChapterRun, quick: bool, ranking, durations: dict) -> Path:
    """``report.md`` of the demo's two halves (run on one cohort, in one folder), the
    ``ranking`` of the saliency maps of the FLAIR half's held-out patient."""
    tmp, settings, folds = flair.tmp, flair.settings, [f["test"] for f in flair.plan]
    report = ChapterReport("msgan demo report", _preamble(settings.design, quick, folds, durations))
    _headlines(report, settings, flair.result, myelin.result)
    _saliency(report, flair.held_out_patient()[0], ranking)
    warnings = [w.replace(str(tmp), str(flair.out)) for w in flair.warnings + myelin.warnings]
    report.text("Gaps", [f"- {w}" for w in warnings] or ["- none"])
    report.text("Full evaluation: FLAIR", [_embedded(flair.result.out / "report.md", "evaluation/flair")])
    report.text("Full evaluation: myelin", [_embedded(myelin.result.out / "report.md", "evaluation/myelin")])
    return report.write(tmp)


def _preamble(design, quick: bool, folds, durations: dict) -> list[str]:
    """What the data are, the run, the cohort (its ``design``) and its folds."""
    return [
        "**All data here are simulated** (`msgan simulate`): MNI152-based anatomy with synthetic MS "
        "lesions, MRI from signal equations and a PIB DVR map from a known myelin map. The numbers "
        "show the software working end to end; they are not clinical results.",
        "",
        f"Command: `msgan demo{' --quick' if quick else ''}`. Machine: {machine()}. "
        f"Total time {durations['total']:.0f} s "
        f"({', '.join(f'{k} {v:.0f} s' for k, v in durations.items() if k != 'total')}).",
        "",
        f"Cohort: {design.n_ms} MS patients (t0 and t1) and {design.n_hc} controls (t0), "
        f"{design.resolution:g} mm voxels, seed {design.seed}. Two subject-level folds "
        f"(controls spread evenly); every subject is predicted by the model trained on the other fold:",
        "",
        markdown_table(["fold", "held-out subjects"], [[i + 1, ", ".join(f)] for i, f in enumerate(folds)])]


def _headlines(report: ChapterReport, settings, flair, myelin) -> None:
    """What each task trained, and its headline."""
    missing = [t for t in MYELIN_TABLES if t not in myelin.tables or myelin.tables[t].empty]
    report.text("FLAIR from T1, T2, PD, T1SE and DIR (chapter 2)", [
        f"`fcn` ({settings.fcn_filters} filters, 3 layers, Adam, {settings.flair_epochs} epochs on whole "
        "baseline volumes, applied to both visits) against the mean-image baseline (the voxel-wise mean "
        "baseline FLAIR of the training fold).",
        "",
        flair_headline(flair)])
    report.text("[11C]PIB myelin map from MTR, FA, RD and AD (chapters 3-4)", [
        f"`{settings.myelin_model}` ("
        + ("Sketcher L1, Refiner NWL1 eq. 4.4" if settings.myelin_model == "refiner_cfsagan"
           else "the Sketcher alone, L1")
        + f"; {settings.gan_filters} base filters, {settings.myelin_epochs} epoch(s) of "
        f"{settings.myelin_steps or 'all'} steps per stage on {settings.myelin_shards.patch}^3 patches of the "
        "baseline visit), applied to both visits. Far too short a training to be accurate: it shows the "
        "pipeline, including every table "
        "of the myelin evaluation.",
        "",
        ("Every myelin table is filled." if not missing else
         f"Tables not filled: {', '.join(missing)} (see the gaps below).")])


def _saliency(report: ChapterReport, saliency_subject: str, ranking) -> None:
    report.text("Saliency (P3S, eq. 2.3) of the FLAIR fcn", [
        f"Held-out patient sub-{saliency_subject}, mean P3S inside the brain, most salient first:",
        "",
        markdown_table(["rank", "sequence", "mean P3S"],
                       [[i + 1, name, fmt(value)] for i, (name, value) in enumerate(ranking)]),
        "",
        f"![P3S maps](saliency/sub-{saliency_subject}/p3s.png)",
        "",
        f"![attention saliency](saliency/sub-{saliency_subject}/attention.png)"])
