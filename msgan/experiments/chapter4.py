"""Chapter 4 the chapter's way (sec. 4.3): ``msgan reproduce ch4``.

Protocol (sec. 4.3.1): 18 MS patients with two visits and 10 controls (the simulated cohort
by default); 64^3 patches at 50 % overlap of the baseline visit with the five augmentations;
3-fold subject-level cross-validation, 3 validation subjects out of each fold's 2/3; every
fold's model applied to its held-out subjects at t0 and t1. Methods: the six of Table 4.1,
the nine {U-Net, cGAN, CF-SAGAN} x {L1, WL1, NWL1} of Table 4.2, and a Refiner CF-SAGAN
with two Refiners (three CF-SAGANs, sec. 4.4). Then ``msgan evaluate`` of all of them, and
one report whose sections are the thesis's tables and figures.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from msgan.experiments import thesis_values as thesis
from msgan.experiments.chapter import Chapter, ChapterRun
from msgan.experiments.chapter_report import (ChapterReport, copy_figure, mean_sd, quality_cell,
                                               roi_discrepancy)
from msgan.experiments.protocol import CohortDesign, Config, narrow_model_kwargs, simulation_record

INPUTS = ["MTR", "FA", "RD", "AD"]
REFERENCE = "refiner_cfsagan"
CONFIGS = (
    Config("dnn2", "dnn2", "l1", label="2-Layer DNN"),
    Config("unet-l1", "unet", "l1", label="3D U-Net"), Config("unet-wl1", "unet", "wl1"),
    Config("unet-nwl1", "unet", "nwl1"),
    Config("cgan-l1", "cgan", "l1", label="cGAN"), Config("cgan-wl1", "cgan", "wl1"),
    Config("cgan-nwl1", "cgan", "nwl1"),
    Config("sketcher_refiner", "sketcher_refiner", "l1", "wl1", label="Refiner cGAN"),
    Config("cfsagan-l1", "cfsagan", "l1", label="CF-SAGAN"), Config("cfsagan-wl1", "cfsagan", "wl1"),
    Config("cfsagan-nwl1", "cfsagan", "nwl1"),
    Config(REFERENCE, "refiner_cfsagan", "l1", "nwl1", label="Refiner CF-SAGAN"),
    Config("refiner_cfsagan-3gans", "refiner_cfsagan", "l1", "nwl1", refinements=2,
           label="Refiner CF-SAGAN, 2 Refiners"),
)
LABELS = {c.name: c.shown for c in CONFIGS}
TABLE_4_1 = ("dnn2", "unet-l1", "cgan-l1", "sketcher_refiner", "cfsagan-l1", REFERENCE)
TABLE_4_2 = {"3D U-Net": "unet", "cGAN": "cgan", "CF-SAGAN": "cfsagan"}
LOSSES = {"L1": "l1", "WL1": "wl1", "NWL1": "nwl1"}


@dataclass
class Chapter4Settings:
    """Sizes of one reproduction; the defaults are the thesis's (sec. 4.2.4, 4.3.1)."""

    design: CohortDesign = field(default_factory=lambda: CohortDesign(n_ms=18, n_hc=10, resolution=1.22))
    patch: int = 64
    overlap: float = 0.5
    augment: bool = True
    folds: int = 3
    val_per_fold: int = 3
    train: dict = field(default_factory=dict)  # TrainOptions fields; {} = the thesis's presets
    filters: int | None = None  # None: the zoo's sizes; an int: every network that small

    def model_kwargs(self, model: str) -> dict:
        return narrow_model_kwargs(model, self.filters, self.patch)


#: --check: 6 MS + 3 HC at 6 mm, 16^3 patches without augmentation, 2-filter networks, one
#: epoch of 2 steps, no validation subjects (ch. 4's validation only monitors: every method
#: ends with its last weights): every step of the protocol runs, its numbers mean nothing.
CHECK = Chapter4Settings(design=CohortDesign(n_ms=6, n_hc=3, resolution=6.0), patch=16, augment=False,
                         folds=3, val_per_fold=0, train={"epochs": 1, "steps_per_epoch": 2, "batch": 2},
                         filters=2)


