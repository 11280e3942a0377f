"""The participants table: demographics, disability and each patient's myelin dynamics.

Ages and sexes follow the cohort of sec. 3.3.1/4.2.4 (patients 31.4 +/- 5.6 years, 12/18
women; controls 29.4 +/- 6.3 years, 8/10 women). Each patient has a demyelination and a
remyelination rate (the fractions used by :func:`~data_tools.simulation.lesions.evolve`),
and an EDSS that falls with the remyelination rate, plus an age effect and noise: the
association chapter 4 reports (Bodini et al., 2016). With ``edss_independent`` the EDSS
comes from the same model applied to a second, independent draw of the remyelination rate
(same distribution, unrelated to the patient's myelin): the negative control of Table 4.3.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

REMYELINATION_RATE_RANGE = (0.05, 0.6)
DEMYELINATION_RATE_RANGE = (0.02, 0.25)
# EDSS model: intercept, per unit remyelination rate, per year of age above 31, noise SD.
EDSS_INTERCEPT, EDSS_PER_REMYELINATION, EDSS_PER_YEAR, EDSS_NOISE_SD = 5.0, -6.0, 0.04, 0.5


@dataclass
class Participant:
    id: str                 # without the "sub-" prefix: ms01, hc01
    group: str              # MS | HC
    age: float
    sex: str                # F | M
    edss: float | None
    demyelination_rate: float | None
    remyelination_rate: float | None


def edss_from(remyelination_rate: float, age: float, noise: float) -> float:
    """EDSS on its 0-10 scale in 0.5 steps, from the linear model above (clipped to 0-7.5)."""
    raw = EDSS_INTERCEPT + EDSS_PER_REMYELINATION * remyelination_rate + EDSS_PER_YEAR * (age - 31.0) + noise
    return float(np.clip(np.round(raw * 2.0) / 2.0, 0.0, 7.5))


def draw_participants(rng: np.random.Generator, n_ms: int, n_hc: int,
                      independent_rng: np.random.Generator | None = None) -> list[Participant]:
    """Patients ``ms01..`` then controls ``hc01..``, with their clinical values.

    With ``independent_rng`` each patient's EDSS is computed from a remyelination rate drawn
    from it instead of the patient's own: EDSS independent of myelin, every other value
    (and every draw of ``rng``) unchanged, so the images are the same.
    """
    people = []
    for i in range(n_ms):
        age = float(np.round(np.clip(rng.normal(31.4, 5.6), 18, 60), 1))
        remy = float(np.round(rng.uniform(*REMYELINATION_RATE_RANGE), 3))
        demy = float(np.round(rng.uniform(*DEMYELINATION_RATE_RANGE), 3))
        sex = "F" if rng.random() < 12 / 18 else "M"
        noise = rng.normal(0.0, EDSS_NOISE_SD)
        edss_rate = remy if independent_rng is None else float(independent_rng.uniform(*REMYELINATION_RATE_RANGE))
        people.append(Participant(
            id=f"ms{i + 1:02d}", group="MS", age=age, sex=sex, edss=edss_from(edss_rate, age, noise),
            demyelination_rate=demy, remyelination_rate=remy))
    for i in range(n_hc):
        age = float(np.round(np.clip(rng.normal(29.4, 6.3), 18, 60), 1))
        people.append(Participant(id=f"hc{i + 1:02d}", group="HC", age=age,
                                  sex="F" if rng.random() < 8 / 10 else "M", edss=None,
                                  demyelination_rate=None, remyelination_rate=None))
    return people


PARTICIPANT_COLUMNS = ("participant_id", "group", "age", "sex", "t2_lesion_load", "n_lesions", "edss",
                       "demyelination_rate", "remyelination_rate")


def participants_tsv(people: list[Participant], lesion_load_ml: dict[str, float],
                     n_lesions: dict[str, int]) -> str:
    """The table as TSV text (``n/a`` where a value does not apply); lesion load in mL at t0."""
    def fmt(value):
        return "n/a" if value is None else (f"{value:g}" if isinstance(value, float) else str(value))

    lines = ["\t".join(PARTICIPANT_COLUMNS)]
    for p in people:
        row = (f"sub-{p.id}", p.group, p.age, p.sex, round(lesion_load_ml.get(p.id, 0.0), 3),
               n_lesions.get(p.id, 0), p.edss, p.demyelination_rate, p.remyelination_rate)
        lines.append("\t".join(fmt(v) for v in row))
    return "\n".join(lines) + "\n"
