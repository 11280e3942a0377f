"""The negative control of Table 4.3: `msgan simulate --edss-independent` plants no EDSS effect.

The default simulator derives EDSS from the true remyelination rate (the association of
sec. 4.3.6 is built in); with --edss-independent the same patients get EDSS from an
independent draw, so the regression of Table 4.3 must find nothing. Deterministic: fixed
seeds and sample sizes (18 patients, the thesis's; 200 for a sharper contrast).
"""
from __future__ import annotations

import filecmp

import pandas as pd
import pytest

from data_tools.io.cohort import open_cohort
from data_tools.simulation.cohort import draw_cohort_participants
from msgan.cli import main
from msgan.evaluation.clinical import edss_regression, encode_sex


def remyelination_p(n_ms: int, seed: int, independent: bool) -> float:
    """p of the remyelination rate in OLS EDSS ~ rate + age + sex (Table 4.3's model, truth side)."""
    people = [p for p in draw_cohort_participants(n_ms, 0, seed, edss_independent=independent)]
    table = pd.DataFrame({"edss": [p.edss for p in people], "rate": [p.remyelination_rate for p in people],
                          "age": [p.age for p in people], "sex": [encode_sex(p.sex) for p in people]})
    fit = edss_regression(table, "rate", covariates=("age", "sex"))
    return float(fit.set_index("term").loc["rate", "p"])


@pytest.mark.parametrize("n_ms, seed", [(18, 0), (18, 1), (200, 0)])
def test_edss_association_is_built_in_and_absent_with_edss_independent(n_ms, seed):
    assert remyelination_p(n_ms, seed, independent=False) < 0.05
    assert remyelination_p(n_ms, seed, independent=True) > 0.05


def test_edss_independent_changes_only_the_edss():
    default = draw_cohort_participants(18, 10, seed=3)
    control = draw_cohort_participants(18, 10, seed=3, edss_independent=True)
    same = ("id", "group", "age", "sex", "demyelination_rate", "remyelination_rate")
    assert [[getattr(p, k) for k in same] for p in default] == [[getattr(p, k) for k in same] for p in control]
    assert [p.edss for p in default] != [p.edss for p in control]
    assert all(p.edss is None for p in control if p.group == "HC")


def test_cli_option_writes_the_same_images_and_another_edss(tmp_path):
    args = ["simulate", "--n-ms", "3", "--n-hc", "0", "--resolution", "8", "--sessions", "t0", "--jobs", "1"]
    for name, extra in (("default", []), ("control", ["--edss-independent"])):
        with pytest.raises(SystemExit) as done:
            main(args + ["--out", str(tmp_path / name)] + extra)
        assert done.value.code == 0
    default, control = (open_cohort(cohort=tmp_path / n) for n in ("default", "control"))
    assert filecmp.cmp(tmp_path / "default/sub-ms01/ses-t0/PIB.nii.gz", tmp_path / "control/sub-ms01/ses-t0/PIB.nii.gz",
                       shallow=False)
    edss = [(default.subjects[s].info["edss"], control.subjects[s].info["edss"]) for s in default.subjects]
    assert any(a != b for a, b in edss)
    assert '"edss_independent": true' in (tmp_path / "control" / "simulation.json").read_text()