def _train(run: ChapterRun, config: Config) -> None:
    """One set of patch shards of the baseline visit for every configuration, then its
    cross-validation with validation subjects out of the training folds (sec. 4.3.1)."""
    from data_tools.shards.dataset import build_shards

    settings = run.settings
    if "patches" not in run.shards:
        run.shards["patches"] = run.tmp / "shards"
        build_shards(run.data, "myelin", run.shards["patches"], inputs=INPUTS, target="PIB", patch=settings.patch,
                     overlap=settings.overlap, augment=settings.augment, session="t0", progress=run.progress)
    run.step(f"{config.name}: {settings.folds}-fold cross-validation, predictions at t0 and t1")
    train = {**settings.train, "model_kwargs": settings.model_kwargs(config.model)}
    run.cross_validate(config, run.shards["patches"], settings.folds, settings.val_per_fold, train)


def _report_of(run: ChapterRun) -> ChapterReport:
    run.step("report")
    return _report(run.tmp, run.out, run.data, run.cohort_dir, run.simulated, run.settings, run.check, run.result,
                   run.plan)


#: chapter 4, declared
CHAPTER = Chapter("ch4", "myelin-longitudinal", REFERENCE, lambda settings: CONFIGS,
                  lambda check: CHECK if check else Chapter4Settings(), _train, _report_of)


def _quality(tables, method: str, metric: str):
    return quality_cell(tables, method, metric, REFERENCE)


def _lesion_discrepancy(tables, method: str) -> str:
    return roi_discrepancy(tables, method, "lesions")


def _report(tmp: Path, out: Path, data, cohort_dir: Path, simulated: bool, settings: Chapter4Settings,
            check: bool, result, folds: list[dict]) -> ChapterReport:
    tables = result.tables
    figures = tmp / "figures"
    evaluation = tmp / "evaluation"
    record = simulation_record(cohort_dir)
    labels = LABELS
    report = ChapterReport("Chapter 4 reproduced: myelin content from multisequence MRI (msgan reproduce ch4)")
    report.preamble += [
        "**Toy size (`--check`): every step of the protocol ran; the numbers mean nothing.**" if check else
        "Full protocol of sec. 4.3.1.", "",
        f"- Cohort: `{cohort_dir if not simulated else out / 'cohort'}`"
        + (" (simulated by `msgan simulate`: not patient images)" if record else "")
        + f": {len(data)} subjects.",
        f"- Shards: baseline visit (t0), {settings.patch}^3 patches at {settings.overlap:.0%} overlap, "
        f"augmentation of sec. 4.3.1 {'on' if settings.augment else 'off'}; inputs {', '.join(INPUTS)}, target PIB.",
        f"- {settings.folds}-fold subject-level cross-validation, {settings.val_per_fold} validation subject(s) per "
        "fold out of its training folds, the same folds for every method; each fold's model predicts its "
        "held-out subjects at t0 and t1 (sec. 4.3.1). Folds: "
        + "; ".join(f"fold {f['fold']} tests {', '.join(f['test'])}" for f in folds) + ".",
        "- Training: " + (json.dumps(settings.train) if settings.train else "the thesis's presets (sec. 4.3.1)")
        + (f", networks with {settings.filters} base filters" if settings.filters else "") + ".",
        "- msgan's numbers: t0 (the thesis's test visit), inside the brain mask; every measure at t0 and t1 is in "
        "the full evaluation report `evaluation/report.md`. `*`: differs from Refiner CF-SAGAN, two-sided paired "
        "t-test p < 0.05, one pair per subject (the thesis's stars compare with its proposed method too).",
    ]
    # Table 4.1
    rows = []
    for name in TABLE_4_1:
        mse, n = _quality(tables, name, "mse_brain")
        psnr, _ = _quality(tables, name, "psnr_brain")
        t_mse, t_psnr = thesis.TABLE_4_1[labels[name]]
        rows.append([labels[name], mse, psnr, n, t_mse, t_psnr])
    report.table("Table 4.1", pd.DataFrame(rows, columns=["method", "MSE (msgan)", "PSNR (msgan)", "n",
                                                          "MSE (thesis)", "PSNR (thesis)"]),
                 "Image quality (eq. 4.5, 4.6) of the six methods, mean (SD) over held-out subjects at t0.")
    report.figure("Fig. 4.3", copy_figure(evaluation, "qualitative.png", figures),
                  "(A) the input MRI and (B) every method's prediction beside the truth, one held-out patient.")
    # Table 4.2
    for part, title, cell, published in (
            ("a", "Table 4.2 (a)", lambda n: _quality(tables, n, "mse_brain")[0], thesis.TABLE_4_2A),
            ("b", "Table 4.2 (b)", lambda n: _lesion_discrepancy(tables, n), thesis.TABLE_4_2B)):
        rows = []
        for shown, model in TABLE_4_2.items():
            row = [shown]
            for loss_label, loss in LOSSES.items():
                row += [cell(f"{model}-{loss}"), published[shown][loss_label]]
            rows.append(row)
        columns = ["model"] + [f"{loss} ({who})" for loss in LOSSES for who in ("msgan", "thesis")]
        what = ("MSE inside the brain" if part == "a" else
                "lesion myelin-content discrepancy |mean true - mean predicted DVR| per patient")
        report.table(title, pd.DataFrame(rows, columns=columns),
                     f"{what}, mean (SD) at t0, each model with each loss (sec. 4.3.3).")
    # Fig. 4.4
    demy = tables.get("demyelination_summary")
    dice = "; ".join(f"ses-{r.session}: DICE {r.dice_mean:.3g} (SD {r.dice_sd:.3g})"
                     for r in demy[demy.method == REFERENCE].itertuples()) if demy is not None else "n/a"
    report.figure("Fig. 4.4", copy_figure(evaluation, "demyelination_percent.png", figures),
                  "(A) % of the baseline lesion load demyelinated, true vs predicted, per patient at t0 and t1. "
                  f"Refiner CF-SAGAN vs truth: {dice}. Thesis: {thesis.FIG_4_4}.")
    overlay = copy_figure(evaluation, "demyelination_overlays.png", figures)
    if overlay:
        report.sections[-1][1].extend(["", f"(B) ![Fig. 4.4 (B)]({overlay})"])
    # Fig. 4.5 and sec. 4.3.5
    longi = tables.get("longitudinal")
    dyn = "n/a"
    if longi is not None:
        mine = longi[longi.method == REFERENCE]
        dyn = (f"DICE of the dynamic maps {mean_sd(mine.dice_dynamic_demyelination)} (demyelination), "
               f"{mean_sd(mine.dice_dynamic_remyelination)} (remyelination)")
    report.figure("Fig. 4.5", copy_figure(evaluation, "longitudinal_indices.png", figures),
                  f"Global change, dynamic demyelination and remyelination indices per patient, true vs "
                  f"Refiner CF-SAGAN: {dyn}. Thesis: {thesis.FIG_4_5}.")
    report.table("Sec. 4.3.5: patients in the right dynamic category", _categories(longi),
                 "Share of patients whose predicted global index of myelin content change has the sign of the "
                 f"true one (predominant demyelination > 0, remyelination < 0). Thesis: {thesis.SEC_4_3_5}.")
    _fig_4_6(report, data, tmp, longi, figures)
    _table_4_3(report, longi, record, data)
    # sec. 4.4
    rows = [[labels[name], _quality(tables, name, "mse_brain")[0], _quality(tables, name, "psnr_brain")[0],
             _lesion_discrepancy(tables, name)] for name in (REFERENCE, "refiner_cfsagan-3gans")]
    report.table("Sec. 4.4: 3 vs 2 CF-SAGANs", pd.DataFrame(rows, columns=["method", "MSE", "PSNR",
                                                                           "lesion discrepancy"]),
                 f"Two CF-SAGANs (one Refiner) against three (two Refiners), at t0. Thesis: {thesis.SEC_4_4}.")
    report.text("Files", ["- `evaluation/report.md`: every measure and test of `msgan evaluate` (t0 and t1).",
                          "- `cv/<method>/`: folds.json, fold runs, results.csv; `predictions/<method>/`.",
                          "- `tables/*.csv`: the tables above; `figures/*.png`: the figures above."])
    return report


