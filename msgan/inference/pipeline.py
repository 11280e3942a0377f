"""The whole-volume prediction graph: raw volumes in, prediction in the target's units out.

:class:`VolumePredictor` holds a model (a Keras model or any callable on normalised
``(B, d, h, w, C)`` patches), the normalisation of the run and a
:class:`~msgan.inference.sliding_window.WindowPlan`. Its :meth:`VolumePredictor.graph`
is plain TensorFlow: ``msgan predict`` runs it as two ``tf.function``s (z-scoring, then the
rest, so each is timed) and ``msgan export`` saves the very same code as one function, the
SavedModel's ``predict_volume`` signature.

Steps, all inside the graph: z-score each input channel (stored statistics, or the image's
own brain statistics for scopes ``subject``/``subject-all``: ``data_tools.shards.normalize``'s
``zscore``/``brain_moments``, written once with ``keras.ops``),
the sliding window over the windows that touch the brain (the others are skipped), de-normalisation
with the target's statistics, zero outside the brain.
The Sketcher's noise z is fixed (``noise_samples``: 0 for z = 0, K for the mean of K fixed
draws, :mod:`msgan.layers.noise`), so the same volumes always give the same prediction.
"""
from __future__ import annotations

from typing import Callable, Sequence

import keras
import numpy as np
import tensorflow as tf

from data_tools.errors import ConfigError
from data_tools.shards.normalize import Normalizer, brain_moments, unzscore, zscore
from msgan.layers.noise import INFERENCE_SEED, fixed_noise, noise_layers
from msgan.inference.sliding_window import WindowPlan, sliding_window_predict
from msgan.inference.timing import timed


