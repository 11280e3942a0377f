"""The simplest honest baseline: predict every test subject's image as the training mean image."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from data_tools.io.cohort import Cohort, Session
from data_tools.io.masks import brain_mask
from data_tools.io.nifti import check_same_grid


def mean_image_predictions(cohort: Cohort, train_ids: Sequence[str], test_sessions: Sequence[Session], target: str,
                           inputs: Sequence[str], train_session: str | None = "t0") -> list[np.ndarray]:
    """The voxel-wise mean of the training subjects' ``target`` (their ``train_session`` images,
    the baseline visit by default) as the prediction of every test session, masked by its brain.

    It only makes sense for images on one common grid (the simulated cohort, or data
    registered to a template). Like :func:`msgan.classic.cohort.classic_predictions` it
    returns the arrays; the caller saves them (the demo: as ``msgan predict`` lays them out).
    """
    train_sessions = [s for s in cohort.select(train_ids).sessions(train_session) if s.has(target)]
    volumes = [s.load(target) for s in train_sessions]
    check_same_grid(volumes)
    mean = np.mean([v.data for v in volumes], axis=0)
    predictions = []
    for ses in test_sessions:
        check_same_grid([volumes[0], ses.load(inputs[0])])
        predictions.append(mean * brain_mask(ses, inputs))
    return predictions
