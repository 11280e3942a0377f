"""Chapter 2's design (sec. 2.2.3-2.3): the inputs, the configurations every table and
figure needs, and the sizes of a full and a ``--check`` reproduction."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from data_tools.contracts import TASKS
from msgan.classic.cohort import CLASSIC_MODELS
from msgan.experiments.protocol import CohortDesign, Config
from msgan.models.registry import width_kwargs

INPUTS = TASKS["flair"].thesis_inputs
TARGET = TASKS["flair"].target
REFERENCE = "fcn-64"


def _without(name: str) -> tuple[str, ...]:
    return tuple(i for i in INPUTS if i != name)


def _configs() -> tuple[Config, ...]:
    fcn = [Config(f"fcn-{f}", "fcn", "mse", label=f"F1 = F2 = F3 = {f}", model_kwargs={"filters": f})
           for f in (32, 64, 96)]
    fcn += [Config(f"fcn-L{n}", "fcn", "mse", label=f"L = {n}", model_kwargs={"filters": 64, "n_layers": n})
            for n in (2, 4, 6)]
    others = [Config("unet_small", "unet_small", "mse", label="U-Net"),
              Config("mlp", "mlp", "mse", label="Multilayer Perceptron"),
              Config("random_forest", "random_forest", label="Random Forest 60"),
              Config("modality_propagation", "modality_propagation", label="Modality Propagation")]
    removed = [Config(f"fcn-no-{i}", "fcn", "mse", label=i, inputs=_without(i), model_kwargs={"filters": 64})
               for i in INPUTS]
    no_dir = [Config(f"{m}-no-DIR", m, "mse", label=label, inputs=_without("DIR"))
              for m, label in (("random_forest", "Random Forest 60"), ("mlp", "Multilayer Perceptron"),
                               ("unet_small", "U-Net"))]
    combos = [Config("fcn-" + c.replace("+", "-"), "fcn", "mse", label=c, inputs=tuple(c.split("+")),
                     model_kwargs={"filters": 64}) for c in COMBINATIONS]
    return tuple(fcn + others + removed + no_dir + combos)


#: Table 2.4 (c) and Fig. 2.7: the input combinations of sec. 2.3.3
COMBINATIONS = ("T1+DIR", "T2+DIR", "T1+T2", "T1+T2+DIR", "T1+T2+PD")
CONFIGS = _configs()
WIDTHS = {32: "fcn-32", 64: "fcn-64", 96: "fcn-96"}
DEPTHS = {2: "fcn-L2", 3: "fcn-64", 4: "fcn-L4", 6: "fcn-L6"}
#: Tables 2.2-2.3, in the thesis's column order
COMPARED = {"Random Forest 60": "random_forest", "Modality Propagation": "modality_propagation",
            "Multilayer Perceptron": "mlp", "U-Net": "unet_small", "Our Method": REFERENCE}
REMOVED = {i: f"fcn-no-{i}" for i in INPUTS}
NO_DIR = {"Random Forest 60": "random_forest-no-DIR", "Multilayer Perceptron": "mlp-no-DIR",
          "U-Net": "unet_small-no-DIR", "Our Method": "fcn-no-DIR"}
COMBINED = {c: "fcn-" + c.replace("+", "-") for c in COMBINATIONS}


@dataclass
class Chapter2Settings:
    """Sizes of one reproduction; the defaults are the thesis's (sec. 2.2.3)."""

    design: CohortDesign = field(default_factory=lambda: CohortDesign(n_ms=20, n_hc=4, resolution=1.22,
                                                                      sessions=("t0",)))
    folds: int = 5
    train: dict = field(default_factory=dict)  # TrainOptions fields; {} = the thesis's presets
    width_scale: float = 1.0  # x every network's width (FCN filters, U-Net base filters, MLP units)
    classic: dict = field(default_factory=dict)  # classic method -> its hyperparameters (sizes)
    seed: int = 0

    def configs(self) -> tuple[Config, ...]:
        return tuple(replace(c, model_kwargs=self.model_kwargs(c)) for c in CONFIGS)

    def model_kwargs(self, config: Config) -> dict:
        if config.model in CLASSIC_MODELS:
            return {**config.model_kwargs, **self.classic.get(config.model, {})}
        return width_kwargs(config.model, config.model_kwargs, scale=self.width_scale)


#: --check: 8 MS + 2 HC at 6 mm, networks 1/16 as wide, two epochs, 6 trees fitted on at
#: most 5000 voxels: every step of the protocol runs (learning curves have two points),
#: its numbers mean nothing.
CHECK = Chapter2Settings(design=CohortDesign(n_ms=8, n_hc=2, resolution=6.0, sessions=("t0",)),
                         train={"epochs": 2}, width_scale=1 / 16,
                         classic={"random_forest": {"n_trees": 6, "max_train_voxels": 5000},
                                  "modality_propagation": {"max_train_voxels": 5000}})
