"""Per-model training defaults from the thesis, and the options of one training run.

| models | loss | optimiser | epochs | source |
| --- | --- | --- | --- | --- |
| fcn, unet_small, mlp | MSE | SGD 5e-4, batch 1, early stopping q=5 p=3 | until the rule stops (cap 500) | sec. 2.2.3 |
| dnn2, unet | L1 (WL1/NWL1 with --loss) | Adam 1e-4, last weights | 400 | sec. 3.3.2 (baselines) |
| cgan | L1 | Adam 1e-4 | 400 | sec. 3.3.2 |
| cfsagan | L1, D x2 per G step, smoothed labels | Adam 1e-4 | 370 | sec. 4.3.1 |
| sketcher_refiner | Sketcher L1 (eq. 3.4), Refiner WL1 (eq. 3.5) | Adam 1e-4 / 5e-5 | 400 + 400 | sec. 3.3.1 |
| refiner_cfsagan | Sketcher L1, Refiner NWL1 (eq. 4.4), D x2, smoothed labels | Adam 1e-4 / 5e-5 | 370 + 370 | sec. 4.3.1 |

The thesis never states lambda_S and lambda_R (eq. 3.6): both default to 100, Isola et
al.'s value for the pix2pix objective it follows, which balances the adversarial loss
because the WL1 of ``msgan.losses`` is on the L1's scale (a uniform error e costs e in
both) and its NWL1 below it: 3 * sum_r f_r (1 - f_r) / 2 times the L1 for a uniform error
(1 for three regions of equal size, about two thirds on brain patches, whose regions
differ: ``normalized_weighted_l1``). Chapter 3 states neither the discriminator
update ratio nor label smoothing, so for its GANs both are options, off by default.

Named presets (``--preset``, a measured recipe) replace a model's thesis defaults; without
``--preset`` (or with ``--preset thesis``) the table above applies.
:data:`RECIPES` holds, per recipe, the ``make-tfrecords`` settings the shards must be
written with and the training settings; explicit options still override both.
"""
from __future__ import annotations

import dataclasses

from data_tools.contracts import LOSS_NAMES, PRECISIONS, look_up_option
from data_tools.contracts.training import DEFAULT_CONNECT_TIMEOUT, DEFAULT_LAMBDA  # noqa: F401
from data_tools.contracts.training import TrainOptions as TrainOptionsContract
from msgan.errors import ConfigError
from msgan.training.precision import current_settings

#: the thesis's optimisers (``--optimizer``), built by ``run.make_optimizer``
OPTIMIZER_NAMES = ("sgd", "adam")

# keep_best: end with the best validation epoch's weights (ch. 2's early stopping) or the
# last ones (ch. 3-4 train every method of a comparison for fixed epochs, GANs and
# supervised baselines alike). val_per_fold: validation subjects that cross-validation
# takes out of each fold's training subjects (ch. 3: none, sec. 3.3.1; ch. 4: 3, sec. 4.3.1).
_CH2 = dict(loss="mse", optimizer="sgd", lr=5e-4, batch=1, epochs=500, early_stopping=True,
            keep_best=True, val_per_fold=3)
_BASELINE = dict(loss="l1", optimizer="adam", lr=1e-4, batch=1, epochs=400, keep_best=False,
                 val_per_fold=0)
_CH3_GAN = dict(loss="l1", optimizer="adam", lr=1e-4, batch=1, epochs=400, d_steps=1,
                label_smoothing=False, keep_best=False, val_per_fold=0)
_CH4_GAN = dict(loss="l1", optimizer="adam", lr=1e-4, batch=1, epochs=370, d_steps=2,
                label_smoothing=True, keep_best=False, val_per_fold=3)

#: two-stage model -> the single GAN that is its Sketcher (what --refinements 0 trains)
SKETCHER_ALONE = {"sketcher_refiner": "cgan", "refiner_cfsagan": "cfsagan"}

#: model name -> defaults (anything not given on the command line comes from here)
PRESETS = {
    "fcn": _CH2, "unet_small": _CH2, "mlp": _CH2,
    "dnn2": _BASELINE, "unet": _BASELINE,
    "cgan": _CH3_GAN, "cfsagan": _CH4_GAN,
    "sketcher_refiner": {**_CH3_GAN, "refiner_loss": "wl1", "refiner_lr": 5e-5, "refinements": 1},
    "refiner_cfsagan": {**_CH4_GAN, "refiner_loss": "nwl1", "refiner_lr": 5e-5, "refinements": 1},
}


