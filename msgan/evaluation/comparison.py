"""Comparing methods on the same subjects: two-sided paired t-tests (stars of Tables 3.1, 4.1).

One pair per subject: each session is tested on its own (the thesis tests the baseline,
sec. 3.3.2, 4.3.2), so a patient seen at t0 and t1 never counts twice in one test.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

COLUMNS = ["session", "metric", "method", "reference", "n", "df", "mean_diff", "t", "p"]


def paired_tests(table: pd.DataFrame, metrics, reference: str, method_column: str = "method") -> pd.DataFrame:
    """Paired two-sided t-test (scipy.stats.ttest_rel) of each metric, ``reference`` vs each
    other method, within each session.

    Rows are matched on ``subject``; pairs with a missing or infinite value are left out.
    A subject appearing twice for one method in one session is a ``ValueError``.
    Columns: session, metric, method, reference, n (subjects), df (scipy's, n - 1),
    mean_diff (method - reference), t, p.
    """
    rows = []
    for session, part in table.groupby("session", sort=False):
        repeated = part[part.duplicated([method_column, "subject"])]
        if len(repeated):
            raise ValueError(f"subject {repeated.subject.iloc[0]} appears twice for "
                             f"{repeated[method_column].iloc[0]} in session {session}")
        ref = part[part[method_column] == reference]
        for method in [m for m in part[method_column].unique() if m != reference]:
            merged = ref.merge(part[part[method_column] == method], on="subject", suffixes=("_ref", "_other"))
            for metric in metrics:
                a = pd.to_numeric(merged[f"{metric}_ref"], errors="coerce").to_numpy(float)
                b = pd.to_numeric(merged[f"{metric}_other"], errors="coerce").to_numpy(float)
                ok = np.isfinite(a) & np.isfinite(b)
                if ok.sum() < 2:
                    continue
                res = stats.ttest_rel(b[ok], a[ok])
                rows.append({"session": session, "metric": metric, "method": method, "reference": reference,
                             "n": int(ok.sum()), "df": float(res.df), "mean_diff": float((b[ok] - a[ok]).mean()),
                             "t": float(res.statistic), "p": float(res.pvalue)})
    return pd.DataFrame(rows, columns=COLUMNS)
