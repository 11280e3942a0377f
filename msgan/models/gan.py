"""Composite GANs: a conditional GAN (generator + patch discriminator) and the two-stage
Sketcher-Refiner wiring of sec. 3.2.1 / 4.2.3."""
from __future__ import annotations

import math

import keras
from keras import ops

from msgan.models.base import VolumeModel
from msgan.models.cfsagan import CFSAGANGenerator
from msgan.models.discriminator import PatchDiscriminator
from msgan.models.unet import UNet

#: family -> (generator class, discriminator defaults, label smoothing by default)
FAMILIES = {
    "unet": (UNet, {}, False),  # ch. 3: label smoothing is stated for ch. 4 only
    "cfsagan": (CFSAGANGenerator, {"residual": True, "attention_level": 1}, True),
}


@keras.saving.register_keras_serializable(package="msgan")
class ConditionalGAN(VolumeModel):
    """A conditional GAN (eq. 3.1): ``.generator`` maps its input to the target,
    ``.discriminator([conditioning_mri, target_or_fake])`` returns per-patch probabilities.

    ``model(x)`` is ``generator(x)``. ``condition_channels`` is the number of leading input
    channels that are the conditioning MRI (all of them for a Sketcher; a Refiner's
    generator also receives the previous stage's output, but its discriminator is
    conditioned on the MRI only, D_R(I_M, .) of eq. 3.3). ``label_smoothing`` tells the
    training engine whether to smooth the discriminator labels (sec. 4.3.1).
    """

    def __init__(self, family="unet", condition_channels=None, generator_kwargs=None,
                 discriminator_kwargs=None, label_smoothing=None, **kwargs):
        super().__init__(**kwargs)
        if family not in FAMILIES:
            raise ValueError(f"unknown GAN family {family!r}: {sorted(FAMILIES)}")
        generator_class, discriminator_defaults, smoothing_default = FAMILIES[family]
        self.family = family
        self.condition_channels = None if condition_channels is None else int(condition_channels)
        self.generator_kwargs = dict(generator_kwargs or {})
        self.discriminator_kwargs = {**discriminator_defaults, **(discriminator_kwargs or {})}
        self.label_smoothing = (smoothing_default if label_smoothing is None
                                else bool(label_smoothing))
        self.generator = generator_class(**self.generator_kwargs, name="generator")
        self.discriminator = PatchDiscriminator(**self.discriminator_kwargs, name="discriminator")

    @property
    def min_size(self):
        return math.lcm(self.generator.min_size, self.discriminator.min_size)

    def conditioning(self, x):
        """The conditioning MRI: the first ``condition_channels`` channels of the input."""
        return x if self.condition_channels is None else x[..., :self.condition_channels]

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        condition = input_shape[-1] if self.condition_channels is None else self.condition_channels
        self.generator.build(input_shape)
        self.discriminator.build([input_shape[:-1] + (condition,), input_shape[:-1] + (1,)])

    def call(self, x, training=None):
        return self.generator(x, training=training)

    def get_config(self):
        return {**super().get_config(), "family": self.family,
                "condition_channels": self.condition_channels,
                "generator_kwargs": self.generator_kwargs,
                "discriminator_kwargs": self.discriminator_kwargs,
                "label_smoothing": self.label_smoothing}


@keras.saving.register_keras_serializable(package="msgan")
class TwoStageGAN(VolumeModel):
    """Sketcher-Refiner GANs (sec. 3.2.1, eqs. 3.2-3.3; with CF-SAGANs, sec. 4.2.3).

    ``.sketcher`` is a :class:`ConditionalGAN` on the MRI (with noise z, sec. 3.3.1);
    ``.refiners`` holds ``refinements`` more, each one's generator taking the MRI stacked
    with the previous stage's output (no noise) and its discriminator conditioned on the
    MRI only. ``model(x)`` runs the whole chain and returns the last refiner's output.
    """

    def __init__(self, family="unet", n_inputs=None, refinements=1, generator_kwargs=None,
                 discriminator_kwargs=None, label_smoothing=None, **kwargs):
        super().__init__(**kwargs)
        if n_inputs is None:
            raise ValueError("TwoStageGAN needs n_inputs (the number of MRI channels)")
        self.family = family
        self.n_inputs = int(n_inputs)
        self.refinements = int(refinements)
        if self.refinements < 1:
            raise ValueError("refinements must be at least 1")
        self.generator_kwargs = dict(generator_kwargs or {})
        self.discriminator_kwargs = dict(discriminator_kwargs or {})
        self.label_smoothing = label_smoothing
        common = dict(family=family, discriminator_kwargs=self.discriminator_kwargs,
                      label_smoothing=label_smoothing)
        self.sketcher = ConditionalGAN(
            generator_kwargs={"noise": True, **self.generator_kwargs}, name="sketcher", **common)
        self.refiners = [ConditionalGAN(condition_channels=self.n_inputs,
                                        generator_kwargs={**self.generator_kwargs, "noise": False},
                                        name=f"refiner{k + 1}", **common)
                         for k in range(self.refinements)]
        self.label_smoothing = self.sketcher.label_smoothing

    @property
    def min_size(self):
        return math.lcm(*(stage.min_size for stage in self.stages))

    @property
    def stages(self):
        return [self.sketcher, *self.refiners]

    def build(self, input_shape):
        mri_shape = tuple(input_shape)
        self.sketcher.build(mri_shape)
        for refiner in self.refiners:
            refiner.build(mri_shape[:-1] + (mri_shape[-1] + 1,))

    def call(self, x, training=None):
        y = self.sketcher(x, training=training)
        for refiner in self.refiners:
            y = refiner(ops.concatenate([x, y], axis=-1), training=training)
        return y

    def get_config(self):
        return {**super().get_config(), "family": self.family, "n_inputs": self.n_inputs,
                "refinements": self.refinements, "generator_kwargs": self.generator_kwargs,
                "discriminator_kwargs": self.discriminator_kwargs,
                "label_smoothing": self.label_smoothing}
