"""The simplest honest baseline: predict every test subject's image as the training mean image."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from data_tools.io.atomic import atomic_output_dir
from data_tools.io.cohort import Cohort
from data_tools.io.masks import brain_mask
from data_tools.io.nifti import check_same_grid, save_like


def mean_image_baseline(cohort: Cohort, train_ids: Sequence[str], test_ids: Sequence[str], target: str,
                        inputs: Sequence[str], out: str | Path, train_session: str | None = "t0",
                        overwrite: bool = False) -> Path:
    """Write, for every test session, the voxel-wise mean of the training subjects' ``target``
    (their ``train_session`` images, the baseline visit by default).

    It only makes sense for images on one common grid (the simulated cohort, or data
    registered to a template); each prediction is masked by the test session's brain.
    Files are laid out as ``msgan predict`` writes them, so ``msgan evaluate`` reads them.
    """
    train_sessions = [s for s in cohort.select(train_ids).sessions(train_session) if s.has(target)]
    volumes = [s.load(target) for s in train_sessions]
    check_same_grid(volumes)
    mean = np.mean([v.data for v in volumes], axis=0)
    with atomic_output_dir(out, overwrite=overwrite) as tmp:
        for ses in cohort.select(test_ids).sessions():
            reference = ses.load(inputs[0])
            check_same_grid([volumes[0], reference])
            brain = brain_mask(ses, inputs)
            save_like(mean * brain, reference, tmp / ses.subject / ses.name / f"{target}_pred.nii.gz")
    return Path(out)
