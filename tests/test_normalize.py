"""Per-sequence z-score statistics: hand-worked values, scopes, JSON round trip, exact inversion."""
import json

import numpy as np
import pytest

from data_tools.errors import ConfigError, ImageContentError, InputFileError
from data_tools.shards.normalize import Normalizer, RunningMoments

# Two "images" per sequence. T1 over all voxels {0,0,2,4,0,6}: mean 2, variance 32/6.
# Inside the brain (non-zero voxels) {2,4,6}: mean 4, variance 8/3.
T1_A, T1_B = np.array([0.0, 0.0, 2.0, 4.0]), np.array([0.0, 6.0])
FL_A, FL_B = np.array([0.0, 0.0, 10.0, 30.0]), np.array([0.0, 20.0])


def images():
    for t1, fl in ((T1_A, FL_A), (T1_B, FL_B)):
        brain = t1 != 0
        yield "T1", t1, brain
        yield "FLAIR", fl, brain


def test_global_all_voxels_matches_hand_worked_values():
    norm = Normalizer.fit(images(), target="FLAIR")
    assert norm.stats["T1"]["mean"] == pytest.approx(2.0)
    assert norm.stats["T1"]["std"] == pytest.approx(np.sqrt(32 / 6))
    # FLAIR {0,0,10,30,0,20}: mean 10, variance (100+100+0+400+100+100)/6
    assert norm.stats["FLAIR"]["std"] == pytest.approx(np.sqrt(800 / 6))
    assert norm.apply("T1", np.array([2.0, 6.0])) == pytest.approx([0.0, 4 / np.sqrt(32 / 6)])


def test_brain_region_counts_brain_voxels_only():
    norm = Normalizer.fit(images(), target="FLAIR", region="brain")
    assert norm.stats["T1"]["mean"] == pytest.approx(4.0)
    assert norm.stats["T1"]["std"] == pytest.approx(np.sqrt(8 / 3))
    assert norm.stats["FLAIR"]["mean"] == pytest.approx(20.0)


def test_subject_scope_standardises_inputs_per_image_but_target_globally():
    norm = Normalizer.fit(images(), target="FLAIR", scope="subject", region="brain")
    assert set(norm.stats) == {"FLAIR"}
    brain = T1_A != 0  # brain values {2, 4}: mean 3, SD 1
    assert norm.apply("T1", T1_A, brain) == pytest.approx([-3, -3, -1, 1])
    assert norm.is_per_image("T1") and not norm.is_per_image("FLAIR")
    with pytest.raises(ConfigError, match="brain mask"):
        norm.apply("T1", T1_A)
    with pytest.raises(ConfigError, match="per image"):
        norm.invert("T1", T1_A)
    # the target keeps one global scale: the same raw value maps to the same number everywhere
    assert norm.apply("FLAIR", np.array([20.0]), FL_A != 0) == norm.apply("FLAIR", np.array([20.0]), FL_B != 0)


def test_apply_invert_round_trip_and_json(tmp_path):
    norm = Normalizer.fit(images(), target="FLAIR")
    path = norm.to_json(tmp_path / "normalization.json")
    back = Normalizer.from_json(path)
    assert back == norm  # float statistics survive JSON bit for bit
    assert json.loads(path.read_text())["scope"] == "global"
    x = np.random.default_rng(0).normal(300, 80, 1000).astype(np.float32)
    assert np.allclose(back.invert("FLAIR", back.apply("FLAIR", x)), x, rtol=1e-6, atol=1e-4)
    assert back.background("T1") == pytest.approx(-2 / np.sqrt(32 / 6))


def test_running_moments_agree_with_numpy_for_large_offsets():
    rng = np.random.default_rng(1)
    parts = [rng.normal(1e4, 3, n) for n in (10, 1000, 77)]
    m = RunningMoments()
    for p in parts:
        m.add(p)
    allv = np.concatenate(parts)
    assert m.mean == pytest.approx(allv.mean(), rel=1e-12) and m.std == pytest.approx(allv.std(), rel=1e-9)


def test_bad_normaliser_inputs(tmp_path):
    with pytest.raises(ImageContentError, match="constant"):
        Normalizer.fit([("FLAIR", np.ones(5), None)], target="FLAIR")
    with pytest.raises(ConfigError, match="scope"):
        Normalizer("fold")
    bad = tmp_path / "n.json"
    bad.write_text('{"scope": "global"}')
    with pytest.raises(InputFileError) as exc:
        Normalizer.from_json(bad)
    assert exc.value.path == str(bad)


@pytest.mark.parametrize("choice, scale_free", [("global", []), ("global-brain", []),
                                                ("subject", ["T1"]), ("subject-all", ["T1", "FLAIR"])])
def test_the_scale_free_set_of_each_normalisation_and_what_the_predictor_asks(choice, scale_free):
    """The one rule (Normalizer.scale_free) for every --normalize choice: a x3 copy of a
    scale-free image normalises to the same values, any other image does not; the
    prediction graph and the fingerprint take the same set from the Normalizer it holds."""
    from data_tools.shards.normalize import NORMALIZE_CHOICES
    from msgan.inference.pipeline import VolumePredictor
    from msgan.inference.sliding_window import WindowPlan

    scope, region = NORMALIZE_CHOICES[choice]
    norm = Normalizer.fit(images(), target="FLAIR", scope=scope, region=region)
    assert norm.scale_free(["T1", "FLAIR"]) == scale_free
    brain = T1_A != 0
    for name, image in (("T1", T1_A), ("FLAIR", FL_A)):
        same = np.allclose(norm.apply(name, 3 * image, brain), norm.apply(name, image, brain), atol=1e-6)
        assert same is (name in scale_free)
    predictor = VolumePredictor(lambda x: x[..., :1], ["T1"], "FLAIR", norm.to_dict(), WindowPlan(window=(4, 4, 4)))
    assert predictor.normalizer.scale_free(predictor.inputs) == [n for n in scale_free if n == "T1"]
    assert [s is None for s in predictor.input_statistics] == ["T1" in scale_free]
