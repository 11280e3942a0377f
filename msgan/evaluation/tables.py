"""From per-subject rows to the thesis's tables: summaries, group tests, Bland-Altman,
paired method comparisons, the clinical regressions and the dynamic categories of sec. 4.3.5.

Every summary, test and agreement statistic is computed within one session: a patient
seen at t0 and t1 is one row in the t0 table and one in the t1 table, never two rows of
one statistic. Undefined values (NaN, e.g. the DICE of two empty maps) are left out of
means, and each summary states how many values it averaged (``<metric>_n``)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from msgan.evaluation.clinical import edss_regression, encode_sex
from msgan.evaluation.constants import TRUTH
from msgan.evaluation.comparison import paired_tests
from msgan.evaluation.myelin import bland_altman, group_tests

QUALITY_METRICS = ("mse", "psnr", "ssim", "mse_brain", "psnr_brain", "ssim_brain",
                   "ssim_scale_free_brain", "correlation_brain")
INDICES = ("global_change", "dynamic_demyelination", "dynamic_remyelination")


def mean_sd(table: pd.DataFrame, by, metrics) -> pd.DataFrame:
    """Mean and SD (ddof=1) of each metric per group over its defined (non-NaN) values.

    Columns ``<metric>_mean``, ``<metric>_sd``, ``<metric>_n`` (values averaged) and ``n`` (rows).
    """
    grouped = table.groupby(list(by), sort=False)
    out = grouped[list(metrics)].agg(["mean", "std", "count"])
    out.columns = [f"{m}_{ {'std': 'sd', 'count': 'n'}.get(s, s)}" for m, s in out.columns]
    out["n"] = grouped.size()
    return out.reset_index()


def build_tables(collected: dict[str, list[dict]], reference: str) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Every table of the report, keyed by its CSV name, from the collectors' rows (table ->
    rows); and the notes to state as gaps. ``reference``: the method the others are compared with."""
    rows = {name: pd.DataFrame(r) for name, r in collected.items()}
    tables = dict(rows)
    notes = []
    if "quality" in rows:
        tables["quality_summary"] = mean_sd(rows["quality"], ["session", "method"], QUALITY_METRICS)
        tables["quality_tests"] = paired_tests(rows["quality"], QUALITY_METRICS, reference)
    if "contrast" in rows:
        tables["contrast_summary"] = mean_sd(rows["contrast"], ["session", "method"], ["ratio1", "ratio2"])
        tables["contrast_tests"] = paired_tests(rows["contrast"], ["ratio1", "ratio2"], reference)
    if "segmentation" in rows:
        tables["segmentation_summary"] = mean_sd(rows["segmentation"], ["session", "method"],
                                                 ["dice", "dice_true_vs_lesion_mask"])
    if "roi" in rows:
        roi = rows["roi"]
        tables["roi_summary"] = mean_sd(roi, ["session", "method", "roi"], ["discrepancy", "true_mean", "pred_mean"])
        tables["roi_tests"] = pd.concat(
            [paired_tests(part, ["discrepancy"], reference).assign(roi=name) for name, part in roi.groupby("roi")],
            ignore_index=True)
        tables["group_tests"] = _group_tests(roi)
        tables["bland_altman"] = _bland_altman(roi)
    if "demyelination" in rows:
        demy = rows["demyelination"]
        tables["demyelination_summary"] = mean_sd(demy, ["session", "method"], ["percent", "dice"])
        tables["demyelination_tests"] = paired_tests(demy[demy.method != TRUTH], ["dice"], reference)
    if "procedure" in rows:
        tables["procedure_summary"] = mean_sd(rows["procedure"], ["session"], ["dice_vs_simulated"])
    if "longitudinal" in rows:
        longi = rows["longitudinal"]
        tables["longitudinal_summary"] = mean_sd(
            longi, ["method"], [*INDICES, "dice_dynamic_demyelination", "dice_dynamic_remyelination"])
        clinical, note = clinical_regressions(longi)
        if clinical is not None:
            tables["clinical"] = clinical
        if note:
            notes.append(note)
    return tables, notes


def _group_tests(roi: pd.DataFrame) -> pd.DataFrame:
    """Sec. 3.3.4 on true maps and on each method's predictions, per session name."""
    out = []
    for session, part in roi.groupby("session"):
        sources = {TRUTH: part.drop_duplicates(["subject", "roi"]).assign(value=lambda d: d.true_mean)}
        for method, rows in part.groupby("method", sort=False):
            sources[method] = rows.assign(value=rows.pred_mean)
        for source, rows in sources.items():
            means = {r: dict(zip(g.subject, g.value)) for r, g in rows.groupby("roi")}
            for test in group_tests(means.get("NAWM", {}), means.get("WM_HC", {}), means.get("lesions", {})):
                out.append({"session": session, "maps": source, "comparison": test.name, "t": test.statistic,
                            "df": test.df, "p": test.pvalue, "n": test.n, "test": test.test})
    return pd.DataFrame(out, columns=["session", "maps", "comparison", "t", "df", "p", "n", "test"])