def _categories(longi: pd.DataFrame | None) -> pd.DataFrame:
    from msgan.evaluation.collect import TRUTH

    columns = ["method", "patients in the right category", "patients", "share"]
    if longi is None:
        return pd.DataFrame(columns=columns)
    truth = longi[longi.method == TRUTH].set_index("subject").global_change
    rows = []
    for method, part in longi[longi.method != TRUTH].groupby("method", sort=False):
        pred = part.set_index("subject").global_change.reindex(truth.index)
        both = pd.concat([truth, pred], axis=1).dropna()
        right = int((np.sign(both.iloc[:, 0]) == np.sign(both.iloc[:, 1])).sum())
        rows.append([LABELS.get(method, method), right, len(both), right / len(both) if len(both) else float("nan")])
    return pd.DataFrame(rows, columns=columns)


def _fig_4_6(report, data, tmp: Path, longi, figures: Path) -> None:
    from msgan.evaluation.collect import TRUTH
    from msgan.experiments.dynamic_voxels import draw_dynamic_voxels, dynamic_voxel_maps

    path = None
    chosen: list[str] = []
    if longi is not None:
        truth = longi[longi.method == TRUTH].sort_values("global_change", ascending=False)
        ids = list(truth.subject)
        chosen = list(dict.fromkeys([ids[0], ids[len(ids) // 2], ids[-1]])) if ids else []
        panels = dynamic_voxel_maps(data, tmp / "predictions" / REFERENCE, chosen)
        if panels:
            figures.mkdir(exist_ok=True)
            path = str(draw_dynamic_voxels(panels, figures / "fig_4_6_dynamic_voxels.png").relative_to(tmp))
    report.figure("Fig. 4.6", path,
                  "Demyelinating (red) and remyelinating (blue) voxels inside the baseline lesions (white), "
                  "predicted (middle) and true (right), on the T1; patients with the largest, median and "
                  f"smallest true global change ({', '.join(chosen) or 'none'}). Thesis: {thesis.FIG_4_6}.")


def _regression(longi: pd.DataFrame, method: str, edss: dict | None = None) -> list[list]:
    from msgan.evaluation.clinical import edss_regression, encode_sex

    part = longi[longi.method == method].copy()
    part["sex"] = part["sex"].map(encode_sex)
    if edss is not None:
        part["edss"] = part.subject.map(edss)
    rows = []
    for index in ("dynamic_demyelination", "dynamic_remyelination"):
        fit = edss_regression(part, index)
        if fit is None:
            rows.append([index, "(too few patients)"] + [float("nan")] * 6)
            continue
        for r in fit.itertuples():
            rows.append([index, r.term, r.coef, r.se, r.t, r.p, r.beta, r.n])
    return rows


def _with_thesis(rows: list[list], source: str) -> pd.DataFrame:
    out = []
    for row in rows:
        index, term = row[0], row[1]
        key = "index" if term == index else term
        published = thesis.TABLE_4_3.get((source, index), {}).get(key, (float("nan"),) * 5)
        out.append(row[:8] + [published[0], published[3], published[4]])
    return pd.DataFrame(out, columns=["index", "term", "coef", "SE", "t", "p", "beta", "n",
                                      "coef (thesis)", "p (thesis)", "beta (thesis)"])


def _table_4_3(report, longi, record: dict | None, data) -> None:
    from data_tools.simulation import clinical

    from msgan.evaluation.collect import TRUTH

    if record and record.get("options", {}).get("edss_independent"):
        built_in = ("This cohort was simulated with `--edss-independent`: EDSS is unrelated to myelin, so this "
                    "table is itself the negative control and should find no association.")
    elif record:
        built_in = ("**The association is built into the simulator**: each patient's EDSS = "
                    f"{clinical.EDSS_INTERCEPT:g} {clinical.EDSS_PER_REMYELINATION:+g} x true remyelination rate "
                    f"{clinical.EDSS_PER_YEAR:+g} x (age - 31) + N(0, {clinical.EDSS_NOISE_SD:g}), rounded to 0.5 "
                    "(data_tools/simulation/clinical.py); the dynamic remyelination index measures that rate. "
                    "Finding it shows that the pipeline recovers a planted effect, not that it exists in patients.")
    else:
        built_in = "A user's cohort: EDSS as in its participants.tsv."
    note = ("OLS of baseline EDSS on each dynamic index with age, sex (F = 1) and T2 lesion load (statsmodels), "
            "one row per patient with both visits. " + built_in)
    empty = longi is None
    report.table("Table 4.3 (a)", _with_thesis([] if empty else _regression(longi, TRUTH), "truth"),
                 "True-PET-derived indices. " + note)
    report.table("Table 4.3 (b)", _with_thesis([] if empty else _regression(longi, REFERENCE), "predicted"),
                 "Refiner CF-SAGAN-derived indices. " + note)
    if record and not record.get("options", {}).get("edss_independent") and not empty:
        from data_tools.simulation.cohort import draw_cohort_participants

        people = draw_cohort_participants(record["n_ms"], record["n_hc"], record["seed"], edss_independent=True)
        edss = {p.id: p.edss for p in people}
        rows = [[LABELS.get(maps, maps), *row] for maps in (TRUTH, REFERENCE) for row in _regression(longi, maps, edss)]
        frame = pd.DataFrame(rows, columns=["maps", "index", "term", "coef", "SE", "t", "p", "beta", "n"])
        report.table("Table 4.3, negative control (EDSS independent of myelin)", frame,
                     "The same regressions, EDSS replaced by what `msgan simulate --edss-independent` draws for this "
                     "cohort's seed (same images, same indices, EDSS from an independent remyelination rate): the "
                     "index rows should not be significant.")
