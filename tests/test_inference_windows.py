"""Window grids, the TF sliding window, and its exactness on tiny models."""
import numpy as np
import pytest
import tensorflow as tf

from inference_helpers import NORMALIZATION, fcn_like, pointwise, random_volume, unet_like
from msgan.errors import ConfigError
from msgan.inference import windows as win
from msgan.inference.geometry import is_local, plan_for_model, receptive_radius, total_stride
from msgan.inference.pipeline import VolumePredictor
from data_tools.shards.patches import window_starts
from msgan.inference.sliding_window import WindowPlan, _axes_layout, sliding_window_predict


def test_halo_weights_trust_the_core_and_the_volume_borders():
    weights = win.halo_weights(tf.constant([0, 3, 6]), 6, 12, 1).numpy()
    assert weights.tolist() == [[1, 1, 1, 1, 1, 0],   # at the start border: no left halo
                                [0, 1, 1, 1, 1, 0],
                                [0, 1, 1, 1, 1, 1]]   # flush with the end border


def test_gaussian_profile_is_centred_with_monai_sigma():
    profile = win.gaussian_profile(8).numpy()
    x = np.arange(8) - 3.5
    np.testing.assert_allclose(profile, np.maximum(np.exp(-0.5 * (x / 1.0) ** 2), 1e-3), rtol=1e-6)


def test_geometry_is_read_from_the_layers():
    assert total_stride(fcn_like()) == 1 and is_local(fcn_like())
    assert receptive_radius(fcn_like()) == 1 + 2 + 0  # 3x3x3, dilated 3x3x3 (reach 2), 1x1x1
    assert total_stride(unet_like()) == 4


def test_a_stride_1_network_with_a_global_layer_gets_windows_not_halo_tiles():
    import keras

    inp = keras.Input((None, None, None, 2))
    x = keras.layers.Conv3D(2, 3, padding="same")(inp)
    x = keras.layers.UnitNormalization(axis=(1, 2, 3))(x)  # divides by a norm over the whole input
    model = keras.Model(inp, keras.layers.Conv3D(1, 1)(x))
    assert total_stride(model) == 1 and not is_local(model)
    assert plan_for_model(model, patch=(8, 8, 8)).mode == "gaussian"
    with pytest.raises(ConfigError, match="needs a window size"):
        plan_for_model(model)


@pytest.mark.parametrize("tile,overlap,batch", [((6, 5, 7), 0.0, 1), ((8, 8, 8), 0.5, 3), ((256,) * 3, 0.0, 1)])
def test_halo_tiling_equals_one_whole_volume_pass(tile, overlap, batch):
    model = fcn_like()
    volume = np.random.default_rng(1).normal(size=(20, 22, 18, 2)).astype(np.float32)
    whole = model(volume[None])[0, ..., 0].numpy()
    plan = plan_for_model(model, tile=tile, overlap=overlap, batch_size=batch)
    assert plan.mode == "halo" and plan.halo == 3
    tiled = sliding_window_predict(volume, model, plan).numpy()
    assert tiled.shape == whole.shape
    assert np.abs(tiled - whole).max() < 1e-5


def test_window_and_overlap_changes_leave_no_seams_inside_the_brain():
    """The acceptance check on the full pipeline (normalise, tile, de-normalise, mask)."""
    model = fcn_like()
    volumes, brain = random_volume()
    results = []
    for tile, overlap in [((256,) * 3, 0.0), ((7, 6, 5), 0.0), ((9, 9, 9), 0.5)]:
        predictor = VolumePredictor(model, ["T1", "T2"], "FLAIR", NORMALIZATION,
                                    plan_for_model(model, tile=tile, overlap=overlap, batch_size=2))
        results.append(predictor.predict(volumes, brain))
    for other in results[1:]:
        assert np.abs(other - results[0])[brain].max() < 1e-4
    assert np.abs(results[0][brain]).max() > 1.0 and (results[0][~brain] == 0).all()


