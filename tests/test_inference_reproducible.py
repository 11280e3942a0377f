"""The same input gives bit-identical output (issue 15, point 2): a GAN Sketcher's noise z
is fixed at inference, in ``msgan predict``, in the SavedModel and across sessions."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import tensorflow as tf

from conftest import make_tiny_session
from inference_helpers import NORMALIZATION
from msgan.cli import main
from msgan.evaluation.longitudinal import longitudinal_indices
from msgan.inference.predict import predictor_from_run
from msgan.layers.noise import fixed_noise
from msgan.models import build
from msgan.training.run import save_weights

SHAPE = (16, 16, 16)
TINY_GAN = {"generator_kwargs": {"base_filters": 2, "levels": 2},
            "discriminator_kwargs": {"base_filters": 2, "patch_size": 8, "levels": 2}}


@pytest.fixture(scope="module")
def gan_run(tmp_path_factory) -> Path:
    """A finished run folder of a tiny Sketcher-Refiner (its Sketcher draws z)."""
    import keras

    run = tmp_path_factory.mktemp("gan") / "run"
    run.mkdir()
    keras.utils.set_random_seed(1)
    model = build("sketcher_refiner", 2, **TINY_GAN, refinements=1)
    save_weights(model, run / "model.weights.h5")
    config = {"task": "flair", "inputs": ["T1", "T2"], "target": "FLAIR", "model": "sketcher_refiner",
              "model_kwargs": {**TINY_GAN, "refinements": 1}, "patch": [8, 8, 8],
              "train_subjects": ["a"], "val_subjects": []}
    (run / "config.json").write_text(json.dumps(config))
    (run / "normalization.json").write_text(json.dumps(NORMALIZATION))
    return run


@pytest.fixture(scope="module")
def two_visits(tmp_path_factory) -> Path:
    """One patient whose t1 files are byte copies of its t0 files."""
    root = tmp_path_factory.mktemp("visits") / "cohort"
    make_tiny_session(root / "sub-p1" / "ses-t0", shape=SHAPE, seed=4)
    shutil.copytree(root / "sub-p1" / "ses-t0", root / "sub-p1" / "ses-t1")
    return root


def _cli(*args) -> int:
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    return exc.value.code


def _read(path: Path) -> np.ndarray:
    return np.asarray(nib.load(str(path)).dataobj)


def test_the_sketcher_still_draws_z_in_training(gan_run):
    """What the fixed z must not change: training draws a fresh z at every call."""
    predictor, _ = predictor_from_run(gan_run)
    sketcher = predictor.model.sketcher.generator
    x = tf.random.stateless_normal((1, 8, 8, 8, 2), seed=[0, 1])
    first, second = sketcher(x, training=True), sketcher(x, training=True)
    assert not np.allclose(first.numpy(), second.numpy())


@pytest.mark.slow
def test_predicting_twice_gives_identical_files_and_t0_equals_t1(gan_run, two_visits, tmp_path):
    outs = [tmp_path / f"pred{k}" for k in range(2)]
    for out in outs:
        assert _cli("predict", "--run", gan_run, "--cohort", two_visits, "--out", out) == 0
    first, again = (_read(out / "p1" / "t0" / "FLAIR_pred.nii.gz") for out in outs)
    assert np.array_equal(first, again)
    assert first[first != 0].std() > 0  # a real prediction, not a constant
    # the same volumes at t0 and t1: the same map, so no voxel de- or remyelinates (sec. 4.2.5)
    follow_up = _read(outs[0] / "p1" / "t1" / "FLAIR_pred.nii.gz")
    assert np.array_equal(first, follow_up)
    brain = first != 0
    threshold = np.median(first[brain])  # any threshold: both visits are classified alike
    indices = longitudinal_indices(brain & (first < threshold), brain & (follow_up < threshold), brain)
    assert indices["dynamic_demyelination"] == 0 and indices["dynamic_remyelination"] == 0


@pytest.mark.slow
def test_noise_samples_average_fixed_draws_reproducibly(gan_run, two_visits, tmp_path):
    out = tmp_path / "k2"
    assert _cli("predict", "--run", gan_run, "--cohort", two_visits, "--session", "t0",
                "--noise-samples", "2", "--out", out) == 0
    written = _read(out / "p1" / "t0" / "FLAIR_pred.nii.gz")
    volumes = np.stack([_read(two_visits / "sub-p1" / "ses-t0" / f"{n}.nii.gz") for n in ("T1", "T2")], -1)
    brain = (volumes[..., 0] != 0).astype(np.float32)
    again, _ = predictor_from_run(gan_run, noise_samples=2)
    assert np.array_equal(again.predict(volumes, brain), written)
    # the mean of two is the mean of the two single fixed draws, which differ: z reaches the output
    predictor, _ = predictor_from_run(gan_run)
    singles = []
    for draw in range(2):
        with fixed_noise(predictor.model, draw):
            singles.append(predictor.compiled(fresh=True)(volumes.astype(np.float32), brain).numpy())
    assert not np.allclose(singles[0][brain > 0], singles[1][brain > 0])
    np.testing.assert_allclose(written, np.mean(singles, axis=0), rtol=1e-5, atol=1e-3)


@pytest.mark.slow
def test_saved_model_equals_msgan_predict_for_a_gan(gan_run, two_visits, tmp_path):
    export = tmp_path / "saved" / "1"
    assert _cli("export", "--run", gan_run, "--out", export) == 0
    card = json.loads((export / "assets" / "model_card.json").read_text())
    assert card["noise"] == {"z": "zero", "noise_samples": 0}
    served = tf.saved_model.load(str(export)).signatures["predict_volume"]
    volumes = np.stack([_read(two_visits / "sub-p1" / "ses-t0" / f"{n}.nii.gz") for n in ("T1", "T2")], -1)
    brain = (volumes[..., 0] != 0).astype(np.float32)
    first = served(volumes=tf.constant(volumes, tf.float32), brainmask=tf.constant(brain))["prediction"].numpy()
    second = served(volumes=tf.constant(volumes, tf.float32), brainmask=tf.constant(brain))["prediction"].numpy()
    assert np.array_equal(first, second)
    out = tmp_path / "pred"
    assert _cli("predict", "--run", gan_run, "--cohort", two_visits, "--session", "t0", "--out", out) == 0
    np.testing.assert_allclose(first, _read(out / "p1" / "t0" / "FLAIR_pred.nii.gz"), rtol=1e-6, atol=1e-5)


def test_noise_samples_refused_without_z():
    from inference_helpers import fcn_like
    from msgan.errors import ConfigError
    from msgan.inference.geometry import plan_for_model
    from msgan.inference.pipeline import VolumePredictor

    model = fcn_like()
    with pytest.raises(ConfigError, match="noise"):
        VolumePredictor(model, ["T1", "T2"], "FLAIR", NORMALIZATION, plan_for_model(model), noise_samples=2)