BLAND_ALTMAN_REGIONS = (("WM/NAWM", ("WM_HC", "NAWM")), ("lesions", ("lesions",)))


def _bland_altman(roi: pd.DataFrame) -> pd.DataFrame:
    """Fig. 3.7: per session and method, WM of controls with NAWM of patients, and lesions."""
    out = []
    for (session, method), rows in roi.groupby(["session", "method"], sort=False):
        for label, names in BLAND_ALTMAN_REGIONS:
            part = rows[rows.roi.isin(names)]
            if len(part) >= 2:
                out.append({"session": session, "method": method, "region": label,
                            **bland_altman(part.true_mean, part.pred_mean)})
    return pd.DataFrame(out, columns=["session", "method", "region", "bias", "sd", "lower", "upper", "n"])


def clinical_regressions(longi: pd.DataFrame, edss: dict | None = None) -> tuple[pd.DataFrame | None, str | None]:
    """Table 4.3: EDSS ~ index + age + sex + T2 lesion load, for true and each method's indices
    (``edss``: subject -> EDSS in place of the participants', e.g. a negative control's)."""
    data = longi.copy()
    data["sex"] = data["sex"].map(encode_sex)
    if edss is not None:
        data["edss"] = data.subject.map(edss)
    note = None
    if pd.to_numeric(data["t2_lesion_load"], errors="coerce").isna().all():
        data["t2_lesion_load"] = data["baseline_lesion_ml"]
        note = ("participants.tsv has no t2_lesion_load: the clinical regressions use the baseline "
                "lesion-mask volume in mL instead")
    rows, skipped = [], []
    for method, part in data.groupby("method", sort=False):
        for index in ("dynamic_demyelination", "dynamic_remyelination"):
            fit = edss_regression(part, index)
            if fit is not None:
                rows.append(fit.assign(maps=method, index=index))
            else:
                defined = int(pd.to_numeric(part[index], errors="coerce").notna().sum())
                skipped.append(f"EDSS ~ {index} for {method} maps: {defined} patient(s) with the index "
                               "defined, too few for the regression (an index is undefined when its "
                               "denominator is empty, e.g. no demyelinated voxel at t0)")
    if rows and skipped:
        note = "; ".join([note, *skipped]) if note else "; ".join(skipped)
    if not rows:
        extra = "too few patients with both visits, EDSS, age, sex and lesion load for the clinical " \
                "regressions (they need at least 6)"
        return None, f"{note}; {extra}" if note else extra
    table = pd.concat(rows, ignore_index=True)
    return table[["maps", "index", "term", "coef", "se", "t", "p", "beta", "n"]], note


def right_categories(longi: pd.DataFrame | None) -> pd.DataFrame:
    """Sec. 4.3.5: per method, the patients whose predicted global index of myelin content
    change has the sign of the true one (predominant demyelination > 0, remyelination < 0)."""
    columns = ["method", "patients in the right category", "patients", "share"]
    if longi is None:
        return pd.DataFrame(columns=columns)
    truth = longi[longi.method == TRUTH].set_index("subject").global_change
    rows = []
    for method, part in longi[longi.method != TRUTH].groupby("method", sort=False):
        pred = part.set_index("subject").global_change.reindex(truth.index)
        both = pd.concat([truth, pred], axis=1).dropna()
        right = int((np.sign(both.iloc[:, 0]) == np.sign(both.iloc[:, 1])).sum())
        rows.append([method, right, len(both), right / len(both) if len(both) else float("nan")])
    return pd.DataFrame(rows, columns=columns)


def cohort_summary(cohort, target: str, groups: dict[str, str]) -> dict:
    """Counts for the report's header: evaluated subjects per group, sessions with the true target."""
    counts: dict[str, int] = {}
    sessions: dict[str, int] = {}
    for subject in cohort.subjects.values():
        group = groups.get(subject.id, "left out")
        counts[group] = counts.get(group, 0) + 1
        for name, session in subject.sessions.items():
            if session.has(target):
                sessions[name] = sessions.get(name, 0) + 1
    return {"source": str(cohort.source), "subjects": len(cohort), "groups": counts,
            "sessions_with_target": sessions}