@pytest.mark.parametrize("mode", ["constant", "gaussian"])
def test_blending_reproduces_a_translation_equivariant_model(mode):
    model = pointwise()
    volume = np.random.default_rng(2).normal(size=(19, 21, 17, 2)).astype(np.float32)
    whole = model(volume[None])[0, ..., 0].numpy()
    plan = WindowPlan(mode=mode, window=(8, 8, 8), overlap=0.5, batch_size=4)
    blended = sliding_window_predict(volume, model, plan).numpy()
    np.testing.assert_allclose(blended, whole, atol=1e-5)


def test_volume_smaller_than_the_window_is_padded_and_cropped_back():
    model = pointwise()
    volume = np.random.default_rng(3).normal(size=(6, 9, 5, 2)).astype(np.float32)
    plan = WindowPlan(mode="gaussian", window=(8, 8, 8), overlap=0.25)
    out = sliding_window_predict(volume, model, plan, pad_values=[-2.0, -3.0]).numpy()
    np.testing.assert_allclose(out, model(volume[None])[0, ..., 0].numpy(), atol=1e-5)


def test_strided_model_windows_must_be_a_multiple_of_its_stride():
    model = unet_like()
    with pytest.raises(ConfigError, match="multiple of the network's total stride 4"):
        plan_for_model(model, patch=(6, 8, 8))
    plan = plan_for_model(model, patch=(8, 8, 8), overlap=0.5, batch_size=2)
    assert plan.mode == "gaussian" and plan.overlap == 0.5
    volume = np.random.default_rng(4).normal(size=(13, 16, 11, 2)).astype(np.float32)
    out = sliding_window_predict(volume, lambda x: model(x, training=False), plan).numpy()
    assert out.shape == (13, 16, 11) and np.isfinite(out).all()


def test_batching_and_graph_mode_do_not_change_the_result():
    model = unet_like()
    volume = np.random.default_rng(5).normal(size=(12, 14, 10, 2)).astype(np.float32)

    def run(batch):
        plan = WindowPlan(mode="gaussian", window=(8, 8, 8), overlap=0.25, batch_size=batch)
        return sliding_window_predict(volume, lambda x: model(x, training=False), plan)

    one = run(1).numpy()
    np.testing.assert_allclose(run(3).numpy(), one, atol=1e-5)  # 8 windows: last batch padded
    graph = tf.function(lambda v: sliding_window_predict(
        v, lambda x: model(x, training=False), WindowPlan(mode="gaussian", window=(8, 8, 8), overlap=0.25)),
        input_signature=[tf.TensorSpec((None, None, None, 2))])
    np.testing.assert_allclose(graph(volume).numpy(), one, atol=1e-5)


def test_invalid_plans_are_config_errors():
    with pytest.raises(ConfigError, match="overlap"):
        WindowPlan(mode="constant", window=(8, 8, 8), overlap=1.0)
    with pytest.raises(ConfigError, match="needs a window"):
        WindowPlan(mode="gaussian")


@pytest.mark.parametrize("name, stride", [("fcn", 1), ("unet", 8), ("cgan", 8), ("sketcher_refiner", 8),
                                          ("cfsagan", 16), ("refiner_cfsagan", 16)])
def test_stride_follows_the_generators_not_the_discriminators(name, stride):
    """A GAN predicts with its generator(s): discriminator strides must not count, and chained
    generators each see the whole window (the largest stride counts, not the product)."""
    from msgan.inference.geometry import receptive_radius, total_stride
    from msgan.models import build

    small = {"fcn": {"filters": 2, "n_layers": 1}, "unet": {"base_filters": 2}}.get(
        name, {"generator_kwargs": {"base_filters": 2}, "discriminator_kwargs": {"base_filters": 2}})
    model = build(name, 2, **small)
    assert total_stride(model) == stride
    if name == "refiner_cfsagan":
        single = build("cfsagan", 2, **small)
        assert receptive_radius(model) == 2 * receptive_radius(single)


