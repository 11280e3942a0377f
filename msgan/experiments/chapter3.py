"""Chapter 3's protocol (sec. 3.3.1), declared for ``msgan reproduce ch3``: crops of MTR, FA,
RD, AD -> PIB, 3-fold cross-validation without a validation set, the methods of Tables
3.1-3.4 and Fig. 3.5, the attention maps of Fig. 3.9 (docs/reproducing.md states it in full).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

import pandas as pd

from data_tools.contracts import TASKS, ShardSpec
from msgan.evaluation.cells import QUALITY, measures_table
from msgan.evaluation.figures import iterations_plot, stacked_images
from msgan.experiments.chapter import Chapter, ChapterRun
from msgan.experiments.chapter_report import ChapterReport
from msgan.experiments.protocol import CohortDesign, Config, narrowed
from msgan.experiments.thesis_values import THESIS

INPUTS = TASKS["myelin"].thesis_inputs
REFERENCE = "sketcher_refiner"
CONFIGS = (
    Config("dnn2", "dnn2", "l1", label="2-Layer DNN"),
    Config("unet-l1", "unet", "l1", label="3D U-Net"), Config("unet-wl1", "unet", "wl1", label="3D U-Net+L1W"),
    Config("cgan-l1", "cgan", "l1", label="Sketcher"), Config("cgan-wl1", "cgan", "wl1", label="Sketcher+L1W"),
    Config(REFERENCE, "sketcher_refiner", "l1", "wl1", label="Refiner"),
    Config("sketcher_refiner-k2", "sketcher_refiner", "l1", "wl1", refinements=2, label="K = 2"),
    Config("sketcher_refiner-k3", "sketcher_refiner", "l1", "wl1", refinements=3, label="K = 3"),
    Config("sketcher_refiner-mtr", "sketcher_refiner", "l1", "wl1", label="MTR", inputs=("MTR",)),
    Config("sketcher_refiner-mtr-rd", "sketcher_refiner", "l1", "wl1", label="MTR+RD", inputs=("MTR", "RD")),
)
LABELS = {c.name: c.shown for c in CONFIGS}
TABLE_3_1 = ("dnn2", "unet-l1", "unet-wl1", "cgan-l1", "cgan-wl1", REFERENCE)
ITERATIONS = {0: "cgan-l1", 1: REFERENCE, 2: "sketcher_refiner-k2", 3: "sketcher_refiner-k3"}
COMBINATIONS = {"MTR": "sketcher_refiner-mtr", "MTR+RD": "sketcher_refiner-mtr-rd", "MTR+DTI": REFERENCE}
ROIS = ("WM_HC", "NAWM", "lesions")


@dataclass
class Chapter3Settings:
    """Sizes of one reproduction; the defaults are the thesis's (sec. 3.3.1)."""

    design: CohortDesign = field(default_factory=lambda: CohortDesign(n_ms=18, n_hc=10, resolution=1.22,
                                                                      sessions=("t0",)))
    #: crops of the baseline visit, no augmentation (sec. 3.3.1); a configuration's own inputs replace INPUTS
    shards: ShardSpec = ShardSpec("myelin", inputs=INPUTS, layout="crop", crop=(128, 160, 128), session="t0")
    folds: int = 3
    train: dict = field(default_factory=dict)  # TrainOptions fields; {} = the thesis's presets
    filters: int | None = None
    discriminator_patch: int | None = None


#: --check: 6 MS + 3 HC at 6 mm, 32x48x32 crops, 2-filter networks, one epoch of 2 steps.
CHECK = Chapter3Settings(design=CohortDesign(n_ms=6, n_hc=3, resolution=6.0, sessions=("t0",)),
                         shards=replace(Chapter3Settings.shards, crop=(32, 48, 32)),
                         train={"epochs": 1, "steps_per_epoch": 2, "batch": 2}, filters=2, discriminator_patch=16)


def _train(run: ChapterRun, config: Config, shards: Path) -> None:
    """Cross-validation without validation subjects (sec. 3.3.1)."""
    settings = run.settings
    run.step(f"{config.name}: {settings.folds}-fold cross-validation (no validation set), predictions")
    run.cross_validate(config, shards, settings.folds, 0, settings.train, window=settings.shards.crop)


def _saliency_and_report(run: ChapterRun) -> ChapterReport:
    """Fig. 3.9's attention maps (a U-Net trained with L1 and with WL1, one held-out
    patient, by the model of the fold that held it out), then the report."""
    run.step("attention saliency maps (Fig. 3.9): U-Net with L1 and with WL1")
    for name in [c.name for c in run.configs if c.name in ("unet-l1", "unet-wl1")]:
        run.saliency(name, run.tmp / "saliency" / name, window=run.settings.shards.crop)
    return _report(run, run.held_out_patient()[0])


#: chapter 3, declared
CHAPTER = Chapter("ch3", "myelin", REFERENCE, lambda s: narrowed(CONFIGS, s.filters, s.discriminator_patch),
                  lambda check: CHECK if check else Chapter3Settings(),
                  lambda run, config: replace(run.settings.shards, inputs=config.inputs or INPUTS), _train,
                  _saliency_and_report)

DISCREPANCY = {roi: f"roi:{roi}" for roi in ROIS}
METHODS = {LABELS[name]: name for name in TABLE_3_1}


