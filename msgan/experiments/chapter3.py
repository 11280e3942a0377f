"""Chapter 3 the chapter's way (sec. 3.3): ``msgan reproduce ch3``.

Protocol (sec. 3.3.1): 18 MS patients and 10 controls, one visit (the simulated cohort by
default); 128x160x128 crops at 1.22 mm of MTR, FA, RD, AD -> PIB, no augmentation; 3-fold
subject-level cross-validation with the controls spread 3/3/4 and no validation set, the
same folds for every method. Methods: the six of Table 3.1, the Sketcher-Refiner with
K = 2 and 3 refinements (Fig. 3.5; K = 0 is the Sketcher, K = 1 the Refiner), and the
Refiner on MTR and MTR+RD (Tables 3.3-3.4). Then ``msgan evaluate --task myelin`` of all of
them, the attention saliency maps of a U-Net trained with L1 and with WL1 (Fig. 3.9), and
one report whose sections are the thesis's tables and figures.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from msgan.experiments import thesis_values as thesis
from msgan.experiments.chapter import Chapter, ChapterRun
from msgan.experiments.chapter_report import ChapterReport, copy_figure, quality_cell, roi_discrepancy
from msgan.experiments.protocol import CohortDesign, Config, narrow_model_kwargs

INPUTS = ("MTR", "FA", "RD", "AD")
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
    crop: tuple[int, int, int] = (128, 160, 128)
    folds: int = 3
    train: dict = field(default_factory=dict)  # TrainOptions fields; {} = the thesis's presets
    filters: int | None = None
    discriminator_patch: int | None = None

    def model_kwargs(self, model: str) -> dict:
        return narrow_model_kwargs(model, self.filters, self.discriminator_patch)


#: --check: 6 MS + 3 HC at 6 mm, 32x48x32 crops, 2-filter networks, one epoch of 2 steps.
CHECK = Chapter3Settings(design=CohortDesign(n_ms=6, n_hc=3, resolution=6.0, sessions=("t0",)), crop=(32, 48, 32),
                         train={"epochs": 1, "steps_per_epoch": 2, "batch": 2}, filters=2, discriminator_patch=16)


def _train(run: ChapterRun, config: Config) -> None:
    """Crop shards of the configuration's inputs, then its cross-validation without
    validation subjects (sec. 3.3.1)."""
    from data_tools.shards.dataset import build_shards

    settings = run.settings
    inputs = config.inputs or INPUTS
    if inputs not in run.shards:
        run.shards[inputs] = run.tmp / "shards" / "+".join(inputs)
        build_shards(run.data, "myelin", run.shards[inputs], inputs=list(inputs), target="PIB", layout="crop",
                     crop=settings.crop, session="t0", progress=run.progress)
    run.step(f"{config.name}: {settings.folds}-fold cross-validation (no validation set), predictions")
    train = {**settings.train, "model_kwargs": settings.model_kwargs(config.model)}
    run.cross_validate(config, run.shards[inputs], settings.folds, 0, train, window=settings.crop)


def _saliency_and_report(run: ChapterRun) -> ChapterReport:
    """Fig. 3.9's attention maps (a U-Net trained with L1 and with WL1, one held-out
    patient of the first fold), then the report."""
    from msgan.saliency.session import saliency_for_session

    run.step("attention saliency maps (Fig. 3.9): U-Net with L1 and with WL1")
    first = run.plan[0]["test"]
    patient = next((s for s in first if run.data.subjects[s].group == "MS"), first[0])
    for name in [c.name for c in run.configs if c.name in ("unet-l1", "unet-wl1")]:
        saliency_for_session(run.tmp / "cv" / name / "fold-1", run.data, patient, run.tmp / "saliency" / name,
                             session="t0", window=run.settings.crop)
    return _report(run.tmp, run.out, run.data, run.cohort_dir, run.simulated, run.settings, run.check, run.result,
                   patient, run.plan)


#: chapter 3, declared
CHAPTER = Chapter("ch3", "myelin", REFERENCE, lambda settings: CONFIGS,
                  lambda check: CHECK if check else Chapter3Settings(), _train, _saliency_and_report)


def _quality(tables, name: str, metric: str):
    return quality_cell(tables, name, metric, REFERENCE)


def _report(tmp: Path, out: Path, data, cohort_dir: Path, simulated: bool, settings: Chapter3Settings,
            check: bool, result, patient: str, folds: list[dict]) -> ChapterReport:
    tables = result.tables
    figures = tmp / "figures"
    evaluation = tmp / "evaluation"
    report = ChapterReport("Chapter 3 reproduced: PIB myelin maps from MTR and DTI (msgan reproduce ch3)")
    report.preamble += [
        "**Toy size (`--check`): every step of the protocol ran; the numbers mean nothing.**" if check else
        "Full protocol of sec. 3.3.1.", "",
        f"- Cohort: `{out / 'cohort' if simulated else cohort_dir}`"
        + (" (simulated by `msgan simulate`: not patient images)" if (Path(cohort_dir) / "simulation.json").is_file()
           else "") + f": {len(data)} subjects, visit t0.",
        f"- Shards: {'x'.join(map(str, settings.crop))} crops of the brain, no augmentation; inputs "
        f"{', '.join(INPUTS)} (Tables 3.3-3.4: MTR, MTR+RD), target PIB.",
        f"- {settings.folds}-fold subject-level cross-validation, controls spread evenly, no validation set "
        "(sec. 3.3.1), the same folds for every method. Folds: "
        + "; ".join(f"fold {f['fold']} tests {', '.join(f['test'])}" for f in folds) + ".",
        "- Training: " + (json.dumps(settings.train) if settings.train else "the thesis's presets (sec. 3.3.1)")
        + (f", networks with {settings.filters} base filters" if settings.filters else "") + ".",
        "- msgan's numbers: inside the brain mask, mean (SD) over held-out subjects. `*`: differs from the Refiner, "
        "two-sided paired t-test p < 0.05, one pair per subject.",
    ]
    rows = []
    for name in TABLE_3_1:
        mse, n = _quality(tables, name, "mse_brain")
        psnr, _ = _quality(tables, name, "psnr_brain")
        rows.append([LABELS[name], mse, psnr, n, *thesis.TABLE_3_1[LABELS[name]]])
    report.table("Table 3.1", pd.DataFrame(rows, columns=["method", "MSE (msgan)", "PSNR (msgan)", "n",
                                                          "MSE (thesis)", "PSNR (thesis)"]),
                 "Image quality (MSE, PSNR eq. 3.9) of the six methods.")
    report.figure("Fig. 3.4", copy_figure(evaluation, "qualitative.png", figures),
                  "Every method's prediction beside the true PIB, one held-out subject.")
    rows = [[LABELS[name], *[roi_discrepancy(tables, name, roi) for roi in ROIS], *thesis.TABLE_3_2[LABELS[name]]]
            for name in TABLE_3_1]
    report.table("Table 3.2", pd.DataFrame(rows, columns=["method", *[f"{r} (msgan)" for r in ROIS],
                                                          *[f"{r} (thesis)" for r in ROIS]]),
                 "Myelin content prediction discrepancy |mean true - mean predicted DVR| per subject and region "
                 "(WM_HC: white matter of controls; NAWM and lesions: patients).")
    rows = [[k, _quality(tables, name, "mse_brain")[0], _quality(tables, name, "psnr_brain")[0],
             *[roi_discrepancy(tables, name, roi) for roi in ROIS]] for k, name in ITERATIONS.items()]
    frame = pd.DataFrame(rows, columns=["K", "MSE", "PSNR", *[f"discrepancy {r}" for r in ROIS]])
    report.table("Fig. 3.5", frame, "Refinement iterations K = 0 (the Sketcher) to 3, MSE, PSNR and discrepancy "
                 f"per region. Thesis: {thesis.FIG_3_5}.", _plot_iterations(tables, figures, tmp))
    report.figure("Fig. 3.6", copy_figure(evaluation, "roi_boxplots.png", figures),
                  "Mean DVR per region and subject, true and every method's.")
    group = tables.get("group_tests")
    report.table("Sec. 3.3.4: group comparisons", group if group is not None else pd.DataFrame(),
                 f"Per-subject region means, true maps and each method's. Thesis: {thesis.SEC_3_3_4}.")
    ba = tables.get("bland_altman")
    report.table("Fig. 3.7", ba if ba is not None else pd.DataFrame(),
                 f"Bland-Altman bias and limits per method and region. Thesis: {thesis.FIG_3_7}.",
                 copy_figure(evaluation, "bland_altman.png", figures))
    demy = tables.get("demyelination_summary")
    dice = "n/a" if demy is None else "; ".join(
        f"ses-{r.session}: {r.dice_mean:.3g} ({r.dice_sd:.3g})" for r in demy[demy.method == REFERENCE].itertuples())
    report.figure("Fig. 3.8", copy_figure(evaluation, "demyelination_percent.png", figures),
                  f"(A) % of the lesion load demyelinated, true vs predicted, per patient; DICE of the Refiner's "
                  f"demyelinated maps with the true ones {dice}. Thesis: {thesis.FIG_3_8}.")
    overlay = copy_figure(evaluation, "demyelination_overlays.png", figures)
    if overlay:
        report.sections[-1][1].extend(["", f"(B) ![Fig. 3.8 (B)]({overlay})"])
    report.figure("Fig. 3.9", _saliency_figure(tmp, figures, patient),
                  f"Attention saliency (eq. 3.7) of a U-Net trained with L1 (top) and with WL1 (bottom), held-out "
                  f"patient {patient}. Thesis: {thesis.FIG_3_9}.")
    for title, published, cells, columns in (
            ("Table 3.3", thesis.TABLE_3_3,
             lambda n: [_quality(tables, n, "mse_brain")[0], _quality(tables, n, "psnr_brain")[0]], ["MSE", "PSNR"]),
            ("Table 3.4", thesis.TABLE_3_4, lambda n: [roi_discrepancy(tables, n, r) for r in ROIS], list(ROIS))):
        rows = [[combo, *cells(name), *published[combo]] for combo, name in COMBINATIONS.items()]
        report.table(title, pd.DataFrame(rows, columns=["inputs", *[f"{c} (msgan)" for c in columns],
                                                        *[f"{c} (thesis)" for c in columns]]),
                     "The Refiner with MTR, MTR+RD and MTR+DTI (sec. 3.3.7); `*` against MTR+DTI.")
    report.table("Sec. 3.3.7: test", _combination_tests(tables),
                 f"Paired two-sided t-tests of each input set against MTR+DTI, one pair per subject. "
                 f"Thesis: {thesis.SEC_3_3_7}.")
    report.text("Files", ["- `evaluation/report.md`: every measure and test of `msgan evaluate`.",
                          "- `cv/<method>/`, `predictions/<method>/`, `saliency/<unet-l1|unet-wl1>/`.",
                          "- `tables/*.csv`: the tables above; `figures/*.png`: the figures above."])
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


def _plot_iterations(tables, figures: Path, tmp: Path) -> str | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = tables.get("quality_summary")
    if summary is None:
        return None
    ks, mse = [], []
    for k, name in ITERATIONS.items():
        row = summary[(summary.method == name) & (summary.session == "t0")]
        if len(row):
            ks.append(k)
            mse.append(float(row.mse_brain_mean.iloc[0]))
    if not ks:
        return None
    figures.mkdir(exist_ok=True)
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot(ks, mse, "o-")
    ax.set_xlabel("refinement iterations K")
    ax.set_ylabel("MSE (brain)")
    ax.set_xticks(ks)
    path = figures / "fig_3_5_iterations.png"
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return str(path.relative_to(tmp))


def _saliency_figure(tmp: Path, figures: Path, patient: str) -> str | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    images = {loss: tmp / "saliency" / name / "attention.png" for loss, name in (("L1", "unet-l1"), ("WL1", "unet-wl1"))}
    images = {loss: path for loss, path in images.items() if path.is_file()}  # --methods may leave one out
    if not images:
        return None
    figures.mkdir(exist_ok=True)
    fig, axes = plt.subplots(len(images), 1, figsize=(8, 3 * len(images)), squeeze=False)
    for ax, (loss, image) in zip(axes[:, 0], images.items()):
        ax.imshow(plt.imread(image))
        ax.set_title(f"U-Net trained with {loss}, sub-{patient}", fontsize=9)
        ax.axis("off")
    path = figures / "fig_3_9_attention.png"
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return str(path.relative_to(tmp))