def default_val_per_fold(model: str) -> int:
    """Validation subjects per cross-validation fold for ``model``'s chapter (ch. 3: 0)."""
    return look_up_option(model, PRESETS, "model")["val_per_fold"]


#: named preset -> shard settings (build_shards keywords) and training settings (TrainOptions fields).
#: "real-flair": FLAIR from T1/T1POST/T2 on multi-scanner cohorts, measured in issue 19
#: (docs/real-flair.md; scripts/benchmark_real_flair.py).
RECIPES = {
    "thesis": {"shards": {}, "train": {}},
    "real-flair": {
        "shards": {"normalize": "subject-all", "layout": "patches", "patch": 32, "overlap": 0.5,
                   "min_brain": 0.25, "lesion_copies": 3},
        # a fixed budget of 600 steps (about 8 minutes of unet_small on 2 cores), whatever
        # the cohort's size: on the shared patients 600 steps beat 300 on SSIM and contrast
        "train": {"optimizer": "adam", "lr": 1e-3, "batch": 4, "epochs": 6, "steps_per_epoch": 100,
                  "loss": "mse", "early_stopping": False},
    },
}


def recipe_settings(name: str | None) -> dict:
    """``{"shards": ..., "train": ...}`` of a named preset (``None``: the thesis's)."""
    return look_up_option(name or "thesis", RECIPES, "preset")


class TrainOptions(TrainOptionsContract):
    """:class:`data_tools.contracts.TrainOptions` (the fields, what ``config.json`` stores),
    resolved here against the thesis's per-model presets."""

    def resolved(self, require_validation: bool = True) -> "TrainOptions":
        """A copy with every ``None`` replaced by the named preset's setting, else the model's
        preset (or a neutral default).

        ``require_validation=False`` skips the early-stopping check (cross-validation
        chooses the validation subjects per fold).
        """
        look_up_option(self.model, PRESETS, "model")
        preset = {"d_steps": 1, "label_smoothing": False, "early_stopping": False,
                  "refinements": 0, **PRESETS[self.model], **recipe_settings(self.preset)["train"]}
        preset.pop("val_per_fold")  # a cross-validation setting: default_val_per_fold
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for key, default in preset.items():
            if values.get(key) is None:
                values[key] = default
        if values["model"] in SKETCHER_ALONE and values["refinements"] == 0:
            # The Sketcher alone (sec. 3.3.3, Fig. 3.5, K = 0) is the zoo's single GAN of
            # the same family, trained with the two-stage model's Sketcher settings.
            values["model"] = SKETCHER_ALONE[values["model"]]
        if values["refinements"] < 0:
            raise ConfigError("--refinements must be 0 or more")
        if values["refiner_loss"] is None:
            values["refiner_loss"] = values["loss"]
        if values["refiner_lr"] is None:
            values["refiner_lr"] = values["lr"]
        for key in ("loss", "refiner_loss"):
            look_up_option(values[key], LOSS_NAMES, f"--{key.replace('_', '-')}")
        look_up_option(values["optimizer"], OPTIMIZER_NAMES, "--optimizer")
        precision, jit_compile = current_settings()
        values["precision"] = values["precision"] or precision
        values["jit_compile"] = jit_compile if values["jit_compile"] is None else bool(values["jit_compile"])
        look_up_option(values["precision"], PRECISIONS, "--precision")
        if require_validation and values["early_stopping"] and not values["val_subjects"]:
            raise ConfigError("early stopping (sec. 2.2.3) needs --val-subjects; "
                              "or pass --no-early-stopping")
        for key in ("lambda_sketcher", "lambda_refiner"):
            if not values[key] >= 0:
                raise ConfigError(f"--{key.replace('_', '-')} must be 0 or more, got {values[key]}")
        values["contrast_augment"] = float(values["contrast_augment"] or 0.0)
        if not 0 <= values["contrast_augment"] <= 1:
            raise ConfigError(f"--contrast-augment must be between 0 and 1, got {values['contrast_augment']}")
        for key in ("epochs", "batch"):
            if values[key] < 1:
                raise ConfigError(f"--{key} must be at least 1")
        return TrainOptions(**values)
