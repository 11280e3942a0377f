"""Chapter 4's protocol (sec. 4.3.1), declared for ``msgan reproduce ch4``: patches of the
baseline visit (MTR, FA, RD, AD -> PIB), 3-fold cross-validation, every fold's model applied
at t0 and t1; the methods of Tables 4.1-4.2 and sec. 4.4 (docs/reproducing.md states it in full).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from data_tools.contracts import TASKS, ShardSpec
from msgan.evaluation.cells import NA, QUALITY, mean_sd, measure, measures_table
from msgan.evaluation.constants import TRUTH
from msgan.evaluation.tables import clinical_regressions, right_categories
from msgan.experiments.chapter import Chapter, ChapterRun
from msgan.experiments.chapter_report import ChapterReport
from msgan.experiments.protocol import CohortDesign, Config, narrowed, simulation_record
from msgan.experiments.thesis_values import THESIS

INPUTS = TASKS["myelin-longitudinal"].thesis_inputs
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
    #: one set of patch shards of the baseline visit for every configuration (sec. 4.3.1)
    shards: ShardSpec = ShardSpec("myelin", inputs=INPUTS, patch=64, overlap=0.5, augment=True, session="t0")
    folds: int = 3
    val_per_fold: int = 3
    train: dict = field(default_factory=dict)  # TrainOptions fields; {} = the thesis's presets
    filters: int | None = None  # None: the zoo's sizes; an int: every network that small


#: --check: 6 MS + 3 HC at 6 mm, 16^3 patches without augmentation, 2-filter networks, one
#: epoch of 2 steps, no validation subjects (ch. 4's validation only monitors: every method
#: ends with its last weights): every step of the protocol runs, its numbers mean nothing.
CHECK = Chapter4Settings(design=CohortDesign(n_ms=6, n_hc=3, resolution=6.0),
                         shards=replace(Chapter4Settings.shards, patch=16, augment=False), folds=3, val_per_fold=0,
                         train={"epochs": 1, "steps_per_epoch": 2, "batch": 2}, filters=2)


def _train(run: ChapterRun, config: Config, shards: Path) -> None:
    """Cross-validation with validation subjects out of the training folds (sec. 4.3.1)."""
    settings = run.settings
    run.step(f"{config.name}: {settings.folds}-fold cross-validation, predictions at t0 and t1")
    run.cross_validate(config, shards, settings.folds, settings.val_per_fold, settings.train)


def _report(run: ChapterRun) -> ChapterReport:
    run.step("report")
    tables, settings, shards = run.result.tables, run.settings, run.settings.shards
    table = partial(measures_table, tables, REFERENCE)
    record = simulation_record(run.cohort_dir)
    report = run.new_report(
        "Chapter 4 reproduced: myelin content from multisequence MRI (msgan reproduce ch4)", "4.3.1",
        f"Shards: baseline visit (t0), {shards.patch}^3 patches at {shards.overlap:.0%} overlap, "
        f"augmentation of sec. 4.3.1 {'on' if shards.augment else 'off'}; inputs {', '.join(INPUTS)}, target PIB.",
        f"{settings.folds}-fold subject-level cross-validation, {settings.val_per_fold} validation subject(s) per "
        "fold out of its training folds, the same folds for every method; each fold's model predicts its "
        "held-out subjects at t0 and t1 (sec. 4.3.1).", "sec. 4.3.1",
        f", networks with {settings.filters} base filters" if settings.filters else "",
        "msgan's numbers: t0 (the thesis's test visit), inside the brain mask; every measure at t0 and t1 is in "
        "the full evaluation report `evaluation/report.md`. `*`: differs from Refiner CF-SAGAN, two-sided paired "
        "t-test p < 0.05, one pair per subject (the thesis's stars compare with its proposed method too).", visit="")
    report.table("Table 4.1", table("method", {LABELS[n]: n for n in TABLE_4_1}, {**QUALITY, "n": "n"},
                                    THESIS["Table 4.1"]),
                 "Image quality (eq. 4.5, 4.6) of the six methods, mean (SD) over held-out subjects at t0.")
    report.figure("Fig. 4.3", report.copied("qualitative.png"),
                  "(A) the input MRI and (B) every method's prediction beside the truth, one held-out patient.")
    for part, cell, published, what in (
            ("a", "mse_brain", THESIS["Table 4.2 (a)"], "MSE inside the brain"),
            ("b", "roi:lesions", THESIS["Table 4.2 (b)"],
             "lesion myelin-content discrepancy |mean true - mean predicted DVR| per patient")):
        report.table(f"Table 4.2 ({part})", _losses_table(tables, cell, published),
                     f"{what}, mean (SD) at t0, each model with each loss (sec. 4.3.3).")
    report.demyelination("Fig. 4.4", tables, REFERENCE,
                         "(A) % of the baseline lesion load demyelinated, true vs predicted, per patient at t0 and "
                         "t1. DICE of Refiner CF-SAGAN's maps with the true ones: {dice}.")
    longi = tables.get("longitudinal")
    dyn = NA if longi is None else (
        f"DICE of the dynamic maps {mean_sd(longi[longi.method == REFERENCE].dice_dynamic_demyelination)} "
        f"(demyelination), {mean_sd(longi[longi.method == REFERENCE].dice_dynamic_remyelination)} (remyelination)")
    report.figure("Fig. 4.5", report.copied("longitudinal_indices.png"),
                  "Global change, dynamic demyelination and remyelination indices per patient, true vs "
                  f"Refiner CF-SAGAN: {dyn}.")
    categories = right_categories(longi)
    report.table("Sec. 4.3.5: patients in the right dynamic category",
                 categories.assign(method=categories.method.map(lambda m: LABELS.get(m, m))),
                 "Share of patients whose predicted global index of myelin content change has the sign of the "
                 "true one (predominant demyelination > 0, remyelination < 0).")
    _fig_4_6(report, run, longi)
    _table_4_3(report, tables, longi, record)
    report.table("Sec. 4.4: 3 vs 2 CF-SAGANs",
                 table("method", {LABELS[n]: n for n in (REFERENCE, "refiner_cfsagan-3gans")},
                       {**QUALITY, "lesion discrepancy": "roi:lesions"}),
                 "Two CF-SAGANs (one Refiner) against three (two Refiners), at t0.")
    report.files(" (t0 and t1)", "`cv/<method>/`: folds.json, fold runs, results.csv; `predictions/<method>/`.")
    return report


#: chapter 4, declared
CHAPTER = Chapter("ch4", "myelin-longitudinal", REFERENCE, lambda s: narrowed(CONFIGS, s.filters, s.shards.patch),
                  lambda check: CHECK if check else Chapter4Settings(), lambda run, config: run.settings.shards,
                  _train, _report, keep_maps=True)


def _losses_table(tables, what: str, published: dict) -> pd.DataFrame:
    """Table 4.2: per model, msgan's cell beside the thesis's for each loss."""
    rows = [[shown, *[cell for loss_label, loss in LOSSES.items()
                      for cell in (measure(tables, f"{model}-{loss}", what, REFERENCE), published[shown][loss_label])]]
            for shown, model in TABLE_4_2.items()]
    return pd.DataFrame(rows, columns=["model"] + [f"{loss} ({who})" for loss in LOSSES for who in ("msgan", "thesis")])


def _fig_4_6(report: ChapterReport, run: ChapterRun, longi) -> None:
    from msgan.evaluation.figures import dynamic_voxels
    from msgan.evaluation.longitudinal import dynamic_voxel_panels

    path, chosen = None, []
    if longi is not None:
        ids = list(longi[longi.method == TRUTH].sort_values("global_change", ascending=False).subject)
        chosen = list(dict.fromkeys([ids[0], ids[len(ids) // 2], ids[-1]])) if ids else []
        panels = dynamic_voxel_panels(run.data, run.result.classified, REFERENCE, chosen)
        if panels:
            path = dynamic_voxels(panels, run.tmp / "figures" / "fig_4_6_dynamic_voxels.png")
    report.figure("Fig. 4.6", path,
                  "Demyelinating (red) and remyelinating (blue) voxels inside the baseline lesions (white), "
                  "predicted (middle) and true (right), on the T1, as the evaluation classified them; patients with "
                  f"the largest, median and smallest true global change ({', '.join(chosen) or 'none'}).")


def _with_thesis(fits: pd.DataFrame | None, source: str) -> pd.DataFrame:
    """The evaluation's regressions of one kind of maps, the thesis's coefficient, p and beta beside them."""
    columns = ["index", "term", "coef", "se", "t", "p", "beta", "n"]
    rows = [] if fits is None else fits[columns].values.tolist()
    for row in rows:
        index, term = row[0], row[1]
        published = THESIS["Table 4.3"].get(source, {}).get(index, {}).get("index" if term == index else term,
                                                                           (np.nan,) * 5)
        row += [published[0], published[3], published[4]]
    return pd.DataFrame(rows, columns=[*columns[:3], "SE", *columns[4:], "coef (thesis)", "p (thesis)",
                                       "beta (thesis)"])


def _table_4_3(report: ChapterReport, tables: dict, longi, record: dict | None) -> None:
    from data_tools.simulation import clinical

    independent = bool(record and record.get("options", {}).get("edss_independent"))
    if independent:
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
            "one row per patient with both visits (the evaluation's `clinical` table). " + built_in)
    fits = tables.get("clinical")
    for part, maps, source, whose in (("a", TRUTH, "truth", "True-PET"), ("b", REFERENCE, "predicted",
                                                                            "Refiner CF-SAGAN")):
        report.table(f"Table 4.3 ({part})", _with_thesis(None if fits is None else fits[fits.maps == maps], source),
                     f"{whose}-derived indices. " + note)
    if record and not independent and longi is not None:
        from data_tools.simulation.cohort import draw_cohort_participants

        people = draw_cohort_participants(record["n_ms"], record["n_hc"], record["seed"], edss_independent=True)
        control, _ = clinical_regressions(longi[longi.method.isin([TRUTH, REFERENCE])], {p.id: p.edss for p in people})
        report.table("Table 4.3, negative control (EDSS independent of myelin)",
                     None if control is None else control.assign(maps=control.maps.map(lambda m: LABELS.get(m, m)))
                     .rename(columns={"se": "SE"}),
                     "The same regressions, EDSS replaced by what `msgan simulate --edss-independent` draws for this "
                     "cohort's seed (same images, same indices, EDSS from an independent remyelination rate): the "
                     "index rows should not be significant.")
