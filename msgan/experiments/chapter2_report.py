"""Chapter 2's report: one section per table and figure of sec. 2.3, the thesis's numbers
beside msgan's (:func:`write_report`); the figures ``msgan evaluate`` does not draw are drawn
by :mod:`msgan.evaluation.figures` from the runs (learning curves) and predictions."""
from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from msgan.evaluation.cells import NA, fmt, mean_sd, quality_cell, starred, summary_cell
from msgan.evaluation.collect import TRUTH
from msgan.evaluation.figures import learning_curves, methods_panel, segmentation_examples
from msgan.experiments.chapter import ChapterRun
from msgan.experiments.chapter2_design import (COMBINED, COMPARED, DEPTHS, INPUTS, NO_DIR, REFERENCE,
                                               REMOVED, TARGET, WIDTHS)
from msgan.experiments.chapter_report import ChapterReport
from msgan.experiments.protocol import Config
from msgan.experiments.thesis_values import THESIS


def per_fold(tables: dict, plan: list[dict], methods: dict[str, str], metric: str, title: str) -> pd.DataFrame:
    """Tables 2.2 and 2.4: one row per fold, mean (SD) of ``metric`` over its held-out
    subjects, then ``Average`` over all held-out subjects (one value per subject) with the
    star of the paired test against the FCN, then the thesis's average (table ``title``)."""
    quality = tables.get("quality")
    rows = [[f"Fold {fold['fold']}", *[NA if quality is None else mean_sd(
        quality[(quality.method == name) & quality.subject.isin(fold["test"])][metric]) for name in methods.values()]]
            for fold in plan]
    average = ["Average", *[quality_cell(tables, name, metric, REFERENCE)[0] for name in methods.values()]]
    thesis = ["Average (thesis)", *[THESIS[title].get(shown, "") for shown in methods]]
    return pd.DataFrame(rows + [average, thesis], columns=["fold", *methods])


def validation_curves(cv_dir: Path) -> pd.DataFrame:
    """``epoch, val_mse`` averaged over the folds of one cross-validation (``fold-*/history.csv``)."""
    frames = []
    for history in sorted(cv_dir.glob("fold-*/history.csv")):
        rows = pd.read_csv(history)
        if "val_mse" in rows:
            frames.append(rows[["epoch", "val_mse"]].assign(fold=history.parent.name))
    if not frames:
        return pd.DataFrame(columns=["epoch", "val_mse", "folds"])
    both = pd.concat(frames)
    return both.groupby("epoch").agg(val_mse=("val_mse", "mean"), folds=("fold", "nunique")).reset_index()


def _inference_seconds(run: Path, cohort, subject: str) -> float:
    """Seconds to predict one whole volume with a fold's model, the graph already traced."""
    from msgan.inference.predict import predict_session, predictor_from_run

    predictor, _ = predictor_from_run(run)
    session = next(iter(cohort.select([subject]).sessions("t0")))
    predict_session(predictor, session)  # traces the graph
    started = time.perf_counter()
    predict_session(predictor, session)
    return time.perf_counter() - started


def _parameters(config: Config) -> int:
    from msgan.models.registry import build, count_parameters

    return count_parameters(build(config.model, len(config.inputs or INPUTS), **config.model_kwargs))


