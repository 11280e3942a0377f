"""The model zoo: every name builds for 3-5 inputs, trains a step on a 32^3 patch, and
survives get_config/from_config and a .keras save/load; thesis parameter counts."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from msgan import losses
from msgan.errors import ConfigError
from msgan.layers import FlexibleSelfAttention, GaussianNoiseChannel, ResDown, ResUp
from msgan.models import MODEL_NAMES, build, model_kind

PATCH = 32
TINY_D = {"base_filters": 2, "patch_size": 16}
#: the narrowest widths each model allows, so that a step on 32^3 takes a fraction of a second
TINY = {
    "fcn": {"filters": 4}, "unet_small": {"base_filters": 4}, "dnn2": {"filters": 4},
    "mlp": {"units": 4}, "unet": {"base_filters": 4},
    "cfsagan_generator": {"base_filters": 2},
    "patch_discriminator": TINY_D, "cfsagan_discriminator": TINY_D,
    "cgan": {"generator_kwargs": {"base_filters": 4}, "discriminator_kwargs": TINY_D},
    "cfsagan": {"generator_kwargs": {"base_filters": 2}, "discriminator_kwargs": TINY_D},
    "sketcher_refiner": {"generator_kwargs": {"base_filters": 4}, "discriminator_kwargs": TINY_D},
    "refiner_cfsagan": {"generator_kwargs": {"base_filters": 2}, "discriminator_kwargs": TINY_D},
}


def patch(channels, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(1, PATCH, PATCH, PATCH, channels)).astype(np.float32)


def gan_stages(model):
    """[sketcher, *refiners] of a two-stage model, [model] of a single GAN."""
    return getattr(model, "stages", [model])


def assert_all_gradients(tape, loss, variables):
    grads = tape.gradient(loss, variables)
    missing = [v.path for v, g in zip(variables, grads) if g is None]
    assert not missing, f"no gradient for {missing}"
    assert all(np.isfinite(keras.ops.convert_to_numpy(g)).all() for g in grads)


@pytest.mark.parametrize("n_inputs", [3, 4, 5])
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_model_builds_runs_forward_and_backward(name, n_inputs):
    model = build(name, n_inputs, **TINY[name])
    x, y = patch(n_inputs), patch(1, seed=1)
    kind = model_kind(name)
    if kind == "discriminator":
        with tf.GradientTape() as tape:
            p = model([x, y], training=True)
            loss = losses.generator_adversarial_loss(p)
        assert p.shape == (1, 2, 2, 2, 2)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(p).sum(-1), 1.0, rtol=1e-5)
        assert_all_gradients(tape, loss, model.trainable_variables)
        return
    with tf.GradientTape() as tape:
        if kind == "supervised":
            prediction = model(x, training=True)
            loss = losses.l1(y, prediction)
        else:  # one step of every generator and discriminator, as the training engine does
            loss, stage_input = 0.0, x
            for stage in gan_stages(model):
                prediction = stage(stage_input, training=True)
                real_p = stage.discriminator([x, y], training=True)
                fake_p = stage.discriminator([x, prediction], training=True)
                loss += losses.l1(y, prediction) + losses.generator_adversarial_loss(fake_p)
                loss += losses.discriminator_loss(real_p, fake_p)
                stage_input = keras.ops.concatenate([x, prediction], axis=-1)
    assert prediction.shape == (1, PATCH, PATCH, PATCH, 1)
    assert np.isfinite(keras.ops.convert_to_numpy(prediction)).all()
    assert_all_gradients(tape, loss, model.trainable_variables)


def deterministic_call(name, model, n_inputs):
    """A call of (a part of) ``model`` that has no noise z, and its inputs."""
    x, y = patch(n_inputs), patch(1, seed=1)
    if hasattr(model, "refiners"):  # the last Refiner's generator: MRI + previous output
        return model.refiners[-1].generator, np.concatenate([x, y], axis=-1)
    if hasattr(model, "generator"):  # a Sketcher's generator is noisy; its D is not
        return model.discriminator, [x, y]
    if model_kind(name) == "discriminator":
        return model, [x, y]
    return model, x


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_config_and_keras_file_round_trips(name, tmp_path):
    n_inputs = 3
    model = build(name, n_inputs, **TINY[name])
    clone = type(model).from_config(model.get_config())
    clone.build(model.get_build_config()["input_shape"])
    assert clone.count_params() == model.count_params()
    assert clone.get_config() == model.get_config()

    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model)
    assert loaded.get_config() == model.get_config()
    for a, b in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))
    part, args = deterministic_call(name, model, n_inputs)
    loaded_part, _ = deterministic_call(name, loaded, n_inputs)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(part(args, training=False)),
                               keras.ops.convert_to_numpy(loaded_part(args, training=False)),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("filters, expected", [(32, 60_577), (64, 231_745), (96, 513_505)])
def test_fcn_parameter_counts_of_table_2_1(filters, expected):
    assert build("fcn", 5, filters=filters).count_params() == expected


def test_unet_small_parameter_count_stated_in_its_docstring():
    assert build("unet_small", 5).count_params() == 389_617
    assert build("unet_small", 5, up_kernel=2).count_params() == 340_977


def test_default_widths_build_without_a_forward_pass():
    counts = {name: build(name, 4).count_params() for name in ("mlp", "dnn2", "unet", "cgan")}
    assert counts["mlp"] == 4 * 100 + 100 + 100 * 100 + 100 + 100 + 1
    assert counts["dnn2"] == (7 ** 3 * 4 * 64 + 64) + (7 ** 3 * 64 * 64 + 64) + 65
    # the Sketcher's U-Net sees one more (noise) channel than the bare U-Net
    assert counts["cgan"] > counts["unet"]


def test_the_width_table_holds_each_class_default_and_sets_the_width_built():
    import importlib
    import inspect

    from msgan.models.registry import GAN_PARTS, MODELS, WIDTHS, width_kwargs

    for name, (key, default) in WIDTHS.items():
        module, class_name = MODELS[name].cls.split(":")
        cls = getattr(importlib.import_module(f"msgan.models.{module}"), class_name)
        assert inspect.signature(cls).parameters[key].default == default, name
    # every model has a width: its own, or its GAN family's generator's and discriminator's
    assert all(name in WIDTHS or set(GAN_PARTS[MODELS[name].family]) <= set(WIDTHS) for name in MODEL_NAMES)
    assert width_kwargs("fcn", {"n_layers": 2}, scale=1 / 16) == {"n_layers": 2, "filters": 4}
    assert width_kwargs("mlp", {"units": 32}, scale=0.5) == {"units": 16}  # the width given, scaled
    assert width_kwargs("unet_small", {}, scale=1 / 64) == {"base_filters": 1}  # at least one filter
    assert width_kwargs("unet", {"dropout": 0.1}) == {"dropout": 0.1}  # scale 1: as given
    # a GAN's generator and discriminator, each scaled from its own default (16 and 32 for CF-SAGAN)
    assert width_kwargs("refiner_cfsagan", {}, scale=1 / 8) == {"generator_kwargs": {"base_filters": 2},
                                                                "discriminator_kwargs": {"base_filters": 4}}
    narrow = width_kwargs("cgan", {"discriminator_kwargs": {"patch_size": 16}}, width=2)
    assert narrow == {"generator_kwargs": {"base_filters": 2},
                      "discriminator_kwargs": {"patch_size": 16, "base_filters": 2}}
    cgan = build("cgan", 2, **narrow)
    assert cgan.generator.base_filters == 2 and cgan.discriminator.base_filters == 2
    with pytest.raises(ConfigError, match="unknown model"):
        width_kwargs("resnet", {}, width=2)


def test_two_stage_models_chain_their_refiners():
    one = build("refiner_cfsagan", 4, **TINY["refiner_cfsagan"])
    two = build("refiner_cfsagan", 4, refinements=2, **TINY["refiner_cfsagan"])
    assert len(two.refiners) == 2
    assert two.min_size == 16  # patches of 16 (TINY_D), CF-SAGAN's four halvings
    assert two.count_params() == one.count_params() + one.refiners[0].count_params()
    x = np.zeros((1, 16, 16, 16, 4), np.float32)
    assert two(x).shape == (1, 16, 16, 16, 1)


def test_models_expose_the_contract_attributes():
    cgan = build("cgan", 3, **TINY["cgan"])
    assert cgan.generator.noise and not cgan.label_smoothing
    cfsagan = build("cfsagan", 3, **TINY["cfsagan"])
    assert cfsagan.label_smoothing and cfsagan.discriminator.residual
    two = build("sketcher_refiner", 3, **TINY["sketcher_refiner"])
    assert two.sketcher.generator.noise and not two.refiners[0].generator.noise
    # the Refiner's discriminator is conditioned on the MRI only
    assert two.refiners[0].conditioning(np.zeros((1, 2, 2, 2, 4))).shape[-1] == 3


def test_unknown_names_and_hyperparameters_are_config_errors():
    with pytest.raises(ConfigError, match="unknown model"):
        build("resnet", 3)
    with pytest.raises(ConfigError, match="fcn"):
        build("fcn", 3, width=3)


def test_residual_blocks_halve_and_double_the_size():
    x = np.zeros((1, 8, 8, 8, 3), np.float32)
    down = ResDown(5)(x)
    assert down.shape == (1, 4, 4, 4, 5)
    assert ResUp(2)(down).shape == (1, 8, 8, 8, 2)


def test_noise_channel_is_drawn_in_training_and_fixed_at_inference():
    from msgan.layers.noise import fixed_noise, sampled_noise

    layer = GaussianNoiseChannel(seed=3)
    x = np.zeros((2, 4, 4, 4, 3), np.float32)
    a, b = (keras.ops.convert_to_numpy(layer(x, training=True)) for _ in range(2))
    assert a.shape == (2, 4, 4, 4, 4)
    assert np.all(a[..., :3] == 0) and a[..., 3].std() > 0.5
    assert not np.allclose(a[..., 3], b[..., 3])
    assert np.all(keras.ops.convert_to_numpy(layer(x))[..., 3] == 0)  # inference: z = 0
    with fixed_noise(layer, 1):
        one, again = (keras.ops.convert_to_numpy(layer(x)) for _ in range(2))
    with fixed_noise(layer, 2):
        two = keras.ops.convert_to_numpy(layer(x))
    assert one[..., 3].std() > 0.5 and np.array_equal(one, again) and not np.allclose(one, two)
    with sampled_noise(layer):
        c, d = (keras.ops.convert_to_numpy(layer(x)) for _ in range(2))
    assert not np.allclose(c[..., 3], d[..., 3])
    assert np.all(keras.ops.convert_to_numpy(layer(x))[..., 3] == 0)  # the blocks are undone


def test_flexible_self_attention_on_64_cubed_features_with_p4_is_identity_at_init():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1, 64, 64, 64, 8)).astype(np.float32)
    layer = FlexibleSelfAttention(pool_size=4)
    y = keras.ops.convert_to_numpy(layer(x))
    assert float(keras.ops.convert_to_numpy(layer.gamma)) == 0.0
    np.testing.assert_array_equal(y, x)  # gamma = 0: y = 0 * o + x
    beta = keras.ops.convert_to_numpy(layer.attention_map(x))
    n = (64 // 4) ** 3  # (N / p^3)^2 entries
    assert beta.shape == (1, n, n)
    np.testing.assert_allclose(beta.sum(-1), 1.0, rtol=1e-4)
    layer.gamma.assign(1.0)
    assert not np.allclose(keras.ops.convert_to_numpy(layer(x)), x)


def test_attention_equations_4_1_and_4_2_by_hand():
    from msgan.layers.attention import attend, attention_weights

    keys = np.array([[[1.0], [0.0]]], np.float32)  # f(x_1) = 1, f(x_2) = 0
    queries = np.array([[[2.0], [0.0]]], np.float32)  # g(x_1) = 2, g(x_2) = 0
    beta = keras.ops.convert_to_numpy(attention_weights(keys, queries))
    e2 = np.exp(2.0)
    # row j=1: softmax over i of (f_i * g_1) = softmax(2, 0); row j=2: softmax(0, 0)
    np.testing.assert_allclose(beta[0], [[e2 / (e2 + 1), 1 / (e2 + 1)], [0.5, 0.5]], rtol=1e-6)
    values = np.array([[[10.0], [20.0]]], np.float32)
    o = keras.ops.convert_to_numpy(attend(beta, values))
    np.testing.assert_allclose(o[0, :, 0], [10 * beta[0, 0, 0] + 20 * beta[0, 0, 1], 15.0],
                               rtol=1e-6)


def test_models_command_lists_names_with_their_parameter_counts(monkeypatch):
    from click.testing import CliRunner

    from msgan.cli import cli
    from msgan.models import registry

    # building all twelve default-width models takes a minute on a busy CPU: list three
    shown = ("fcn", "unet_small", "mlp")
    monkeypatch.setattr(registry, "MODEL_NAMES", shown)
    result = CliRunner().invoke(cli, ["models", "--inputs", "5"])
    assert result.exit_code == 0, result.output
    table = result.stdout.splitlines()  # the progress bar goes to stderr
    assert table[0].split()[:3] == ["name", "kind", "parameters"]
    lines = {line.split()[0]: line for line in table[1:]}
    assert set(lines) == set(shown)
    assert "231,745" in lines["fcn"] and "389,617" in lines["unet_small"]
    assert CliRunner().invoke(cli, ["models", "--inputs", "0"]).exit_code == 2
