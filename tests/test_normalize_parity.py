"""The one z-score: Normalizer on numpy arrays and the prediction graph agree, every scope."""
import numpy as np
import pytest
import tensorflow as tf

from data_tools.shards.dataset import NORMALIZE_CHOICES
from data_tools.shards.normalize import Normalizer, brain_moments, zscore
from inference_helpers import random_volume
from msgan.inference.pipeline import VolumePredictor
from msgan.inference.sliding_window import WindowPlan

INPUTS, TARGET = ["T1", "T2"], "FLAIR"


def _session(seed):
    """Raw volumes T1, T2, FLAIR with a non-zero background, and the brain mask."""
    volumes, brain = random_volume((16, 18, 14), channels=3, seed=seed)
    rng = np.random.default_rng(seed + 100)
    volumes += (~brain)[..., None] * rng.normal(5.0, 2.0, volumes.shape).astype(np.float32)
    volumes[..., 1] = 3.0 * volumes[..., 1] + 40.0  # channels on different scales
    return volumes, brain


def _fitted(choice):
    scope, region = NORMALIZE_CHOICES[choice]
    images = []
    for seed in (1, 2):
        volumes, brain = _session(seed)
        images += [(name, volumes[..., c], brain) for c, name in enumerate(INPUTS + [TARGET])]
    return Normalizer.fit(images, target=TARGET, scope=scope, region=region)


def _first_input(patches):
    """A 'model' returning its first normalised input channel."""
    return patches[..., :1]


@pytest.mark.parametrize("choice", sorted(NORMALIZE_CHOICES))
def test_numpy_and_graph_normalisation_agree(choice):
    assert len(NORMALIZE_CHOICES) == 4  # global, global-brain, subject, subject-all
    norm = _fitted(choice)
    volumes, brain = _session(7)  # an unseen session
    predictor = VolumePredictor(_first_input, INPUTS, TARGET, norm,
                                WindowPlan(mode="halo", tile=(32, 32, 32), halo=0))
    graph = tf.function(predictor._normalise, input_signature=predictor.input_signature())
    normalised, background = graph(volumes[..., :2], brain.astype(np.float32))
    for c, name in enumerate(INPUTS):
        expected = norm.apply(name, volumes[..., c], brain)
        np.testing.assert_allclose(normalised[..., c].numpy(), expected, rtol=1e-6, atol=1e-5)
        assert background[c].numpy() == pytest.approx(norm.background(name, volumes[..., c], brain), rel=1e-6)
    # the whole graph, de-normalisation included: FLAIR units of the first input's z-score
    predicted = predictor.predict(volumes[..., :2], brain)
    expected = norm.invert(TARGET, norm.apply(INPUTS[0], volumes[..., 0], brain)) * brain
    np.testing.assert_allclose(predicted, expected, rtol=1e-6, atol=1e-3)


def test_brain_moments_hand_worked_and_in_a_graph():
    array = np.array([[0.0, 2.0], [4.0, 6.0]], np.float32)
    brain = np.array([[False, True], [True, True]])
    mean, std = brain_moments(array, brain)  # {2, 4, 6}: mean 4, variance 8/3
    assert float(mean) == pytest.approx(4.0) and float(std) == pytest.approx(np.sqrt(8 / 3))
    assert float(brain_moments(array)[0]) == pytest.approx(3.0)

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float32)] * 2)
    def in_graph(x, mask):
        return zscore(x, *brain_moments(x, mask))

    z = in_graph(array, brain.astype(np.float32)).numpy()
    np.testing.assert_allclose(z[brain], (array[brain] - 4.0) / np.sqrt(8 / 3), rtol=1e-6)