def _counting(model):
    """The model as a predict_fn that counts the windows it is called on (eager loop)."""
    calls = []

    def predict_fn(batch):
        calls.append(int(batch.shape[0]))
        return model(batch, training=False)
    return predict_fn, calls


def _off_centre_brain(shape=(18, 20, 14)):
    """A small ball of brain near one corner: most windows of a grid never see it."""
    grid = np.indices(shape).astype(np.float32)
    radius = np.sqrt(((grid - np.array([6.0, 7.0, 5.0])[:, None, None, None]) ** 2).sum(0))
    return radius < 4.5


def test_box_counts_match_a_brute_force_count():
    mask = np.random.default_rng(6).random((9, 7, 8)) < 0.1
    rng = np.random.default_rng(7)
    lo = rng.integers(0, 5, size=(30, 3))
    hi = lo + rng.integers(0, 4, size=(30, 3))
    counts = win.box_counts(tf.constant(mask), lo, hi).numpy()
    expected = [mask[a[0]:b[0], a[1]:b[1], a[2]:b[2]].sum() for a, b in zip(lo, hi)]
    assert counts.tolist() == expected


@pytest.mark.parametrize("mode,overlap", [("gaussian", 0.25), ("constant", 0.5)])
def test_blended_windows_outside_the_brain_are_skipped_and_the_brain_is_unchanged(mode, overlap):
    model = unet_like()
    brain = _off_centre_brain()
    volume = np.random.default_rng(8).normal(size=brain.shape + (2,)).astype(np.float32)
    plan = WindowPlan(mode=mode, window=(8, 8, 8), overlap=overlap)
    full_fn, full_calls = _counting(model)
    full = sliding_window_predict(volume, full_fn, plan).numpy()
    skip_fn, skip_calls = _counting(model)
    skipped = sliding_window_predict(volume, skip_fn, plan, brain=brain.astype(np.float32)).numpy()
    starts = [np.asarray(window_starts(s, 8, overlap)) for s in brain.shape]
    touching = sum(bool(brain[a:a + 8, b:b + 8, c:c + 8].any()) for a in starts[0] for b in starts[1] for c in starts[2])
    assert len(skip_calls) == touching < len(full_calls)
    np.testing.assert_array_equal(skipped[brain], full[brain])
    assert (skipped[~brain] == 0).all() and np.abs(skipped[brain]).max() > 0


def test_halo_tiles_cover_only_the_brain_and_equal_a_whole_pass_there():
    model = fcn_like()
    brain = _off_centre_brain()
    volume = np.random.default_rng(9).normal(size=brain.shape + (2,)).astype(np.float32)
    whole = model(volume[None])[0, ..., 0].numpy()
    for tile in [(256,) * 3, (4, 5, 3)]:
        plan = plan_for_model(model, tile=tile)
        full_fn, full_calls = _counting(model)
        sliding_window_predict(volume, full_fn, plan)
        skip_fn, skip_calls = _counting(model)
        skipped = sliding_window_predict(volume, skip_fn, plan, brain=brain).numpy()
        assert np.abs(skipped - whole)[brain].max() < 1e-5
        assert (skipped[~brain] == 0).all()
        assert len(skip_calls) < len(full_calls) or tile[0] == 256
    # one tile: the brain's box [2:11, 3:12, 1:10] grown by the halo (3), clipped to the volume
    _, sizes, origins, _ = _axes_layout(tf.constant(volume), plan_for_model(model), tf.zeros([2]), tf.constant(brain))
    assert [int(s) for s in sizes] == [14, 15, 13] and [o.numpy().tolist() for o in origins] == [[0], [0], [0]]


def test_an_empty_brain_runs_no_window_and_predicts_zeros():
    model = unet_like()
    fn, calls = _counting(model)
    volume = np.ones((12, 12, 12, 2), np.float32)
    out = sliding_window_predict(volume, fn, WindowPlan(mode="gaussian", window=(8, 8, 8)),
                                 brain=np.zeros((12, 12, 12), np.float32)).numpy()
    assert calls == [] and (out == 0).all()
