"""Sketcher -> Refiner(s) training (sec. 3.2.1, 3.3.1, 4.2.3, 4.3.1; Fig. 3.5).

Stage 0 trains the Sketcher GAN alone (L1, eq. 3.4). Stage k >= 1 trains Refiner k from
scratch with every earlier stage frozen: its generator sees the MRI stacked with the
previous stage's output, its discriminator is conditioned on the MRI only, and its
reconstruction loss is WL1 (eq. 3.5) or NWL1 (eq. 4.4). Each stage has its own
checkpoint folder ``checkpoints/stage-k`` and history rows ``stage = stage-k``, so a
killed run resumes inside the stage it was in and skips the finished ones.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import tensorflow as tf

from msgan.errors import ConfigError
from msgan.layers.noise import sampled_noise
from msgan.training.checkpoints import TrainingState
from msgan.training.loop import DatasetFn, FitOptions, fit
from msgan.training.records import Records
from msgan.training.steps import AdversarialStep, LossFn
from msgan.training.traced_folds import TracedFolds


def chained_input_fn(previous_generators: list) -> Callable[..., tf.Tensor]:
    """Generator input of the next stage: the MRI stacked with the frozen chain's output.

    The frozen chain runs in inference mode (batch norm on its moving statistics), but in
    training the Sketcher's z is sampled, as eq. 3.3 trains the Refiner on
    I_s ~ G_S(I_M, z); for validation and prediction z stays fixed (sec. 4.2.5 needs the
    same input to give the same output).
    """

    def stage_input(batch, training=False):
        mri = batch["inputs"]
        output = None
        for index, generator in enumerate(previous_generators):
            given = mri if index == 0 else tf.concat([mri, output], axis=-1)
            noise = sampled_noise(generator) if training else contextlib.nullcontext()
            with noise:
                output = tf.stop_gradient(generator(given, training=False))
        return mri if output is None else tf.concat([mri, output], axis=-1)

    return stage_input


def stage_gans(model, refinements: int) -> list:
    """``[sketcher, refiner_1, ..., refiner_K]`` of a two-stage model (contract attributes)."""
    refiners = list(getattr(model, "refiners", []))
    if refinements > len(refiners):
        raise ConfigError(f"--refinements {refinements} but the model has {len(refiners)} refiner(s)")
    return [model.sketcher] + refiners[:refinements]


@dataclass
class GanStageOptions:
    """How one GAN stage trains (defaults for the CF-SAGANs: d_steps=2, smoothing)."""

    recon_loss: LossFn
    fit: FitOptions
    learning_rate: float = 1e-4
    lam: float = 100.0
    d_steps: int = 1
    label_smoothing: bool = False
    jit_compile: bool = False


def train_stages(strategy, gans: list, stage_options: list[GanStageOptions],
                 make_optimizer: Callable[[float], object], train_data: DatasetFn,
                 run_dir: str | Path, val_data: DatasetFn | None = None, seed: int = 0,
                 resume: bool = True, records: bool = True, chief: bool = True,
                 on_step=None, adversarial=None, traced: TracedFolds | None = None) -> list[dict]:
    """Train ``gans`` (objects with ``.generator``/``.discriminator``) one after the other.

    ``make_optimizer(lr)`` is called inside ``strategy.scope()``; ``adversarial`` is passed
    to :class:`AdversarialStep` (``msgan.losses`` if None). Returns one fit summary per
    stage. Stages whose checkpoint says they are complete are restored, not retrained.
    ``traced``: each stage's step object of an earlier fold of the same cross-validation.
    """
    run_dir = Path(run_dir)
    summaries = []
    for index, (gan, options) in enumerate(zip(gans, stage_options)):
        name = f"stage-{index}"

        def make_step(gan=gan, options=options, index=index):
            with strategy.scope():
                g_opt, d_opt = make_optimizer(options.learning_rate), make_optimizer(options.learning_rate)
            previous = [g.generator for g in gans[:index]]
            return AdversarialStep(strategy, gan.generator, gan.discriminator, g_opt, d_opt,
                                   options.recon_loss, lam=options.lam, d_steps=options.d_steps,
                                   label_smoothing=options.label_smoothing,
                                   generator_input_fn=chained_input_fn(previous), seed=seed + index,
                                   adversarial=adversarial, jit_compile=options.jit_compile)

        step = traced.step(name, make_step) if traced is not None else make_step()
        state = TrainingState(step, run_dir / "checkpoints" / name, seed=seed + index, chief=chief)
        if resume:
            state.restore_latest()
        summary = fit(step, train_data, state, options.fit, val_data=val_data,
                      records=Records(run_dir, name, enabled=records and chief), on_step=on_step)
        summaries.append({"stage": name, **summary})
    return summaries
