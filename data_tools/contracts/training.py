"""The options of one training run (``msgan train``), as a type: what ``config.json`` stores
(:attr:`data_tools.contracts.RunConfig.options`) and what ``msgan.training`` resolves
against the thesis's per-model presets (``msgan.training.presets.TrainOptions.resolved``)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

DEFAULT_LAMBDA = 100.0
#: Seconds a worker waits for the others, at start and in each collective step
#: (``--connect-timeout``): long enough for staggered job starts and per-epoch validation.
DEFAULT_CONNECT_TIMEOUT = 300.0


class Stage(NamedTuple):
    """One training stage: the Sketcher (or the only network), or the k-th Refiner."""

    name: str
    loss: str
    lr: float | None
    lam: float  # eq. 3.6: lambda_S for the Sketcher, lambda_R for each Refiner


@dataclass
class TrainOptions:
    """Everything one ``msgan train`` needs; ``None`` fields take the model's preset."""

    model: str
    data: str
    run: str
    val_subjects: list[str] = field(default_factory=list)
    exclude_subjects: list[str] = field(default_factory=list)
    train_subjects: list[str] | None = None  # None: every subject not validating/excluded
    epochs: int | None = None
    steps_per_epoch: int | None = None
    batch: int | None = None
    loss: str | None = None
    refiner_loss: str | None = None
    lambda_sketcher: float = DEFAULT_LAMBDA  # eq. 3.6, lambda_S (also a single GAN's)
    lambda_refiner: float = DEFAULT_LAMBDA  # eq. 3.6, lambda_R of every Refiner
    lr: float | None = None
    refiner_lr: float | None = None
    optimizer: str | None = None
    d_steps: int | None = None
    label_smoothing: bool | None = None
    early_stopping: bool | None = None
    keep_best: bool | None = None  # None: the preset's (best-validation weights for ch. 2 models)
    strip_length: int = 5
    strips: int = 3
    refinements: int | None = None
    checkpoint_every: int = 500
    seed: int = 0
    model_kwargs: dict = field(default_factory=dict)
    resume: bool = False
    overwrite: bool = False
    progress: bool = True
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    preset: str | None = None  # a RECIPES name; None: the thesis's per-model defaults (PRESETS)
    init_weights: str | None = None  # a finished run (same model, inputs) whose weights start this one
    precision: str | None = None  # PRECISIONS; None: precision.current_settings() (float32)
    jit_compile: bool | None = None  # XLA-compile each step; None: precision.current_settings()
    contrast_augment: float | None = None  # strength s of msgan.training.augment; None: the preset's (0: off)

    def stages(self) -> list[Stage]:
        """The per-stage settings: the Sketcher (or the only network: loss, lr, lambda_S),
        then each of the ``refinements`` Refiners (refiner_loss, refiner_lr, lambda_R; the
        Sketcher's loss and rate where those are unset, as in a run written before them)."""
        refiner = (self.refiner_loss or self.loss, self.refiner_lr if self.refiner_lr is not None else self.lr)
        return ([Stage("sketcher", self.loss, self.lr, self.lambda_sketcher)]
                + [Stage(f"refiner-{k}", *refiner, self.lambda_refiner) for k in range(1, int(self.refinements or 0) + 1)])
