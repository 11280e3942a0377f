"""--precision and --jit-compile: each setting trains a few steps of a tiny network and
predicts within a stated tolerance of float32 (CPU; mixed_float16 runs XLA-compiled here,
TensorFlow's CPU kernels lack float16 3-D pooling)."""
from __future__ import annotations

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from data_tools.contracts import PRECISIONS
from msgan.errors import ConfigError
from msgan.inference.pipeline import VolumePredictor
from msgan.inference.sliding_window import WindowPlan
from msgan.models.precision import model_precision
from msgan.training import zoo
from msgan.training.precision import check_precision, compute_settings
from msgan.training.presets import TrainOptions
from msgan.training.run import make_optimizer
from msgan.training.steps import AdversarialStep, SupervisedStep

#: largest |prediction - float32 prediction| / max |float32 prediction| after 3 steps:
#: bfloat16 keeps 8 significant bits (2^-8 = 0.4 % a rounding), float16 11; layers and steps
#: add up (measured: 2.5 % and 2.2 % on this network)
TOLERANCE = {"float32": 1e-4, "mixed_bfloat16": 0.05, "mixed_float16": 0.05}
#: XLA where the CPU needs it (float16; XLA compiles slowly on a CPU)
JIT = {"float32": False, "mixed_bfloat16": False, "mixed_float16": True}


def _batch(shape=(8, 8, 8)):
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(2, *shape, 2)).astype(np.float32)
    target = (inputs[..., :1] * 0.5 + inputs[..., 1:] ** 2 * 0.2).astype(np.float32)
    return {"inputs": tf.constant(inputs), "target": tf.constant(target)}


def _mse(batch, prediction):
    return tf.reduce_mean(tf.square(prediction - batch["target"]), axis=[1, 2, 3, 4])


def _trained(precision, jit_compile, steps=3):
    keras.utils.set_random_seed(0)
    model = zoo.build_model("unet_small", 2, {"base_filters": 4}, precision)
    optimizer = make_optimizer("adam", 1e-3, precision)
    step = SupervisedStep(tf.distribute.get_strategy(), model, optimizer, _mse, jit_compile=jit_compile)
    # 16^3, not 8^3: the bottleneck must be larger than the 3^3 kernel. On 2^3, TensorFlow
    # 2.21's oneDNN bfloat16 Conv3D filter gradient returns garbage (inf, 1e31) on CPUs with
    # AVX512-BF16, whatever msgan does (docs/performance.md)
    batch = _batch((16, 16, 16))
    losses = [float(step.train(batch, k)["loss"]) for k in range(steps)]
    return model, optimizer, losses


@pytest.mark.parametrize("precision", [pytest.param(p, marks=pytest.mark.slow) if p == "mixed_float16" else p
                                       for p in PRECISIONS])  # float16: XLA compiles for ~25 s on 2 cores
def test_each_precision_trains_and_predicts_within_tolerance_of_float32(precision):
    reference, _, reference_losses = _trained("float32", False)
    model, optimizer, losses = _trained(precision, JIT[precision])
    assert model_precision(model) == precision
    assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer) == (precision == "mixed_float16")
    assert all(np.isfinite(losses)) and losses[-1] < losses[0]
    assert all(v.dtype == "float32" for v in model.weights)
    x = _batch()["inputs"]
    ours = tf.function(lambda v: model(v, training=False), jit_compile=JIT[precision])(x)
    theirs = reference(x, training=False).numpy()
    assert ours.dtype == tf.float32  # the output head computes in float32
    assert np.abs(ours.numpy() - theirs).max() <= TOLERANCE[precision] * np.abs(theirs).max()
    # and the sliding window over a volume (brain skipping, de-normalisation) agrees as well
    normalization = {"scope": "global", "region": "all", "stats": {
        "T1": {"mean": 0.0, "std": 1.0}, "T2": {"mean": 0.0, "std": 1.0}, "FLAIR": {"mean": 0.0, "std": 1.0}}}
    plan = WindowPlan(mode="gaussian", window=(8, 8, 8), overlap=0.25, batch_size=2)
    volume = np.random.default_rng(1).normal(size=(12, 10, 9, 2)).astype(np.float32)
    brain = np.ones((12, 10, 9), np.float32)
    ours = VolumePredictor(model, ["T1", "T2"], "FLAIR", normalization, plan, jit_compile=JIT[precision])
    theirs = VolumePredictor(reference, ["T1", "T2"], "FLAIR", normalization, plan).predict(volume, brain)
    assert np.abs(ours.predict(volume, brain) - theirs).max() <= TOLERANCE[precision] * np.abs(theirs).max()


def test_gan_steps_train_in_bfloat16_with_float32_discriminator_output():
    """(float16 GAN steps take the same ``scale_loss`` path; XLA-compiling a GAN on a CPU
    takes a minute, so only the supervised step is trained in float16 here.)"""
    precision = "mixed_bfloat16"
    keras.utils.set_random_seed(0)
    small = {"generator_kwargs": {"base_filters": 2, "levels": 1}, "discriminator_kwargs": {"base_filters": 2}}
    gan = zoo.build_model("cgan", 2, small, precision)
    g_opt, d_opt = make_optimizer("adam", 1e-3, precision), make_optimizer("adam", 1e-3, precision)
    step = AdversarialStep(tf.distribute.get_strategy(), gan.generator, gan.discriminator, g_opt, d_opt,
                           _mse, d_steps=1, jit_compile=JIT[precision])
    batch = _batch((32, 32, 32))
    result = [step.train(batch, k) for k in range(2)][-1]
    assert all(np.isfinite(float(v)) for v in result.values())
    assert model_precision(gan.generator) == precision
    assert gan.discriminator([batch["inputs"], batch["target"]]).dtype == tf.float32


def test_the_run_config_records_the_settings_and_float16_on_a_cpu_needs_xla(tiny_cohort, tiny_shards, tmp_path):
    from msgan.cli import main

    with compute_settings("mixed_bfloat16", jit_compile=False):  # msgan reproduce's block
        options = TrainOptions("fcn", str(tiny_shards), str(tmp_path / "r")).resolved(require_validation=False)
    assert (options.precision, options.jit_compile) == ("mixed_bfloat16", False)
    assert TrainOptions("fcn", "d", "r", precision="float32").resolved(False).precision == "float32"
    if not tf.config.list_physical_devices("GPU"):
        with pytest.raises(ConfigError):
            check_precision("mixed_float16")
    run = tmp_path / "run"
    with pytest.raises(SystemExit) as exc:
        main(["train", "--model", "fcn", "--data", str(tiny_shards), "--run", str(run), "--epochs", "1",
              "--no-early-stopping", "--model-kwargs", '{"filters": 2, "n_layers": 1}', "--no-progress",
              "--precision", "mixed_bfloat16"])
    assert exc.value.code == 0
    config = json.loads((run / "config.json").read_text())
    assert (config["precision"], config["jit_compile"]) == ("mixed_bfloat16", False)
    out = tmp_path / "pred"
    with pytest.raises(SystemExit) as exc:
        main(["predict", "--run", str(run), "--cohort", str(tiny_cohort), "--out", str(out),
              "--precision", "mixed_bfloat16"])
    assert exc.value.code == 0 and len(list(out.rglob("FLAIR_pred.nii.gz"))) > 0
