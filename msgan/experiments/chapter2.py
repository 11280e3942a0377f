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

from pathlib import Path

import nibabel as nib
import numpy as np

from data_tools.contracts import ShardSpec
from msgan.classic.cohort import CLASSIC_MODELS
from msgan.experiments.chapter import Chapter, ChapterRun
from msgan.experiments.chapter2_design import CHECK, INPUTS, REFERENCE, TARGET, Chapter2Settings
from msgan.experiments.chapter2_report import write_report
from msgan.experiments.protocol import Config


def _shards(run: ChapterRun, config: Config) -> ShardSpec:
    """Whole baseline volumes of the configuration's inputs, zero-padded to the cohort's
    largest (:func:`whole_volume_window`), no augmentation (sec. 2.2.3)."""
    return ShardSpec("flair", inputs=config.inputs or INPUTS, target=TARGET, layout="crop",
                     crop=whole_volume_window(run.data), session="t0")


def _train(run: ChapterRun, config: Config, shards: Path) -> None:
    """Cross-validation with early stopping on the held-out fold (sec. 2.2.3); a classic
    method follows the reference's folds."""
    settings = run.settings
    run.step(f"{config.name}: {settings.folds}-fold cross-validation, predictions")
    if config.model in CLASSIC_MODELS:
        run.classic_folds(config, shards, config.inputs or INPUTS, TARGET, settings.seed)
        return
    train = {**settings.train, "seed": settings.seed}
    run.cross_validate(config, shards, settings.folds, 0, train, early_stop_on_test=True,
                       window=whole_volume_window(run.data))


def _report(run: ChapterRun):
    run.step("P3S maps (Fig. 2.6), inference times, figures, report")
    return write_report(run)


#: chapter 2, declared: the reference trains first, its folds.json is the plan every
#: classic method follows
CHAPTER = Chapter("ch2", "flair", REFERENCE, lambda settings: settings.configs(),
                  lambda check: CHECK if check else Chapter2Settings(), _shards, _train, _report, reference_first=True)


def whole_volume_window(data, multiple: int = 8) -> tuple[int, int, int]:
    """The largest t0 volume of the cohort, each side rounded up to ``multiple`` voxels: the
    whole volume as one example (sec. 2.2.3), zero-padded so that the U-Net's poolings divide
    it (the thesis's 208x256x40 needs no padding)."""
    shapes = [nib.load(session.path(TARGET)).shape[:3] for session in data.sessions("t0") if session.has(TARGET)]
    largest = np.max(np.array(shapes), axis=0)
    return tuple(int(-(-side // multiple) * multiple) for side in largest)

