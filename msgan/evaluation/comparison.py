"""Comparing methods on the same subjects: two-sided paired t-tests (stars of Tables 3.1, 4.1)."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def paired_tests(table: pd.DataFrame, metrics, reference: str, key=("subject", "session"),
                 method_column: str = "method") -> pd.DataFrame:
    """Paired two-sided t-test (scipy.stats.ttest_rel) of each metric, ``reference`` vs each other method.

    Rows are matched on ``key``; pairs with a missing or infinite value are left out.
    Columns: metric, method, reference, n, mean_diff (method - reference), t, p.
    """
    rows = []
    key = list(key)
    ref = table[table[method_column] == reference]
    for method in [m for m in table[method_column].unique() if m != reference]:
        other = table[table[method_column] == method]
        merged = ref.merge(other, on=key, suffixes=("_ref", "_other"))
        for metric in metrics:
            a = pd.to_numeric(merged[f"{metric}_ref"], errors="coerce").to_numpy(float)
            b = pd.to_numeric(merged[f"{metric}_other"], errors="coerce").to_numpy(float)
            ok = np.isfinite(a) & np.isfinite(b)
            if ok.sum() < 2:
                continue
            res = stats.ttest_rel(b[ok], a[ok])
            rows.append({"metric": metric, "method": method, "reference": reference, "n": int(ok.sum()),
                         "mean_diff": float((b[ok] - a[ok]).mean()),
                         "t": float(res.statistic), "p": float(res.pvalue)})
    return pd.DataFrame(rows, columns=["metric", "method", "reference", "n", "mean_diff", "t", "p"])
