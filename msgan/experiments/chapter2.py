"""Chapter 2's protocol (sec. 2.2.3-2.3), declared for ``msgan reproduce ch2``: T1, T2, PD,
T1SE and DIR -> FLAIR on whole volumes, 5-fold cross-validation with early stopping on the
held-out fold as the thesis did (its errors are therefore optimistic, sec. 2.4), the
configurations of :mod:`~msgan.experiments.chapter2_design` and the report of
:mod:`~msgan.experiments.chapter2_report` (docs/reproducing.md states it in full).
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


#: chapter 2, declared: the reference trains first, its folds.json is the plan every
#: classic method follows
CHAPTER = Chapter("ch2", "flair", REFERENCE, lambda settings: settings.configs(),
                  lambda check: CHECK if check else Chapter2Settings(), _shards, _train, write_report,
                  reference_first=True)


def whole_volume_window(data, multiple: int = 8) -> tuple[int, int, int]:
    """The largest t0 volume of the cohort, each side rounded up to ``multiple`` voxels: the
    whole volume as one example (sec. 2.2.3), zero-padded so that the U-Net's poolings divide
    it (the thesis's 208x256x40 needs no padding)."""
    shapes = [nib.load(session.path(TARGET)).shape[:3] for session in data.sessions("t0") if session.has(TARGET)]
    largest = np.max(np.array(shapes), axis=0)
    return tuple(int(-(-side // multiple) * multiple) for side in largest)

