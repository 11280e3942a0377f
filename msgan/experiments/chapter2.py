"""Chapter 2 the chapter's way (sec. 2.2.3-2.3): ``msgan reproduce ch2``.

Protocol (sec. 2.2.3): 20 MS patients and 4 controls (the simulated cohort by default),
T1, T2, PD, T1SE and DIR -> FLAIR, whole volumes normalised over all voxels of each
sequence, no augmentation; 5-fold subject-level cross-validation with one control per fold
where there are controls, the same folds for every method; SGD at 5e-4, batch 1, STOP_3
early stopping on strips of 5 epochs whose generalisation error is the held-out fold's
(the thesis had no separate validation set: "the testing error is used as an estimate of
the generalization error", sec. 2.4; its test errors are therefore optimistic, and
``cv/*/results.csv`` says so). Methods: the FCN at widths 32/64/96 (Table 2.1) and depths
L = 2/3/4/6 (Fig. 2.3); U-Net, MLP, 60-tree random forest and modality propagation
(Tables 2.2-2.3); the FCN without each input, every method without DIR and the FCN on five
input combinations (Tables 2.4a-c, Fig. 2.7). Then ``msgan evaluate --task flair`` of all
of them, the P3S maps of the FCN (Fig. 2.6) and one report titled as the thesis's tables
and figures.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import nibabel as nib
import numpy as np

from data_tools.io.atomic import atomic_output_dir
from data_tools.contracts import FoldPlan
from data_tools.io.nifti import save_like
from msgan.experiments.ablation import CLASSIC_MODELS, classic_predictions
from msgan.experiments.chapter2_design import CHECK, INPUTS, PREDICTION_NAME, REFERENCE, TARGET, Chapter2Settings
from msgan.experiments.chapter2_report import write_report
from msgan.experiments.protocol import Config, cohort_for, cross_validate_and_predict, select_configs, timed


def run_chapter2(out: str | Path, cohort: str | Path | None = None, check: bool = False,
                 settings: Chapter2Settings | None = None, methods=None, overwrite: bool = False,
                 progress: bool = True, echo: Callable[[str], None] = print) -> Path:
    """Run chapter 2's protocol into ``out`` (all or nothing); return the path of ``report.md``.

    ``methods``: configuration names to run (None: all); the others' cells read n/a."""
    from data_tools.shards.dataset import build_shards
    from msgan.evaluation.runner import evaluate

    settings = settings or (CHECK if check else Chapter2Settings())
    configs = select_configs(settings.configs(), methods, REFERENCE)
    out = Path(out)
    started = time.perf_counter()
    step = timed(echo, started)
    with atomic_output_dir(out, overwrite=overwrite) as tmp:
        step("cohort" + (f" (simulating {settings.design.n_ms} MS + {settings.design.n_hc} HC at "
                         f"{settings.design.resolution:g} mm, one visit)" if cohort is None else f" {cohort}"))
        data, cohort_dir, simulated = cohort_for(cohort, settings.design, tmp / "cohort", progress)
        volume = whole_volume_window(data)
        shards: dict[tuple[str, ...], Path] = {}
        plan = None
        # the reference first: its folds.json is the plan every classic method follows
        for config in sorted(configs, key=lambda c: c.name != REFERENCE):
            inputs = config.inputs or INPUTS
            if inputs not in shards:
                shards[inputs] = tmp / "shards" / "+".join(inputs)
                build_shards(data, "flair", shards[inputs], inputs=list(inputs), target=TARGET, layout="crop",
                             crop=volume, session="t0", progress=progress)
            step(f"{config.name}: {settings.folds}-fold cross-validation, predictions")
            if config.model in CLASSIC_MODELS:
                _classic_folds(config, shards[inputs], data, plan, tmp / "predictions", settings.seed)
                continue
            train = {**settings.train, "model_kwargs": config.model_kwargs, "seed": settings.seed}
            cross_validate_and_predict(config, shards[inputs], data, tmp / "cv", tmp / "predictions",
                                       settings.folds, 0, train, progress, early_stop_on_test=True, window=volume)
            plan = plan or FoldPlan.from_json(tmp / "cv" / config.name / "folds.json").folds
        step("msgan evaluate --task flair (all methods)")
        others = {c.name: tmp / "predictions" / c.name for c in configs if c.name != REFERENCE}
        result = evaluate(tmp / "predictions" / REFERENCE, data, "flair", tmp / "evaluation", methods=others,
                          label=REFERENCE, command="msgan reproduce ch2", on_warning=lambda w: None,
                          progress=progress)
        step("P3S maps (Fig. 2.6), inference times, figures, report")
        report = write_report(tmp, out, data, cohort_dir, simulated, settings, configs, check, result, plan)
        return report.finish(tmp, out, started)


def whole_volume_window(data, multiple: int = 8) -> tuple[int, int, int]:
    """The largest t0 volume of the cohort, each side rounded up to ``multiple`` voxels: the
    whole volume as one example (sec. 2.2.3), zero-padded so that the U-Net's poolings divide
    it (the thesis's 208x256x40 needs no padding)."""
    shapes = [nib.load(session.path(TARGET)).shape[:3] for session in data.sessions("t0") if session.has(TARGET)]
    largest = np.max(np.array(shapes), axis=0)
    return tuple(int(-(-side // multiple) * multiple) for side in largest)


def _classic_folds(config: Config, shards: Path, data, plan: list[dict], predictions: Path, seed: int) -> None:
    """A classic method on the reference's folds: fitted on each fold's other subjects,
    predicting its held-out ones (``predictions/<name>/<subject>/t0/FLAIR_pred.nii.gz``)."""
    names = list(config.inputs or INPUTS)
    for fold in plan:
        train_ids = [s for s in data.ids() if s not in fold["test"]]
        sessions = [s for s in data.select(fold["test"]).sessions("t0") if s.has(TARGET)]
        volumes = classic_predictions(config.model, shards, data, train_ids, sessions, names, TARGET, seed,
                                      **config.model_kwargs)
        for session, volume in zip(sessions, volumes):
            save_like(volume, session.load(TARGET),
                      predictions / config.name / session.subject / session.name / PREDICTION_NAME)
