"""Write the evaluation report: ``report.md`` (tables shaped like the thesis's),
``tables/*.csv`` (every per-subject row and summary) and ``figures/*.png``."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from msgan.evaluation import figures
from msgan.evaluation.cells import fmt, markdown_table, starred, summary_cell
from msgan.evaluation.demyelination import THRESHOLD_SOURCES, THRESHOLD_SPACES

TEST_NOTE = ("`*`: differs from {ref} with p < 0.05, two-sided paired t-test (scipy.stats.ttest_rel), "
             "one pair per subject both methods predicted, within the session of the table (sessions "
             "are never pooled; the thesis's stars are the baseline's, t0). `(n=k)`: mean over the k "
             "subjects whose value is defined (e.g. the DICE of two empty maps is n/a).")


def _summary_table(summary: pd.DataFrame, metrics: dict[str, str], tests=None, **where) -> str:
    rows = []
    for _, row in summary.iterrows():
        cells = [row["method"]]
        for metric in metrics:
            cells.append(summary_cell(row, metric, defined=True) + starred(tests, row["method"], metric, **where))
        rows.append(cells + [int(row["n"])])
    return markdown_table(["method", *metrics.values(), "n"], rows)


def _header(result) -> list[str]:
    o, c, prov = result.options, result.cohort_summary, result.provenance
    groups = ", ".join(f"{n} {g}" for g, n in c["groups"].items())
    sessions = ", ".join(f"{n} at ses-{s}" for s, n in c["sessions_with_target"].items())
    lines = ["# msgan evaluation report", "",
             f"- Task: `{o.task}`; predicted image: {o.target}.",
             f"- Cohort: `{c['source']}`: {c['subjects']} subjects ({groups}); true {o.target}: {sessions}.",
             "- Methods (prediction folders): " + "; ".join(f"**{n}** `{p}`" for n, p in o.methods.items())
             + f". Reference for the tests: **{o.reference}**.",
             f"- Command: `{prov['command']}`"]
    if prov["folds"]:
        for name, fold in prov["folds"].items():
            lines.append(f"- Folds of {name} (run `{fold.get('run')}`, model {fold.get('model')}): "
                         f"trained on {fold.get('train')}, validated on {fold.get('val')}.")
    else:
        lines.append("- Folds: not recorded (the prediction folders are not inside a run folder with "
                     "config.json); make sure the evaluated subjects were not used for training.")
    if o.task == "flair":
        lines.append(f"- Options: surrounding NAWM = {o.dilation}-voxel dilation of the lesions inside WM; "
                     f"threshold segmentation k = {o.k}.")
    else:
        lines.append(f"- Options: distance-to-CSF bins of {o.bin_mm:g} mm; demyelination threshold source "
                     f"`{o.threshold_source}` ({THRESHOLD_SOURCES[o.threshold_source]}); threshold space "
                     f"`{o.threshold_space}` ({THRESHOLD_SPACES[o.threshold_space]}).")
        lines.append("- Statistics: every test and agreement statistic takes one row per subject, each session "
                     "in its own table (ses-t0 is the thesis's baseline); sessions are never pooled.")
    if result.gaps:
        lines += ["", "## Gaps", "", "Left out of this report (each also printed as a warning):", ""]
        lines += [f"- {gap}" for gap in result.gaps]
    return lines


def _quality(tables, ref, figs) -> list[str]:
    if "quality_summary" not in tables:
        return []
    lines = ["", "## Image quality (Tables 2.2, 3.1, 4.1)", "",
             "MSE, PSNR (eq. 3.9, MAX = maximum of the true image) and 3-D SSIM (scikit-image, "
             "data range of the truth), over the whole volume and inside the brain mask; the scale-free "
             "SSIM (prediction's brain mean and SD matched to the truth's first) and the Pearson "
             "correlation r inside the brain; mean (SD) over subjects."]
    metrics = {"mse": "MSE", "psnr": "PSNR", "ssim": "SSIM", "mse_brain": "MSE brain",
               "psnr_brain": "PSNR brain", "ssim_brain": "SSIM brain",
               "ssim_scale_free_brain": "scale-free SSIM brain", "correlation_brain": "r brain"}
    for session, part in tables["quality_summary"].groupby("session", sort=False):
        lines += ["", f"ses-{session}:", "", _summary_table(part, metrics, tables.get("quality_tests"),
                                                            session=session)]
    lines += ["", TEST_NOTE.format(ref=ref)]
    if "qualitative" in figs:
        lines += ["", f"![qualitative]({figs['qualitative']})"]
    return lines


def _flair(tables, ref, result) -> list[str]:
    lines = []
    if "contrast_summary" in tables:
        lines += ["", "## Lesion contrast (eq. 2.4, Table 2.3)", "",
                  f"Ratio 1 = I(lesions)/I(NAWM), Ratio 2 = I(lesions)/I(surrounding NAWM: "
                  f"{result.options.dilation}-voxel dilation of the lesions inside WM), per patient, "
                  "mean (SD) over patients."]
        for session, part in tables["contrast_summary"].groupby("session", sort=False):
            lines += ["", f"ses-{session}:", "",
                      _summary_table(part, {"ratio1": "Ratio 1", "ratio2": "Ratio 2"}, tables.get("contrast_tests"),
                                     session=session)]
        lines += ["", TEST_NOTE.format(ref=ref)]
    if "segmentation_summary" in tables:
        lines += ["", "## Lesion detectability", "",
                  f"White-matter voxels brighter than mean + {result.options.k:g} SD of the NAWM are "
                  "segmented in the true and in the synthetic FLAIR alike, and the two segmentations "
                  "compared by DICE. This reproducible threshold segmentation is **not** the external "
                  "lesion segmentation pipeline of thesis sec. 2.3.2, so its DICE is not comparable with "
                  "the thesis's 0.73; the last column shows how well it finds the lesion mask on the true "
                  "FLAIR."]
        for session, part in tables["segmentation_summary"].groupby("session", sort=False):
            lines += ["", f"ses-{session}:", "",
                      _summary_table(part, {"dice": "DICE true vs synthetic segmentation",
                                            "dice_true_vs_lesion_mask": "DICE true segmentation vs lesion mask"})]
    return lines


def _myelin(tables, ref, figs) -> list[str]:
    if "roi_summary" not in tables:
        return []
    lines = ["", "## Myelin content per region (Tables 3.2, 4.2b)", "",
             "Prediction discrepancy = |mean true DVR - mean predicted DVR| per subject and region; "
             "mean (SD) over subjects. WM_HC: white matter of controls; NAWM and lesions: patients."]
    summary = tables["roi_summary"]
    tests = tables.get("roi_tests")
    for session, part in summary.groupby("session", sort=False):
        rois = list(dict.fromkeys(part.roi))
        rows = []
        for method, rows_m in part.groupby("method", sort=False):
            cells = [method]
            for roi in rois:
                r = rows_m[rows_m.roi == roi]
                cells.append(summary_cell(r.iloc[0], "discrepancy", defined=True)
                             + starred(tests, method, "discrepancy", roi=roi, session=session) if len(r) else "n/a")
            rows.append(cells)
        lines += ["", f"ses-{session}:", "", markdown_table(["method", *rois], rows)]
    lines += ["", TEST_NOTE.format(ref=ref)]
    if "group_tests" in tables and len(tables["group_tests"]):
        lines += ["", "### Group comparisons (sec. 3.3.4)", "",
                  "Per-subject region means, on the true maps and on each method's predictions, "
                  "each session on its own (df: scipy's degrees of freedom).", "",
                  markdown_table(["session", "maps", "comparison", "t", "df", "p", "n", "test"],
                                 tables["group_tests"].values.tolist())]
    if "bland_altman" in tables and len(tables["bland_altman"]):
        ba = tables["bland_altman"]
        lines += ["", "### Bland-Altman agreement (Fig. 3.7)", "",
                  "Bias = mean(predicted - true) of the per-subject region means; limits = bias +- 1.96 SD; "
                  "one point per subject, each session on its own.", "",
                  markdown_table(["session", "method", "region", "bias", "SD", "lower", "upper", "n"],
                                 ba[["session", "method", "region", "bias", "sd", "lower", "upper", "n"]]
                                 .values.tolist())]
    for key, caption in (("boxplots", "Mean per region (Fig. 3.6)"), ("bland_altman", "Bland-Altman (Fig. 3.7)")):
        if key in figs:
            lines += ["", f"![{caption}]({figs[key]})"]
    return lines


def _demyelination(tables, ref, figs, result) -> list[str]:
    lines = []
    if "demyelination_summary" in tables:
        o = result.options
        source = ("a true map with the controls' true maps and each method's predicted map with the "
                  "controls' maps predicted by that method (a global bias of a prediction is not counted as "
                  "demyelination)" if o.threshold_source == "same" else
                  "every map, true or predicted, with the controls' true maps (a global bias of a prediction "
                  "counts as (de)myelination)")
        space = (f"in each subject's own space (Euclidean distance transform of its CSF mask, {o.bin_mm:g} mm "
                 "bins), without the non-linear registration to MNI the thesis used (FSL FNIRT)"
                 if o.threshold_space == "native" else
                 f"at each voxel's location in MNI space ({o.bin_mm:g} mm bins of the distance to the CSF of "
                 "nilearn's MNI152), after an affine then B-spline registration of every session's tissue "
                 "image to the template (SimpleITK), as the thesis's group-level procedure (FNIRT there)")
        lines += ["", "## Demyelination in lesions (sec. 3.3.5, Figs. 3.8, 4.4)", "",
                  "A lesional voxel is demyelinated when its DVR is below the mean - 1 SD of the "
                  "controls' white-matter voxels at the same distance from CSF. Threshold source "
                  f"`{o.threshold_source}`: {source} (column threshold_maps of tables/demyelination.csv). "
                  f"Threshold space `{o.threshold_space}`: distance to CSF measured {space}. "
                  f"Percent = demyelinated voxels / lesion voxels of the baseline (ses-t0 lesion load, also "
                  "at ses-t1, sec. 4.2.5); DICE = true vs predicted demyelinated maps (n/a when both are empty, "
                  "left out of the mean).", ""]
        if "registration" in tables:
            reg = tables["registration"]
            lines += [f"MNI registration: {len(reg)} sessions, {fmt(float(reg.seconds.mean()), 3)} s each on "
                      f"average (max {fmt(float(reg.seconds.max()), 3)} s); per session in tables/registration.csv.",
                      ""]
        summary = tables["demyelination_summary"]
        for session, part in summary.groupby("session", sort=False):
            lines += [f"ses-{session}:", "", _summary_table(part, {"percent": "% demyelinated", "dice": "DICE"},
                                                           tables.get("demyelination_tests"), session=session), ""]
        for key in ("percent", "overlays"):
            if key in figs:
                lines += [f"![{key}]({figs[key]})", ""]
    if "procedure_summary" in tables or "thresholds" in figs:
        lines += ["", "### The thresholding procedure itself", ""]
        if "procedure_summary" in tables:
            proc = tables["procedure"]
            lines += ["The simulated cohort carries the ground-truth `demyelinated` map: thresholding the "
                      "*true* PIB map recovers it with DICE "
                      + ", ".join(f"{summary_cell(r, 'dice_vs_simulated', defined=True)} at ses-{r['session']} "
                                  f"(n={int(r['n'])})" for _, r in tables["procedure_summary"].iterrows())
                      + f" (per session: tables/procedure.csv, {len(proc)} rows). This bounds the DICE a "
                      "perfect prediction can reach against the simulation's truth.", ""]
        if "thresholds" in figs:
            lines += [f"![thresholds]({figs['thresholds']})", ""]
    return lines


def _longitudinal(tables, figs) -> list[str]:
    lines = []
    if "longitudinal_summary" in tables:
        lines += ["", "## Myelin content change t0 -> t1 (sec. 4.2.5, Figs. 4.5, 4.6)", "",
                  "Baseline lesional voxels followed to the follow-up, in %: global change = % demyelinated "
                  "at t1 - % at t0 (over the baseline lesion load; > 0: demyelination predominates); dynamic "
                  "demyelination = share of voxels normal at t0 demyelinated at t1; dynamic remyelination = "
                  "share of voxels demyelinated at t0 normal at t1. DICE of each method's dynamic maps with "
                  "the true ones. Mean (SD) over patients; per patient in tables/longitudinal.csv.", "",
                  _summary_table(tables["longitudinal_summary"],
                                 {"global_change": "global change", "dynamic_demyelination": "dyn. demyelination",
                                  "dynamic_remyelination": "dyn. remyelination",
                                  "dice_dynamic_demyelination": "DICE dyn. demyelination",
                                  "dice_dynamic_remyelination": "DICE dyn. remyelination"})]
        if "indices" in figs:
            lines += ["", f"![indices]({figs['indices']})"]
    if "clinical" in tables:
        lines += ["", "## Clinical correlation (Table 4.3)", "",
                  "OLS (statsmodels) of baseline EDSS on each dynamic index with age, sex (F = 1) and T2 "
                  "lesion load as covariates; beta = standardised coefficient. True-PET and predicted "
                  "indices side by side.", ""]
        clinical = tables["clinical"]
        for index, part in clinical.groupby("index", sort=False):
            lines += [f"EDSS ~ {index}:", "",
                      markdown_table(["maps", "term", "coefficient", "SE", "t", "p", "beta", "n"],
                                     part[["maps", "term", "coef", "se", "t", "p", "beta", "n"]].values.tolist()), ""]
    return lines


def _comparisons(tables) -> list[str]:
    tests = [tables[k].assign(table=k) for k in ("quality_tests", "contrast_tests", "roi_tests", "demyelination_tests")
             if k in tables and len(tables[k])]
    if not tests:
        return []
    both = pd.concat(tests, ignore_index=True)
    if "roi" not in both:
        both["roi"] = ""
    both["roi"] = both["roi"].fillna("")
    return ["", "## Method comparisons", "",
            "Two-sided paired t-tests (scipy.stats.ttest_rel), each method against the reference, one "
            "pair per subject, each session tested on its own (df = n - 1, scipy's).", "",
            markdown_table(["session", "metric", "region", "method", "reference", "n", "df", "mean diff", "t", "p"],
                           both[["session", "metric", "roi", "method", "reference", "n", "df", "mean_diff", "t",
                                 "p"]].values.tolist())]


def _figures(result, figure_data, tables, fig_dir: Path) -> dict[str, str]:
    figs = {}
    unit = "FLAIR intensity" if result.options.task == "flair" else "DVR"

    def add(key, name, draw):
        draw(fig_dir / name)
        figs[key] = f"figures/{name}"

    if "example" in figure_data:
        add("qualitative", "qualitative.png", lambda p: figures.qualitative_panel(figure_data["example"], p))
    if "roi" in tables:
        add("boxplots", "roi_boxplots.png", lambda p: figures.roi_boxplots(tables["roi"], p, unit))
        add("bland_altman", "bland_altman.png", lambda p: figures.bland_altman_plot(tables["roi"], p))
    if "demyelination" in tables:
        add("percent", "demyelination_percent.png", lambda p: figures.percent_bars(tables["demyelination"], p))
    if figure_data.get("overlays"):
        add("overlays", "demyelination_overlays.png",
            lambda p: figures.demyelination_overlays(figure_data["overlays"], p, result.options.reference))
    if "thresholds" in figure_data:
        add("thresholds", "demyelination_thresholds.png",
            lambda p: figures.threshold_procedure(figure_data["thresholds"], tables.get("procedure"), p))
    if "longitudinal" in tables:
        add("indices", "longitudinal_indices.png", lambda p: figures.indices_plot(tables["longitudinal"], p))
    return figs


def write_report(result, figure_data: dict, folder: Path) -> Path:
    """Write CSVs, figures and report.md into ``folder`` (the atomic temporary output)."""
    tables = result.tables
    (folder / "tables").mkdir()
    (folder / "figures").mkdir()
    for name, table in tables.items():
        table.to_csv(folder / "tables" / f"{name}.csv", index=False)
    figs = _figures(result, figure_data, tables, folder / "figures")
    ref = result.options.reference
    lines = _header(result)
    lines += _quality(tables, ref, figs)
    lines += _flair(tables, ref, result)
    lines += _myelin(tables, ref, figs)
    lines += _demyelination(tables, ref, figs, result)
    lines += _longitudinal(tables, figs)
    lines += _comparisons(tables)
    lines += ["", "## Files", "", "- `tables/*.csv`: every per-subject row and summary above.",
              "- `figures/*.png`: the figures above."]
    path = folder / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path
