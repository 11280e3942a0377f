"""Domain-randomised simulation (``msgan simulate --randomize``): reproducible, contrasts that
really vary, slice thickness that blurs only its own axis, and a FLAIR target untouched."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from data_tools.errors import ConfigError
from data_tools.simulation import lesions as lesion_model, mri, tissue
from data_tools.simulation.anatomy import Anatomy
from data_tools.simulation.cohort import SimulationOptions, simulate_cohort
from data_tools.simulation.randomize import RandomizeOptions, randomize_inputs, thick_slices

RANDOMIZED = ("T1", "T2", "PD", "T1SE", "DIR", "T1POST")


def _hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _slab_phantom(width: int = 12, side: int = 16) -> Anatomy:
    """Three pure slabs along axis 0 (CSF, GM, WM), 1 mm voxels, no lesion."""
    shape = (3 * width, side, side)
    fractions = [np.zeros(shape, np.float32) for _ in range(3)]
    for k, f in enumerate(fractions):
        f[k * width:(k + 1) * width] = 1.0
    f_csf, f_gm, f_wm = fractions
    brain = np.ones(shape, bool)
    return Anatomy(f_gm=f_gm, f_wm=f_wm, f_csf=f_csf, brain=brain, gm=f_gm > 0.5, wm=f_wm > 0.5,
                   csf=f_csf > 0.5, ventricle_distance_mm=np.zeros(shape, np.float32), affine=np.eye(4))


def test_same_seed_identical_files_and_the_flair_target_unchanged(tmp_path):
    from msgan.cli import main

    kwargs = dict(n_ms=1, n_hc=0, resolution=6.0, seed=5, sessions="t0,t1", progress=False)
    with pytest.raises(SystemExit) as done:
        main(["simulate", "--out", str(tmp_path / "a"), "--n-ms", "1", "--n-hc", "0", "--resolution", "6",
              "--seed", "5", "--jobs", "1", "--randomize"])
    assert done.value.code in (0, None)
    a = tmp_path / "a"
    b = simulate_cohort(tmp_path / "b", options=SimulationOptions(randomize=RandomizeOptions()), **kwargs)
    plain = simulate_cohort(tmp_path / "plain", **kwargs)
    ha, hb, hp = _hashes(a), _hashes(b), _hashes(plain)
    assert ha == hb  # same seed, identical files (CLI and library alike)
    for session in ("t0", "t1"):
        folder = f"sub-ms01/ses-{session}"
        for rel in ha:
            if not rel.startswith(folder):
                continue
            name = Path(rel).name.removesuffix(".nii.gz")
            if name in RANDOMIZED:
                assert ha[rel] != hp[rel], rel
            else:  # FLAIR target, masks, truth, myelin images: as without randomisation
                assert ha[rel] == hp[rel], rel
    drawn = json.loads((a / "simulation.json").read_text())["randomization"]["sub-ms01"]
    assert set(drawn) == {"t0", "t1"}
    for session in drawn.values():
        assert set(session["sequences"]) == set(RANDOMIZED) and session["n_lesions"] >= 5
        for draw in session["sequences"].values():
            assert 1.0 <= draw["thickness_mm"] <= 6.0 and draw["axis"] in (0, 1, 2)
            assert all(1 / 1.5 <= g <= 1.5 for g in draw["gains"].values())
    assert drawn["t0"]["sequences"] != drawn["t1"]["sequences"]  # fresh draws per session


def test_t1_white_to_grey_ratio_spans_the_stated_range():
    spread = 1.5
    s_csf, s_gm, s_wm = (float(mri.signal("T1", t.pd, t.t1_ms, t.t2_ms)) for t in (tissue.CSF, tissue.GM, tissue.WM))
    physical = s_wm / s_gm
    # No bias field here: on a phantom this small it would tilt one slab against the other.
    options = RandomizeOptions(sequences=("T1",), contrast_spread=spread, thickness_mm=(1.0, 1.0), bias=(0.0, 0.0))
    anatomy = _slab_phantom()
    lesions = lesion_model.empty_state(anatomy.shape)
    zeros = np.zeros(anatomy.shape, np.float32)
    rng = np.random.default_rng(11)
    measured, expected = [], []
    for _ in range(20):
        images, draws = randomize_inputs(rng, anatomy, lesions, zeros, zeros, options)
        t1 = images["T1"]
        measured.append(np.median(t1[24:36]) / np.median(t1[12:24]))  # whole slabs: WM / GM
        gains = draws["T1"]["gains"]
        expected.append(physical * gains["wm"] / gains["gm"])
    measured, expected = np.array(measured), np.array(expected)
    np.testing.assert_allclose(measured, expected, rtol=0.10)  # texture (2 mm grain) and noise around the draw
    assert measured.max() / measured.min() > 2.0  # contrasts really vary between sessions
    assert np.all(measured > physical / spread ** 2 * 0.9) and np.all(measured < physical * spread ** 2 * 1.1)
    assert (measured < 1.0).any() and (measured > physical).any()  # the contrast even inverts


def test_slice_thickness_blurs_only_along_its_axis():
    rng = np.random.default_rng(0)
    noise = rng.standard_normal((24, 24, 24)).astype(np.float32)
    thick = thick_slices(noise, voxel_mm=1.0, thickness_mm=4.0, axis=1)

    def gradient_energy(volume, axis):  # 2 x variance for noise white along ``axis``
        return float(np.mean(np.diff(volume, axis=axis) ** 2) / (2.0 * volume.var()))

    before = [gradient_energy(noise, k) for k in range(3)]
    after = [gradient_energy(thick, k) for k in range(3)]
    assert before == pytest.approx([1.0, 1.0, 1.0], abs=0.05)
    assert after[0] == pytest.approx(1.0, abs=0.08) and after[2] == pytest.approx(1.0, abs=0.08)
    assert after[1] < 0.15
    # An image constant along the slice axis is unchanged; one varying along it is not.
    x, _, z = np.meshgrid(*(np.arange(24.0),) * 3, indexing="ij")
    pattern = np.sin(x / 2.0) * np.cos(z / 3.0)
    np.testing.assert_allclose(thick_slices(pattern, 1.0, 6.0, axis=1), pattern, atol=1e-5)
    assert np.abs(thick_slices(pattern, 1.0, 6.0, axis=0) - pattern).max() > 0.3
    # Thinner than the voxel: nothing to do.
    np.testing.assert_array_equal(thick_slices(pattern, 2.0, 1.5, axis=0), pattern.astype(np.float32))


@pytest.mark.parametrize("bad", [dict(sequences=("FLAIR",)), dict(sequences=("T3",)), dict(contrast_spread=0.5),
                                 dict(noise=(0.1, 0.0)), dict(thickness_mm=(-1.0, 2.0))])
def test_bad_randomisation_options_are_config_errors(tmp_path, bad):
    with pytest.raises(ConfigError):
        simulate_cohort(tmp_path / "x", n_ms=1, n_hc=0, resolution=4.0, progress=False,
                        options=SimulationOptions(randomize=RandomizeOptions(**bad)))
    assert not (tmp_path / "x").exists()