def write_report(run: ChapterRun) -> ChapterReport:
    run.step("P3S maps (Fig. 2.6), inference times, figures, report")
    tables, settings, plan = run.result.tables, run.settings, run.plan
    ran = {c.name for c in run.configs}
    report = run.new_report(
        "Chapter 2 reproduced: FLAIR from multiple MRI sequences (msgan reproduce ch2)", "2.2.3",
        "Whole volumes (zero-padded to a multiple of 8 voxels per side for the U-Net's poolings), each sequence "
        "z-scored over all voxels of all images (sec. 2.2.3), no augmentation; "
        f"inputs {', '.join(INPUTS)} (Table 2.4: subsets), target {TARGET}.",
        f"{settings.folds}-fold subject-level cross-validation, controls spread one per fold, the same folds for "
        "every method; early stopping (STOP_3, strips of 5 epochs) on the held-out fold as in the thesis, so the "
        "errors are optimistic (sec. 2.4).", "MSE, SGD 5e-4, batch 1, sec. 2.2.3",
        f"; networks {settings.width_scale:g} x the thesis's width" if settings.width_scale != 1 else "",
        "msgan's numbers: inside the brain mask in the FLAIR's units, mean (SD) over held-out subjects. `*`: "
        "differs from the FCN (F = 64, L = 3), two-sided paired t-test p < 0.05, one pair per subject.")
    if ran != {c.name for c in settings.configs()}:
        report.preamble.append(f"- Only these methods ran: {', '.join(sorted(ran))}; the others' cells read n/a.")
    _table_2_1(report, run, ran)
    _fig_2_3(report, run.tmp, ran)
    for part, metric, what in (("a", "mse_brain", "Mean square error"),
                               ("b", "ssim_brain", "Structural similarity inside the brain mask")):
        title = f"Table 2.2 ({part})"
        report.table(title, per_fold(tables, plan, COMPARED, metric, title),
                     f"{what} (standard deviation) per fold, five methods on the same folds.")
    report.table("Table 2.3", _table_2_3(tables),
                 "MS lesion contrast (eq. 2.4): lesions / NAWM (Ratio 1) and lesions / surrounding NAWM within 5 "
                 "voxels (Ratio 2), mean (SD) over patients.")
    session = next(iter(run.data.select([run.held_out_patient()[0]]).sessions("t0")))
    report.figure("Fig. 2.4", _panel(run, session, COMPARED, f"sub-{session.subject} (held out)", "fig_2_4_methods"),
                  "Synthetic FLAIR of each method beside the true one (top) and absolute differences (bottom).")
    _fig_2_5(report, tables, run.data, run.tmp, run.tmp / "figures", run.result.options.k)
    _fig_2_6(report, run, ran)
    for part, methods, what in (("a", {i: REMOVED[i] for i in INPUTS}, "the FCN without the named sequence"),
                                ("b", NO_DIR, "each method without DIR"),
                                ("c", COMBINED, "the FCN on the named sequences only")):
        title = f"Table 2.4 ({part})"
        report.table(title, per_fold(tables, plan, methods, "mse_brain", title),
                     f"Mean square error (SD) per fold of {what}; `*` against the FCN on all five sequences.")
    report.figure("Fig. 2.7", _panel(run, session, COMBINED, f"sub-{session.subject}: FCN on each input "
                                     "combination", "fig_2_7_combinations"),
                  "Synthetic FLAIR from T1+DIR, T2+DIR, T1+T2, T1+T2+DIR and T1+T2+PD beside the truth.")
    report.files("", "`cv/<method>/`: folds.json, fold runs (history.csv), results.csv; `predictions/<method>/`; "
                 "`saliency/`: P3S maps of the FCN.")
    return report


def _table_2_1(report: ChapterReport, run: ChapterRun, ran: set[str]) -> None:
    """FCN width: MSE, parameters and the seconds to predict one whole volume."""
    by_name, patient, rows = {c.name: c for c in run.configs}, run.plan[0]["test"][0], []
    for width, name in WIDTHS.items():
        mine = [NA] * 3  # a width --methods left out
        if name in ran:
            mine = [quality_cell(run.result.tables, name, "mse_brain", REFERENCE)[0],
                    f"{_parameters(by_name[name]) / 1000:.1f} K",
                    f"{_inference_seconds(run.tmp / 'cv' / name / 'fold-1', run.data, patient):.2f}"]
        rows.append([f"F1 = F2 = F3 = {width}", *mine, *THESIS["Table 2.1"][str(width)]])
    report.table("Table 2.1", pd.DataFrame(rows, columns=["FCN", "MSE (msgan)", "parameters (msgan)",
                                                          "inference s/volume (msgan)", "MSE (thesis)",
                                                          "parameters (thesis)", "inference s/volume (thesis)"]),
                 "FCN width: MSE, parameters (as Keras counts them), seconds to predict one whole volume "
                 f"(sub-{patient}, this machine's CPU; the thesis's on a GTX TITAN X).")


