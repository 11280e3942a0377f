"""Build any network of the thesis by name: ``build(name, n_inputs, **hyperparameters)``."""
from __future__ import annotations

import importlib
from typing import NamedTuple

from data_tools.contracts import look_up_option
from msgan.errors import ConfigError

class ModelEntry(NamedTuple):
    """One row of :data:`MODELS`. ``kind``: "supervised" (trained on one loss), "gan"
    (.generator/.discriminator), "two_stage_gan" (.sketcher/.refiners) or "discriminator"
    (a bare patch discriminator, called on [mri, target]). ``cls``: "module:Class" of
    ``msgan.models``, imported when built (importing ``msgan.models`` stays light).
    ``family``: the GAN family of a GAN or of a GAN-family discriminator."""

    kind: str
    description: str
    cls: str
    family: str | None = None


#: name -> how the model is trained, what it is and how it is built
MODELS = {
    "fcn": ModelEntry("supervised", "3D FCN, L convs of F filters (ch. 2, sec. 2.2.1)", "fcn:FCN"),
    "unet_small": ModelEntry("supervised", "small U-Net baseline, 16-32-64 (sec. 2.2.3)", "baselines:SmallUNet"),
    "dnn2": ModelEntry("supervised", "2-layer 7x7x7 DNN of Li 2014 (sec. 3.3.2)", "baselines:TwoLayerDNN"),
    "mlp": ModelEntry("supervised", "voxel-wise MLP, 2 x 100 units (sec. 2.2.3)", "baselines:VoxelMLP"),
    "unet": ModelEntry("supervised", "3D U-Net generator, 32 features, 3 levels (sec. 3.2.4)", "unet:UNet"),
    "cfsagan_generator": ModelEntry("supervised", "CF-SAGAN generator alone (sec. 4.2.6)",
                                    "cfsagan:CFSAGANGenerator"),
    "patch_discriminator": ModelEntry("discriminator", "3D patch discriminator (sec. 3.2.4)",
                                      "discriminator:PatchDiscriminator"),
    "cfsagan_discriminator": ModelEntry("discriminator", "CF-SAGAN patch discriminator (sec. 4.2.6)",
                                        "discriminator:PatchDiscriminator", "cfsagan"),
    "cgan": ModelEntry("gan", "conditional GAN: U-Net + patch D, the Sketcher (sec. 3.3.2)",
                       "gan:ConditionalGAN", "unet"),
    "cfsagan": ModelEntry("gan", "CF-SAGAN (sec. 4.2.2)", "gan:ConditionalGAN", "cfsagan"),
    "sketcher_refiner": ModelEntry("two_stage_gan", "Sketcher-Refiner GANs (sec. 3.2.1)", "gan:TwoStageGAN", "unet"),
    "refiner_cfsagan": ModelEntry("two_stage_gan", "Sketcher-Refiner CF-SAGANs (sec. 4.2.3)",
                                  "gan:TwoStageGAN", "cfsagan"),
}
MODEL_NAMES = tuple(MODELS)
#: model -> the hyperparameter that sets its width (filters, base filters or units) and the
#: class's default (FCN F = 64, sec. 2.2.1; U-Net 32 features, sec. 3.2.4; MLP 2 x 100 units)
WIDTHS = {"fcn": ("filters", 64), "dnn2": ("filters", 64), "mlp": ("units", 100), "unet_small": ("base_filters", 16),
          "unet": ("base_filters", 32), "cfsagan_generator": ("base_filters", 16),
          "patch_discriminator": ("base_filters", 32), "cfsagan_discriminator": ("base_filters", 32)}
#: a GAN family -> its generator and its discriminator, as models of :data:`MODELS`
GAN_PARTS = {"unet": ("unet", "patch_discriminator"), "cfsagan": ("cfsagan_generator", "cfsagan_discriminator")}


def model_kind(name: str) -> str:
    """"supervised", "gan", "two_stage_gan" or "discriminator"."""
    _check_name(name)
    return MODELS[name][0]


def _check_name(name):
    look_up_option(name, MODEL_NAMES, "model")


def width_kwargs(name: str, kwargs: dict, width: int | None = None, scale: float = 1.0) -> dict:
    """``kwargs`` (model ``name``'s hyperparameters) making the network ``width`` filters (units)
    wide, or ``scale`` times the width they give (else the default of :data:`WIDTHS`), rounded,
    at least 1; a GAN's generator and discriminator alike (every stage of a two-stage GAN).
    No ``width`` and a ``scale`` of 1: ``kwargs`` as given."""
    _check_name(name)
    if width is None and scale == 1:
        return dict(kwargs)
    entry = MODELS[name]
    if entry.kind in ("gan", "two_stage_gan"):
        parts = zip(("generator_kwargs", "discriminator_kwargs"), GAN_PARTS[entry.family])
        return {**kwargs, **{key: width_kwargs(part, kwargs.get(key, {}), width, scale) for key, part in parts}}
    key, default = WIDTHS[name]
    return {**kwargs, key: width if width is not None else max(1, round(kwargs.get(key, default) * scale))}


def build(name: str, n_inputs: int, **hyperparameters):
    """Build model ``name`` for ``n_inputs`` input channels, with its weights created.

    Hyperparameters go to the model class (e.g. ``filters`` for ``fcn``, ``base_filters``
    for the U-Nets); GAN models take ``generator_kwargs``, ``discriminator_kwargs``,
    ``label_smoothing`` and, two-stage ones, ``refinements``. Discriminators are built for
    ``n_inputs`` conditioning channels plus one target channel.
    """
    _check_name(name)
    n_inputs = int(n_inputs)
    if n_inputs < 1:
        raise ConfigError(f"n_inputs must be at least 1, got {n_inputs}")
    try:
        model = _construct(name, n_inputs, hyperparameters)
    except (TypeError, ValueError) as exc:  # unknown or impossible hyperparameters
        raise ConfigError(f"model {name!r}: {exc}") from exc
    if model_kind(name) == "discriminator":
        model.build([(None, None, None, None, n_inputs), (None, None, None, None, 1)])
    else:
        model.build((None, None, None, None, n_inputs))
    return model


def _construct(name, n_inputs, kw):
    from msgan.models import gan

    entry = MODELS[name]
    family = entry.family
    module, class_name = entry.cls.split(":")
    cls = getattr(importlib.import_module(f"msgan.models.{module}"), class_name)
    kind = entry.kind
    if kind == "discriminator":
        return cls(**{**(gan.FAMILIES[family][1] if family else {}), **kw})
    if kind == "gan":  # a Sketcher: its generator appends the noise channel z
        generator_kwargs = {"noise": True, **kw.pop("generator_kwargs", {})}
        return cls(family=family, generator_kwargs=generator_kwargs, **kw)
    if kind == "two_stage_gan":
        return cls(family=family, n_inputs=n_inputs, **kw)
    return cls(**kw)


def model_table(n_inputs: int) -> list[dict]:
    """One row per model name: name, kind, parameter count at default widths, description."""
    from tqdm import tqdm

    rows = []
    for name in tqdm(MODEL_NAMES, desc="building models", leave=False):
        kind, description = MODELS[name].kind, MODELS[name].description
        rows.append({"name": name, "kind": kind, "description": description,
                     "parameters": build(name, n_inputs).count_params()})
    return rows


def count_parameters(model) -> int:
    """All weights (trainable and not: batch-norm statistics included), as Keras counts them."""
    return int(model.count_params())
