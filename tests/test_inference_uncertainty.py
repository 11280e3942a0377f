"""Monte-Carlo dropout: stochastic where dropout exists, batch norm kept in inference mode."""
import keras
import numpy as np
import pytest

from inference_helpers import NORMALIZATION, fcn_like, random_volume, unet_like
from msgan.errors import ConfigError
from msgan.inference.geometry import plan_for_model
from msgan.inference.pipeline import VolumePredictor
from msgan.inference.uncertainty import dropout_layers, mc_dropout, mc_dropout_predict


def _predictor(model, window=(8, 8, 8)):
    return VolumePredictor(model, ["T1", "T2"], "FLAIR", NORMALIZATION,
                           plan_for_model(model, patch=window, overlap=0.5, batch_size=2))


def test_mc_dropout_gives_a_positive_sd_inside_the_brain():
    predictor = _predictor(unet_like())
    volumes, brain = random_volume((16, 16, 16))
    mean, sd = mc_dropout_predict(predictor, volumes, brain, samples=4)
    assert mean.shape == sd.shape == brain.shape
    assert (sd[brain] > 0).mean() > 0.99
    assert (sd[~brain] == 0).all() and (mean[~brain] == 0).all()
    deterministic = predictor.predict(volumes, brain)
    assert not np.allclose(mean, deterministic)  # the passes really were stochastic


def test_batch_norm_stays_in_inference_mode_and_is_restored():
    """BN with moving statistics far from the batch's: in training mode (batch statistics)
    the output inside the brain would drop by ~8 normalised units; frozen, the MC mean stays
    at the deterministic prediction up to dropout noise (its brain average ~0.03 units)."""
    keras.utils.set_random_seed(0)
    inp = keras.Input((None, None, None, 2))
    norm = keras.layers.BatchNormalization()
    x = keras.layers.Dropout(0.2)(norm(inp))
    model = keras.Model(inp, keras.layers.Conv3D(1, 1, kernel_initializer="ones")(x))
    norm.moving_mean.assign(np.full(2, -5.0, np.float32))  # normalised inputs ~ 0 -> BN adds ~ +5 each
    predictor = _predictor(model)
    volumes, brain = random_volume((16, 16, 16))
    deterministic = predictor.predict(volumes, brain)
    mean, sd = mc_dropout_predict(predictor, volumes, brain, samples=12)
    target_std = NORMALIZATION["stats"]["FLAIR"]["std"]
    shift = (mean - deterministic)[brain].mean() / target_std
    assert abs(shift) < 1.0, shift
    assert sd[brain].mean() > 0
    assert norm.trainable  # restored after the MC block


def test_a_model_without_dropout_is_a_config_error():
    model = fcn_like()
    assert dropout_layers(model) == []
    with pytest.raises(ConfigError, match="no dropout layers"):
        with mc_dropout(model):
            pass
    predictor = _predictor(model)
    volumes, brain = random_volume((16, 16, 16))
    with pytest.raises(ConfigError, match="no dropout layers"):
        mc_dropout_predict(predictor, volumes, brain, samples=3)


def test_one_sample_is_refused():
    predictor = _predictor(unet_like())
    volumes, brain = random_volume((8, 8, 8))
    with pytest.raises(ConfigError, match="at least 2"):
        mc_dropout_predict(predictor, volumes, brain, samples=1)