def _fig_2_3(report: ChapterReport, tmp: Path, ran: set[str]) -> None:
    """Learning curves of the FCN at each depth."""
    curves = {f"L = {depth}": validation_curves(tmp / "cv" / name) for depth, name in DEPTHS.items() if name in ran}
    image = learning_curves(curves, tmp / "figures" / "fig_2_3_learning_curves.png")
    rows = [[label, len(c), fmt(float(c.val_mse.min())) if len(c) else NA,
             fmt(float(c.val_mse.iloc[-1])) if len(c) else NA] for label, c in curves.items()]
    report.table("Fig. 2.3", pd.DataFrame(rows, columns=["depth", "epochs", "lowest held-out MSE",
                                                         "last held-out MSE"]),
                 "Learning curves of the FCN with L = 2, 3, 4, 6 layers of 64 filters: held-out MSE (normalised "
                 "units) per epoch, mean over folds.",
                 image)


def _table_2_3(tables: dict) -> pd.DataFrame:
    """Lesion contrast ratios per method and of the truth, the thesis's beside them."""
    contrast, tests = tables.get("contrast_summary"), tables.get("contrast_tests")
    rows = []
    for label, name in {**COMPARED, "Ground Truth": TRUTH}.items():
        match = contrast[contrast.method == name] if contrast is not None else []
        rows.append([label, *[summary_cell(match.iloc[0], m) + ("" if name == REFERENCE else starred(tests, name, m))
                              if len(match) else NA for m in ("ratio1", "ratio2")], *THESIS["Table 2.3"][label]])
    return pd.DataFrame(rows, columns=["method", "Ratio 1 (msgan)", "Ratio 2 (msgan)", "Ratio 1 (thesis)",
                                       "Ratio 2 (thesis)"])


def _panel(run: ChapterRun, session, methods: dict[str, str], title: str, name: str) -> Path | None:
    """Figs. 2.4 and 2.7: the named methods' predictions of ``session`` beside the truth."""
    return methods_panel(session, {label: run.predicted(method, session, TARGET) for label, method in methods.items()},
                         TARGET, title, run.tmp / "figures" / f"{name}.png")


def _fig_2_5(report: ChapterReport, tables: dict, data, tmp: Path, figures: Path, k: float) -> None:
    seg = tables.get("segmentation")
    chosen: list[tuple[str, float]] = []
    cell = NA
    if seg is not None and len(seg):
        mine = seg[(seg.method == REFERENCE) & seg.dice.notna()].sort_values("dice", ascending=False)
        cell = mean_sd(mine.dice)
        if len(mine):
            chosen = list(dict.fromkeys([(mine.subject.iloc[0], float(mine.dice.iloc[0])),
                                         (mine.subject.iloc[-1], float(mine.dice.iloc[-1]))]))
    image = segmentation_examples(data, chosen, tmp / "predictions" / REFERENCE, TARGET, k,
                                  figures / "fig_2_5_segmentations.png") if chosen else None
    report.figure("Fig. 2.5", image,
                  "WM lesion segmentation (threshold segmentation of `msgan evaluate`, in place of the thesis's "
                  "lesion pipeline) on true and synthetic FLAIR, the patients with the highest and lowest DICE. "
                  f"DICE, mean (SD) over patients: {cell}.")


def _fig_2_6(report: ChapterReport, run: ChapterRun, ran: set[str]) -> None:
    ranking, image = pd.DataFrame(columns=["sequence", "mean P3S"]), None
    if REFERENCE in ran:
        ranking = pd.DataFrame(run.saliency(REFERENCE, run.tmp / "saliency" / REFERENCE), columns=ranking.columns)
        image = report.copied("p3s.png", run.tmp / "saliency" / REFERENCE, "fig_2_6_p3s.png")
    report.table("Fig. 2.6", ranking,
                 f"P3S maps (eq. 2.3) of the FCN for held-out patient sub-{run.held_out_patient()[0]}, and the mean "
                 "P3S per sequence inside the brain, most salient first.", image)