class VolumePredictor:
    """Predict the ``target`` image of a session from its raw ``inputs`` volumes."""

    def __init__(self, model: Callable, inputs: Sequence[str], target: str, normalizer,
                 plan: WindowPlan, noise_samples: int = 0, jit_compile: bool = False):
        self.model = model
        self.jit_compile = bool(jit_compile)  # XLA-compile the network's calls on the windows
        self.noise_samples = check_noise_samples(model, noise_samples)
        self.inputs = list(inputs)
        self.target = target
        self.plan = plan
        self.normalizer = normalizer if isinstance(normalizer, Normalizer) else Normalizer.from_dict(normalizer)
        if target not in self.normalizer.stats:
            raise ConfigError(f"the normalisation has no statistics for the target {target}; "
                              "its prediction cannot be converted back to its units")
        # per input: the stored (mean, std), or None for the image's own brain statistics
        self.input_statistics = self.normalizer.channel_statistics(self.inputs)
        self.target_mean = float(self.normalizer.stats[target]["mean"])
        self.target_std = float(self.normalizer.stats[target]["std"])
        self._compiled = {}

    @property
    def normalization(self) -> dict:
        """The normalisation as JSON (``normalization.json``; the model card's)."""
        return self.normalizer.to_dict()

    @property
    def n_inputs(self) -> int:
        return len(self.inputs)

    def input_signature(self) -> list[tf.TensorSpec]:
        return [tf.TensorSpec((None, None, None, self.n_inputs), tf.float32, name="volumes"),
                tf.TensorSpec((None, None, None), tf.float32, name="brainmask")]

    def _normalise(self, volumes, brain):
        """z-scored float32 channels and each channel's normalised background (raw 0).

        The z-score and the per-image statistics are :mod:`data_tools.shards.normalize`'s own
        functions (``keras.ops``), so this graph and :meth:`Normalizer.apply` are one code.
        """
        channels, background = [], []
        for c, stored in enumerate(self.input_statistics):
            channel = volumes[..., c]
            # per-image inputs: the image's own brain statistics, as Normalizer.apply
            mean, std = brain_moments(channel, brain) if stored is None else stored
            channels.append(zscore(channel, mean, std))
            background.append(zscore(0.0, mean, std))
        return tf.stack(channels, axis=-1), tf.stack(background)

    def graph(self, volumes, brainmask, stochastic: bool = False):
        """The prediction ``(D, H, W)`` in target units, 0 outside ``brainmask``.

        ``stochastic=True`` calls the model in training mode (used for MC dropout, with
        batch normalisation frozen by :func:`msgan.inference.uncertainty.mc_dropout`).
        """
        volumes = tf.convert_to_tensor(volumes, tf.float32)
        brainmask = tf.convert_to_tensor(brainmask, tf.float32)
        normalised, background = self._normalise(volumes, brainmask)
        return self.graph_from_normalised(normalised, background, brainmask, stochastic)

    def normalised_graph(self, volumes, brainmask, stochastic: bool = False):
        """The network's whole-volume output ``(D, H, W)`` in normalised target units (what
        :meth:`graph` de-normalises; saliency differentiates the loss on it)."""
        volumes = tf.convert_to_tensor(volumes, tf.float32)
        brainmask = tf.convert_to_tensor(brainmask, tf.float32)
        normalised, background = self._normalise(volumes, brainmask)
        return self._windows(normalised, background, brainmask, stochastic)

    def graph_from_normalised(self, normalised, background, brainmask, stochastic: bool = False):
        """What :meth:`graph` does after z-scoring: the windows that touch the brain,
        de-normalisation, 0 outside the brain."""
        prediction = self._windows(normalised, background, brainmask, stochastic)
        prediction = unzscore(prediction, self.target_mean, self.target_std)
        return prediction * tf.cast(brainmask > 0.5, tf.float32)

    def _windows(self, normalised, background, brainmask, stochastic: bool = False):
        """The network on the windows that touch the brain, in normalised target units."""
        if stochastic:
            def predict_fn(batch):
                return self.model(batch, training=True)
        else:
            def predict_fn(batch):
                return _call_inference(self.model, batch)
        if self.jit_compile:
            predict_fn = tf.function(predict_fn, jit_compile=True, reduce_retracing=True)
        if self.noise_samples == 0:  # z = 0, unless a caller's fixed_noise block chose a draw
            return sliding_window_predict(normalised, predict_fn, self.plan, background, brainmask)
        predictions = []
        for draw in range(self.noise_samples):
            with fixed_noise(self.model, draw):  # read while the window loop is traced
                predictions.append(sliding_window_predict(normalised, predict_fn, self.plan, background, brainmask))
        return tf.add_n(predictions) / float(self.noise_samples)

    def predict_normalised(self, volumes: np.ndarray, brainmask: np.ndarray) -> np.ndarray:
        """numpy :meth:`normalised_graph`: the prediction before de-normalisation."""
        _check_channels(volumes, self.n_inputs)
        graph = tf.function(self.normalised_graph, input_signature=self.input_signature(), reduce_retracing=True)
        return graph(volumes.astype(np.float32), brainmask.astype(np.float32)).numpy()

    def noise_description(self) -> dict | None:
        """How z is set at inference, for model cards and sidecars (None: the model has no z).

        ``{"z": "zero", "noise_samples": 0}`` or ``{"z": "mean_of_fixed_draws",
        "noise_samples": K, "seeds": [first, last]}``.
        """
        if not noise_layers(self.model):
            return None
        if self.noise_samples == 0:
            return {"z": "zero", "noise_samples": 0}
        return {"z": "mean_of_fixed_draws", "noise_samples": self.noise_samples,
                "seeds": [INFERENCE_SEED, INFERENCE_SEED + self.noise_samples - 1]}

    def compiled(self, stochastic: bool = False, fresh: bool = False):
        """The graph as a ``tf.function`` of fixed channel count and any spatial size.

        ``fresh=True`` traces anew: layer flags such as a frozen batch norm are read when
        the graph is traced, so MC dropout asks for a fresh trace inside its block.
        """
        if fresh or stochastic not in self._compiled:
            self._compiled[stochastic] = tf.function(
                lambda volumes, brainmask: self.graph(volumes, brainmask, stochastic),
                input_signature=self.input_signature(), reduce_retracing=True)
        return self._compiled[stochastic]

    def _stages(self):
        """:meth:`graph` as two ``tf.function``s, z-scoring then the rest, timed apart."""
        if "stages" not in self._compiled:
            volumes, brainmask = self.input_signature()
            normalised = tf.TensorSpec((None, None, None, self.n_inputs), tf.float32)
            background = tf.TensorSpec((self.n_inputs,), tf.float32)
            self._compiled["stages"] = (
                tf.function(self._normalise, input_signature=[volumes, brainmask], reduce_retracing=True),
                tf.function(lambda n, b, m: self.graph_from_normalised(n, b, m),
                            input_signature=[normalised, background, brainmask], reduce_retracing=True))
        return self._compiled["stages"]

    def predict(self, volumes: np.ndarray, brainmask: np.ndarray, timings: dict | None = None) -> np.ndarray:
        """numpy ``(D, H, W, C)`` raw volumes + ``(D, H, W)`` brain mask -> float32 prediction.

        ``timings`` (a dict): the seconds spent z-scoring and predicting are added to its
        ``normalise`` and ``predict`` entries (:mod:`msgan.inference.timing`).
        """
        _check_channels(volumes, self.n_inputs)
        normalise, rest = self._stages()
        brainmask = tf.constant(brainmask, tf.float32)
        with timed(timings, "normalise"):
            normalised, background = normalise(tf.constant(volumes, tf.float32), brainmask)
        with timed(timings, "predict"):
            return rest(normalised, background, brainmask).numpy()


def check_noise_samples(model, noise_samples: int) -> int:
    """``noise_samples`` (0: z = 0; K >= 1: the mean over K fixed draws of z), checked."""
    noise_samples = int(noise_samples)
    if noise_samples < 0:
        raise ConfigError(f"--noise-samples must be 0 or more, got {noise_samples}")
    if noise_samples and not noise_layers(model):
        raise ConfigError("--noise-samples needs a model with the Sketcher's noise input z "
                          "(cgan, sketcher_refiner, refiner_cfsagan); this one has none")
    return noise_samples


def _call_inference(model, batch):
    if isinstance(model, keras.layers.Layer):
        return model(batch, training=False)
    return model(batch)  # any callable on normalised patches


def _check_channels(volumes: np.ndarray, n_inputs: int) -> None:
    if volumes.ndim != 4 or volumes.shape[-1] != n_inputs:
        raise ConfigError(f"expected volumes of shape (D, H, W, {n_inputs}), got {volumes.shape}")