def _report(run: ChapterRun, patient: str) -> ChapterReport:
    tables, settings = run.result.tables, run.settings
    table = partial(measures_table, tables, REFERENCE)
    report = run.new_report(
        "Chapter 3 reproduced: PIB myelin maps from MTR and DTI (msgan reproduce ch3)", "3.3.1",
        f"Shards: {'x'.join(map(str, settings.shards.crop))} crops of the brain, no augmentation; inputs "
        f"{', '.join(INPUTS)} (Tables 3.3-3.4: MTR, MTR+RD), target PIB.",
        f"{settings.folds}-fold subject-level cross-validation, controls spread evenly, no validation set "
        "(sec. 3.3.1), the same folds for every method.", "sec. 3.3.1",
        f", networks with {settings.filters} base filters" if settings.filters else "",
        "msgan's numbers: inside the brain mask, mean (SD) over held-out subjects. `*`: differs from the Refiner, "
        "two-sided paired t-test p < 0.05, one pair per subject.")
    report.table("Table 3.1", table("method", METHODS, {**QUALITY, "n": "n"}, THESIS["Table 3.1"]),
                 "Image quality (MSE, PSNR eq. 3.9) of the six methods.")
    report.figure("Fig. 3.4", report.copied("qualitative.png"),
                  "Every method's prediction beside the true PIB, one held-out subject.")
    report.table("Table 3.2", table("method", METHODS, DISCREPANCY, THESIS["Table 3.2"]),
                 "Myelin content prediction discrepancy |mean true - mean predicted DVR| per subject and region "
                 "(WM_HC: white matter of controls; NAWM and lesions: patients).")
    report.table("Fig. 3.5", table("K", ITERATIONS, {**QUALITY, **{f"discrepancy {r}": f"roi:{r}" for r in ROIS}}),
                 "Refinement iterations K = 0 (the Sketcher) to 3, MSE, PSNR and discrepancy "
                 "per region.", _plot_iterations(tables, run.tmp / "figures"))
    report.figure("Fig. 3.6", report.copied("roi_boxplots.png"),
                  "Mean DVR per region and subject, true and every method's (whiskers: minimum to maximum).")
    report.table("Sec. 3.3.4: group comparisons", tables.get("group_tests"),
                 "Per-subject region means, true maps and each method's.")
    report.table("Fig. 3.7", tables.get("bland_altman"),
                 "Bland-Altman bias and limits per method and region.",
                 report.copied("bland_altman.png"))
    report.demyelination("Fig. 3.8", tables, REFERENCE,
                         "(A) % of the lesion load demyelinated, true vs predicted, per patient; DICE of the "
                         "Refiner's demyelinated maps with the true ones {dice}.")
    report.figure("Fig. 3.9", _saliency_figure(run.tmp, patient),
                  "Attention saliency (eq. 3.7) of a U-Net trained with L1 (top) and with WL1 (bottom), held-out "
                  f"patient {patient}.")
    for title, measures, published in (("Table 3.3", QUALITY, THESIS["Table 3.3"]),
                                       ("Table 3.4", DISCREPANCY, THESIS["Table 3.4"])):
        report.table(title, table("inputs", COMBINATIONS, measures, published),
                     "The Refiner with MTR, MTR+RD and MTR+DTI (sec. 3.3.7); `*` against MTR+DTI.")
    report.table("Sec. 3.3.7: test", _combination_tests(tables),
                 "Paired two-sided t-tests of each input set against MTR+DTI, one pair per subject.")
    report.files("", "`cv/<method>/`, `predictions/<method>/`, `saliency/<unet-l1|unet-wl1>/`.")
    return report


def _combination_tests(tables) -> pd.DataFrame:
    parts = []
    for key, metric_filter in (("quality_tests", ("mse_brain", "psnr_brain")), ("roi_tests", ("discrepancy",))):
        frame = tables.get(key)
        if frame is None or not len(frame):
            continue
        frame = frame[frame.method.isin([COMBINATIONS["MTR"], COMBINATIONS["MTR+RD"]])
                      & frame.metric.isin(metric_filter)]
        parts.append(frame.assign(roi=frame["roi"] if "roi" in frame else "brain"))
    if not parts:
        return pd.DataFrame(columns=["inputs", "metric", "roi", "n", "mean_diff", "t", "p"])
    both = pd.concat(parts, ignore_index=True)
    both["inputs"] = both.method.map({v: k for k, v in COMBINATIONS.items()})
    return both[["inputs", "metric", "roi", "n", "mean_diff", "t", "p"]]


def _plot_iterations(tables, figures: Path) -> Path | None:
    """Fig. 3.5: the brain MSE at t0 against the refinement iterations K."""
    summary = tables.get("quality_summary")
    if summary is None:
        return None
    points = {k: summary[(summary.method == name) & (summary.session == "t0")].mse_brain_mean
              for k, name in ITERATIONS.items()}
    points = {k: float(mse.iloc[0]) for k, mse in points.items() if len(mse)}
    return iterations_plot(points, figures / "fig_3_5_iterations.png") if points else None


def _saliency_figure(tmp: Path, patient: str) -> Path | None:
    """Fig. 3.9: the attention maps of the U-Nets trained with L1 and with WL1, one above the other."""
    images = {f"U-Net trained with {loss}, sub-{patient}": tmp / "saliency" / name / "attention.png"
              for loss, name in (("L1", "unet-l1"), ("WL1", "unet-wl1"))}
    images = {title: path for title, path in images.items() if path.is_file()}  # --methods may leave one out
    return stacked_images(images, tmp / "figures" / "fig_3_9_attention.png") if images else None
