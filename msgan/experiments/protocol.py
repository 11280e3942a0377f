"""Pieces every chapter's protocol shares: its configurations, the cohort, the merging of a
fold's held-out predictions into ``msgan predict``'s layout, the all-or-nothing stop."""
from __future__ import annotations

import contextlib
import json
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from data_tools.contracts import look_up_option
from data_tools.errors import ConfigError
from data_tools.io.cohort import Cohort, open_cohort
from msgan.errors import TrainingStopped
from msgan.models.registry import width_kwargs


@dataclass(frozen=True)
class Config:
    """One trained method of a comparison: a name in the report, a zoo model and its losses."""

    name: str
    model: str
    loss: str = "l1"
    refiner_loss: str | None = None
    refinements: int | None = None
    label: str = ""  # the thesis's name of the method
    inputs: tuple[str, ...] | None = None  # None: the chapter's inputs
    model_kwargs: dict = field(default_factory=dict)  # the zoo model's hyperparameters (e.g. FCN width)

    @property
    def shown(self) -> str:
        return self.label or self.name


@dataclass
class CohortDesign:
    """What ``msgan simulate`` writes when no cohort is given (the chapter's design)."""

    n_ms: int
    n_hc: int
    resolution: float
    sessions: tuple[str, ...] = ("t0", "t1")
    seed: int = 0


def narrowed(configs: tuple[Config, ...], filters: int | None, discriminator_patch: int | None
             ) -> tuple[Config, ...]:
    """``configs`` with their ch. 3-4 networks ``filters`` wide (None: the zoo's sizes; a GAN's
    generator and discriminator both, :func:`~msgan.models.registry.width_kwargs`), a GAN's
    discriminator judging ``discriminator_patch``-voxel patches."""
    if filters is None:
        return configs
    sized = []
    for config in configs:
        kwargs = width_kwargs(config.model, config.model_kwargs, filters)
        if "discriminator_kwargs" in kwargs:
            kwargs["discriminator_kwargs"]["patch_size"] = discriminator_patch
        sized.append(replace(config, model_kwargs=kwargs))
    return tuple(sized)


def select_configs(configs: tuple[Config, ...], methods, reference: str) -> tuple[Config, ...]:
    """The configurations named in ``methods`` (all when None), in the chapter's order; the
    reference, which every test compares with, always among them."""
    if methods is None:
        return configs
    names = [c.name for c in configs]
    chosen = {look_up_option(m, names, "method") for m in methods}
    if reference not in chosen:
        raise ConfigError(f"--methods: keep {reference}, the method every other is compared with")
    return tuple(c for c in configs if c.name in chosen)


def cohort_for(cohort: str | Path | None, design: CohortDesign, folder: Path, progress: bool
               ) -> tuple[Cohort, Path, bool]:
    """``(cohort, its folder, simulated here?)``: the user's cohort, else the chapter's simulated one."""
    if cohort is not None:
        return open_cohort(cohort=cohort), Path(cohort), False
    from data_tools.simulation.cohort import default_jobs, simulate_cohort

    path = simulate_cohort(folder, n_ms=design.n_ms, n_hc=design.n_hc, resolution=design.resolution,
                           seed=design.seed, sessions=design.sessions, jobs=default_jobs(), progress=progress)
    return open_cohort(cohort=path), path, True


def simulation_record(cohort_dir: Path) -> dict | None:
    """The cohort's ``simulation.json`` (a cohort ``msgan simulate`` wrote), else None."""
    path = Path(cohort_dir) / "simulation.json"
    return json.loads(path.read_text()) if path.is_file() else None


def merge_fold(fold_dir: Path, combined: Path) -> None:
    """Move each subject folder of one fold's predictions into the method's folder (``msgan
    predict``'s layout, every subject predicted by the fold that held it out)."""
    combined.mkdir(parents=True, exist_ok=True)
    for subject_dir in sorted(p for p in fold_dir.iterdir() if p.is_dir()):
        shutil.move(str(subject_dir), str(combined / subject_dir.name))
    shutil.rmtree(fold_dir)


@contextlib.contextmanager
def discarded_on_stop(out: Path):
    """Around an all-or-nothing run (``msgan reproduce``, ``msgan demo``): training stopped by
    SIGTERM checkpoints inside the partial folder, which the run then deletes, so the error
    names the discarded output instead of that checkpoint and a ``--resume`` these commands
    do not have. SIGTERM outside training says the same (``msgan.cli.main``)."""
    try:
        yield
    except TrainingStopped:
        raise TrainingStopped("stopped by SIGTERM; the partial output was deleted (nothing to resume: "
                              "run the command again)", out) from None


def timed(echo: Callable[[str], None], started: float, marks: dict[str, float] | None = None):
    """``step(message, mark=None)`` printing the seconds since ``started`` before each step;
    a ``mark`` names the step in ``marks`` (name -> when it began)."""
    import time

    def step(message: str, mark: str | None = None) -> None:
        if mark is not None:
            marks[mark] = time.perf_counter()
        echo(f"[{time.perf_counter() - started:6.0f} s] {message}")

    return step
