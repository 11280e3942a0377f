"""Acceptance on the real patients (issue 19): a short training with the real-flair preset,
on patient07 only, predicts patient19's FLAIR with a higher brain correlation than a
voxel-wise linear regression fitted on the same patient."""
import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

from conftest import OPEN_MS_MANIFEST
from data_tools.contracts import ShardSpec
from data_tools.io.cohort import open_cohort
from data_tools.io.masks import brain_mask
from data_tools.shards.dataset import build_shards
from data_tools.shards.normalize import image_stats
from msgan.evaluation.image_quality import brain_correlation
from msgan.inference.predict import predict_session, predictor_from_run
from msgan.training.presets import RECIPES, TrainOptions
from msgan.training.run import train

INPUTS = ["T1", "T1POST", "T2"]


def zscored_voxels(session):
    x, _ = session.stack(INPUTS)
    brain = brain_mask(session, INPUTS)
    columns = []
    for c in range(x.shape[-1]):
        mean, std = image_stats(x[..., c], brain)
        columns.append((x[..., c][brain] - mean) / std)
    return np.stack(columns, -1), brain


@pytest.mark.slow
@pytest.mark.real_data
def test_short_real_flair_training_beats_linear_regression_on_the_other_patient(open_ms_data, tmp_path):
    cohort = open_cohort(manifest=OPEN_MS_MANIFEST, root=open_ms_data)
    train_session = cohort.select(["patient07"]).sessions("t0")[0]
    test_session = cohort.select(["patient19"]).sessions("t0")[0]
    truth = test_session.load("FLAIR").data

    x_train, brain_train = zscored_voxels(train_session)
    linear = LinearRegression().fit(x_train, train_session.load("FLAIR").data[brain_train])
    x_test, brain = zscored_voxels(test_session)
    linear_pred = np.zeros(truth.shape)
    linear_pred[brain] = linear.predict(x_test)
    r_linear = brain_correlation(truth, linear_pred, brain)

    shards = tmp_path / "shards"
    build_shards(cohort, ShardSpec("flair", inputs=INPUTS, subjects=["patient07"], session="t0").merged(
        RECIPES["real-flair"]["shards"]), shards, progress=False)
    # 150 steps of batch 4: a fraction of the preset's length, enough to pass the line
    train(TrainOptions("unet_small", str(shards), str(tmp_path / "run"), preset="real-flair",
                       epochs=3, steps_per_epoch=50, progress=False))
    predictor, _ = predictor_from_run(tmp_path / "run", tile=128)
    r_deep = brain_correlation(truth, predict_session(predictor, test_session)[0], brain)
    assert r_deep > r_linear, (r_deep, r_linear)
