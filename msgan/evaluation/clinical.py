"""Clinical correlation of the dynamic indices with disability (sec. 4.3.6, Table 4.3).

Ordinary least squares (statsmodels) of baseline EDSS on one dynamic index with age, sex
and T2 lesion load as covariates. Every term gets its coefficient, standard error, t,
p and standardised beta (the coefficient in SD units of the term and of EDSS).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

COVARIATES = ("age", "sex", "t2_lesion_load")


def encode_sex(value) -> float:
    """1 for female, 0 for male; numbers pass through; anything else is NaN."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip().lower()
    return {"f": 1.0, "female": 1.0, "w": 1.0, "m": 0.0, "male": 0.0}.get(text, float("nan"))


def standardized_beta(coef: float, x: np.ndarray, y: np.ndarray) -> float:
    """beta = coef x SD(x) / SD(y), both sample SDs (ddof=1)."""
    return float(coef) * float(np.std(x, ddof=1)) / float(np.std(y, ddof=1))


def edss_regression(table: pd.DataFrame, index: str, response: str = "edss",
                    covariates=COVARIATES) -> pd.DataFrame | None:
    """OLS of ``response`` on ``index`` + covariates; one row per term (intercept excluded).

    Rows with a missing value are dropped. Returns None when fewer observations than
    parameters + 1 remain (no residual degree of freedom).
    """
    import statsmodels.api as sm  # 2 s to import: only when a regression is run

    columns = [index, *covariates]
    data = table[[response, *columns]].apply(pd.to_numeric, errors="coerce").dropna()
    if len(data) <= len(columns) + 1:
        return None
    design = sm.add_constant(data[columns], has_constant="add")
    fit = sm.OLS(data[response], design).fit()
    rows = []
    for term in columns:
        rows.append({
            "term": term, "coef": float(fit.params[term]), "se": float(fit.bse[term]),
            "t": float(fit.tvalues[term]), "p": float(fit.pvalues[term]),
            "beta": standardized_beta(fit.params[term], data[term], data[response]),
            "n": int(fit.nobs),
        })
    return pd.DataFrame(rows)
