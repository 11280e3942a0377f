"""The whole-volume prediction graph: raw volumes in, prediction in the target's units out.

:class:`VolumePredictor` holds a model (a Keras model or any callable on normalised
``(B, d, h, w, C)`` patches), the normalisation of the run and a
:class:`~msgan.inference.sliding_window.WindowPlan`. Its :meth:`VolumePredictor.graph`
is plain TensorFlow: ``msgan predict`` runs it as a ``tf.function`` and ``msgan export``
saves the very same function as the SavedModel's ``predict_volume`` signature.

Steps, all inside the graph: z-score each input channel (stored statistics, or the image's
own brain statistics for scopes ``subject``/``subject-all``, in float64 as ``data_tools.normalize`` does),
the sliding window, de-normalisation with the target's statistics, zero outside the brain.
"""
from __future__ import annotations

from typing import Callable, Sequence

import keras
import numpy as np
import tensorflow as tf

from data_tools.errors import ConfigError
from msgan.inference.sliding_window import WindowPlan, sliding_window_predict


class VolumePredictor:
    """Predict the ``target`` image of a session from its raw ``inputs`` volumes."""

    def __init__(self, model: Callable, inputs: Sequence[str], target: str, normalizer,
                 plan: WindowPlan):
        self.model = model
        self.inputs = list(inputs)
        self.target = target
        self.plan = plan
        self.normalization = normalizer.to_dict() if hasattr(normalizer, "to_dict") else dict(normalizer)
        stats = self.normalization["stats"]
        if target not in stats:
            raise ConfigError(f"the normalisation has no statistics for the target {target}; "
                              "its prediction cannot be converted back to its units")
        scope = self.normalization.get("scope")
        self.per_image = [scope == "subject-all" or (scope == "subject" and name not in stats)
                          for name in self.inputs]
        missing = [n for n, own in zip(self.inputs, self.per_image) if not own and n not in stats]
        if missing:
            raise ConfigError(f"the normalisation has no statistics for input(s) {', '.join(missing)}")
        self.input_mean = [0.0 if own else float(stats[n]["mean"]) for n, own in zip(self.inputs, self.per_image)]
        self.input_std = [1.0 if own else float(stats[n]["std"]) for n, own in zip(self.inputs, self.per_image)]
        self.target_mean = float(stats[target]["mean"])
        self.target_std = float(stats[target]["std"])
        self._compiled = {}

    @property
    def n_inputs(self) -> int:
        return len(self.inputs)

    def input_signature(self) -> list[tf.TensorSpec]:
        return [tf.TensorSpec((None, None, None, self.n_inputs), tf.float32, name="volumes"),
                tf.TensorSpec((None, None, None), tf.float32, name="brainmask")]

    def _normalise(self, volumes, brain):
        """z-scored float32 channels and each channel's normalised background (raw 0)."""
        x = tf.cast(volumes, tf.float64)
        inside = brain > 0.5
        channels, background = [], []
        for c, own in enumerate(self.per_image):
            channel = x[..., c]
            if own:  # per-image scopes: the image's own brain statistics, as Normalizer.apply
                values = tf.boolean_mask(channel, inside)
                mean = tf.reduce_mean(values)
                std = tf.math.reduce_std(values)
            else:
                mean = tf.constant(self.input_mean[c], tf.float64)
                std = tf.constant(self.input_std[c], tf.float64)
            channels.append(tf.cast((channel - mean) / std, tf.float32))
            background.append(tf.cast(-mean / std, tf.float32))
        return tf.stack(channels, axis=-1), tf.stack(background)

    def graph(self, volumes, brainmask, stochastic: bool = False):
        """The prediction ``(D, H, W)`` in target units, 0 outside ``brainmask``.

        ``stochastic=True`` calls the model in training mode (used for MC dropout, with
        batch normalisation frozen by :func:`msgan.inference.uncertainty.mc_dropout`).
        """
        volumes = tf.convert_to_tensor(volumes, tf.float32)
        brainmask = tf.convert_to_tensor(brainmask, tf.float32)
        normalised, background = self._normalise(volumes, brainmask)
        if stochastic:
            def predict_fn(batch):
                return self.model(batch, training=True)
        else:
            def predict_fn(batch):
                return _call_inference(self.model, batch)
        prediction = sliding_window_predict(normalised, predict_fn, self.plan, background)
        prediction = tf.cast(prediction, tf.float64) * self.target_std + self.target_mean
        return tf.cast(prediction, tf.float32) * tf.cast(brainmask > 0.5, tf.float32)

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

    def predict(self, volumes: np.ndarray, brainmask: np.ndarray) -> np.ndarray:
        """numpy ``(D, H, W, C)`` raw volumes + ``(D, H, W)`` brain mask -> float32 prediction."""
        _check_channels(volumes, self.n_inputs)
        return self.compiled(False)(volumes.astype(np.float32),
                                    brainmask.astype(np.float32)).numpy()


def _call_inference(model, batch):
    if isinstance(model, keras.layers.Layer):
        return model(batch, training=False)
    return model(batch)  # any callable on normalised patches


def _check_channels(volumes: np.ndarray, n_inputs: int) -> None:
    if volumes.ndim != 4 or volumes.shape[-1] != n_inputs:
        raise ConfigError(f"expected volumes of shape (D, H, W, {n_inputs}), got {volumes.shape}")
