"""The training fingerprint stops predictions on scans unlike the training ones (issue 18,
item 4): a resampled, a non-brain-extracted and an intensity-rescaled copy of a real
patient are stopped, the real patients pass."""
from __future__ import annotations

import json
import re
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from scipy import ndimage

from conftest import OPEN_MS_MANIFEST, write_nifti
from data_tools.io.cohort import load_manifest
from data_tools.io.fingerprint import compare, looks_skull_stripped, session_fingerprint, summarise
from data_tools.io.masks import brain_mask
from msgan.cli import main
from msgan.models import build
from msgan.training.run import save_weights

INPUTS = ["T1", "T1POST", "T2"]


def _print(voxel=(1.0, 1.0, 1.0), shape=(10, 10, 10), orientation="RAS", extracted=True, p50=100.0, p99=300.0):
    return {"voxel_size": list(voxel), "field_of_view": [n * v for n, v in zip(shape, voxel)],
            "orientation": orientation, "brain_extracted": extracted,
            "intensity": {"T1": {"p1": 1.0, "p50": p50, "p99": p99}}}


def test_compare_by_hand():
    training = summarise([_print(p50=100.0), _print(p50=140.0, voxel=(1.0, 1.0, 1.2))])
    assert training["voxel_size"] == {"min": [1.0, 1.0, 1.0], "max": [1.0, 1.0, 1.2]}
    assert training["intensity"]["T1"]["p50"] == {"min": 100.0, "max": 140.0}
    assert compare(training, _print(p50=69.0)) == []  # 100 / 1.5 = 66.7 <= 69: known
    assert [d.property for d in compare(training, _print(p50=65.0))] == ["intensity:T1"]
    assert [d.property for d in compare(training, _print(p50=65.0), scale_free=["T1"])] == []
    # 1.2 * 1.25 = 1.5 is the largest slice thickness the model knows
    assert compare(training, _print(voxel=(1.0, 1.0, 1.5), shape=(10, 10, 8))) == []
    assert [d.property for d in compare(training, _print(voxel=(1.0, 1.0, 3.0), shape=(10, 10, 4)))] == ["voxel_size"]
    assert [d.property for d in compare(training, _print(shape=(10, 10, 20)))] == ["field_of_view"]
    # another orientation is msgan's to fix (predict turns the arrays), never a difference
    assert [d.property for d in compare(training, _print(orientation="LPS", extracted=False))] == [
        "brain_extracted"]


def test_brain_extraction_is_recognised_on_real_scans(open_ms_data):
    extracted = nib.load(str(open_ms_data / "cross_sectional/MNI/patient07" /
                             "FLAIR_N4_noneck_reduced_winsor_regtoFLAIR_brain_N4_regtoMNI.nii.gz"))
    raw = nib.load(str(open_ms_data / "longitudinal/raw/patient04/study1_FLAIR.nii.gz"))
    for image, expected in ((extracted, True), (raw, False)):
        voxel_ml = float(np.prod(image.header.get_zooms()[:3])) / 1000
        assert looks_skull_stripped(np.asanyarray(image.dataobj), voxel_ml) is expected


@pytest.fixture(scope="module")
def real_fingerprint(open_ms_data):
    cohort = load_manifest(OPEN_MS_MANIFEST, root=open_ms_data)
    prints = []
    for session in cohort.sessions():
        volumes, reference = session.stack(INPUTS)
        prints.append(session_fingerprint(volumes, INPUTS, brain_mask(session, INPUTS), reference.affine))
    return cohort, summarise(prints)


@pytest.fixture(scope="module")
def altered(real_fingerprint, tmp_path_factory):
    """Cohort folders holding one altered copy of patient07 each."""
    cohort, _ = real_fingerprint
    session = cohort.subjects["patient07"].sessions["t0"]
    volumes = {name: session.load(name) for name in INPUTS}
    root = tmp_path_factory.mktemp("altered")
    rng = np.random.default_rng(0)
    copies = {}
    for kind in ("resampled", "head", "rescaled"):
        folder = root / kind / "sub-patient07" / "ses-t0"
        for name, volume in volumes.items():
            data, affine = volume.data, volume.affine
            if kind == "resampled":  # 1 x 1 x 3 mm slices, as a clinical 2-D FLAIR protocol
                data = ndimage.zoom(data, (1, 1, 1 / 3), order=1)
                affine = affine @ np.diag([1.0, 1.0, 3.0, 1.0])
            elif kind == "head":  # scalp and background noise around the brain
                noise = rng.rayleigh(0.1 * np.percentile(data[data > 0], 50), data.shape)
                data = np.where(data == 0, noise, data)
            else:
                data = 3.0 * data
            write_nifti(folder / f"{name}.nii.gz", data.astype(np.float32), affine)
        copies[kind] = root / kind
    return copies


@pytest.fixture(scope="module")
def fingerprinted_run(real_fingerprint, tmp_path_factory) -> Path:
    """A tiny fcn run folder whose config carries the real patients' fingerprint."""
    import keras

    _, fingerprint = real_fingerprint
    run = tmp_path_factory.mktemp("run") / "fcn"
    run.mkdir()
    keras.utils.set_random_seed(0)
    save_weights(build("fcn", 3, filters=2, n_layers=2), run / "model.weights.h5")
    (run / "config.json").write_text(json.dumps(
        {"task": "flair", "inputs": INPUTS, "target": "FLAIR", "model": "fcn", "patch": None,
         "model_kwargs": {"filters": 2, "n_layers": 2}, "train_subjects": ["patient07", "patient19"],
         "fingerprint": fingerprint}))
    stats = {n: {"mean": 100.0, "std": 50.0} for n in INPUTS + ["FLAIR"]}
    (run / "normalization.json").write_text(json.dumps({"scope": "global", "region": "all", "stats": stats}))
    return run


def _cli(*args) -> int:
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    return exc.value.code


def test_the_real_patients_match_their_own_fingerprint(real_fingerprint):
    cohort, fingerprint = real_fingerprint
    assert fingerprint["brain_extracted"] == [True] and fingerprint["orientation"] == ["LAS"]
    for session in cohort.sessions():
        volumes, reference = session.stack(INPUTS)
        own = session_fingerprint(volumes, INPUTS, brain_mask(session, INPUTS), reference.affine)
        assert compare(fingerprint, own) == []


@pytest.mark.parametrize("kind, expected", [("resampled", "voxel_size"), ("head", "brain_extracted"),
                                            ("rescaled", "intensity:T1")])
def test_altered_copies_differ_where_they_were_altered(real_fingerprint, altered, kind, expected):
    from data_tools.io.cohort import open_cohort

    _, fingerprint = real_fingerprint
    session = open_cohort(cohort=altered[kind]).subjects["patient07"].sessions["t0"]
    volumes, reference = session.stack(INPUTS)
    own = session_fingerprint(volumes, INPUTS, brain_mask(session, INPUTS), reference.affine)
    assert expected in [d.property for d in compare(fingerprint, own)]


def test_predict_stops_on_an_unknown_scan_and_force_records_it(fingerprinted_run, altered, tmp_path, capsys):
    out = tmp_path / "stopped"
    assert _cli("predict", "--run", fingerprinted_run, "--cohort", altered["head"], "--out", out) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "sub-patient07/ses-t0" in lines[0] and not out.exists()
    refused = tmp_path / "refused"  # --bids-out DIR: DIR/derivatives/msgan, none of it left behind
    assert _cli("predict", "--run", fingerprinted_run, "--cohort", altered["head"], "--bids-out", refused) == 2
    assert not refused.exists()
    bids = tmp_path / "forced"
    assert _cli("predict", "--run", fingerprinted_run, "--cohort", altered["resampled"], "--bids-out", bids,
                "--force") == 0
    sidecar = json.loads((bids / "derivatives/msgan/sub-patient07/ses-t0/anat/"
                          "sub-patient07_ses-t0_desc-synthetic_FLAIR.json").read_text())
    assert len(sidecar["Warnings"]) == 1



@pytest.mark.parametrize("kind", ["resampled", "head"])
def test_the_shipped_flair_model_stops_on_each_altered_copy(altered, kind, tmp_path, capsys):
    """The fingerprint in the shipped model's card (the real patients) refuses the alteration."""
    out = tmp_path / "pred"
    assert _cli("predict", "--model", "flair-t1-t2-t1post", "--cohort", altered[kind], "--out", out) == 2
    assert len([line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]) == 1
    assert not out.exists()


@pytest.mark.slow
def test_the_shipped_flair_model_predicts_a_rescaled_copy_as_the_original(real_fingerprint, tmp_path):
    """Its recipe z-scores every image by its own brain statistics (subject-all): through
    ``msgan predict``, a x3-intensity copy of a real patient passes the fingerprint and is
    predicted as the original (the same image up to the scale of the output)."""
    cohort, _ = real_fingerprint
    both = tmp_path / "cohort"
    original = cohort.subjects["patient07"].sessions["t0"]
    # the brain's bounding box and a zero margin (half the voxels: half the time)
    lo, hi = np.argwhere(brain_mask(original, INPUTS)).min(0) - 2, np.argwhere(brain_mask(original, INPUTS)).max(0) + 3
    box = tuple(slice(a, b) for a, b in zip(lo, hi))
    for name in INPUTS:
        volume = original.load(name)
        affine = volume.affine.copy()
        affine[:3, 3] = volume.affine[:3, :3] @ lo + volume.affine[:3, 3]
        write_nifti(both / "sub-original" / "ses-t0" / f"{name}.nii.gz", volume.data[box], affine)
        write_nifti(both / "sub-times3" / "ses-t0" / f"{name}.nii.gz", 3.0 * volume.data[box], affine)
    out = tmp_path / "pred"
    assert _cli("predict", "--model", "flair-t1-t2-t1post", "--cohort", both, "--out", out) == 0
    first, second = (np.asarray(nib.load(str(out / s / "t0" / "FLAIR_pred.nii.gz")).dataobj)
                     for s in ("original", "times3"))
    brain = brain_mask(original, INPUTS)[box]
    assert brain.sum() > 1e6 and np.corrcoef(first[brain], second[brain])[0, 1] > 0.99


@pytest.mark.slow
def test_msgan_turns_another_orientation_and_masks_a_head_it_has_a_mask_for(real_fingerprint, fingerprinted_run,
                                                                            altered, tmp_path):
    """patient07 stored RAS (the model knows LAS) is predicted as the LAS original and written
    on its own RAS grid; a whole head with a brain mask beside it (msgan preprocess output)
    is masked by msgan predict, as the model's brain-extracted training scans were."""
    cohort, _ = real_fingerprint
    original = cohort.subjects["patient07"].sessions["t0"]
    both = tmp_path / "cohort"
    for name in INPUTS:
        volume = original.load(name)
        write_nifti(both / "sub-las" / "ses-t0" / f"{name}.nii.gz", volume.data, volume.affine)
        flipped = volume.affine @ np.array([[-1, 0, 0, volume.data.shape[0] - 1], [0, 1, 0, 0], [0, 0, 1, 0],
                                            [0, 0, 0, 1.0]])
        write_nifti(both / "sub-ras" / "ses-t0" / f"{name}.nii.gz", volume.data[::-1], flipped)
        (both / "sub-head" / "ses-t0").mkdir(parents=True, exist_ok=True)
        (both / "sub-head" / "ses-t0" / f"{name}.nii.gz").symlink_to(
            altered["head"] / "sub-patient07" / "ses-t0" / f"{name}.nii.gz")
    brain = brain_mask(original, INPUTS)
    write_nifti(both / "sub-head" / "ses-t0" / "brainmask.nii.gz", brain.astype(np.uint8), original.load("T1").affine)
    assert "".join(nib.aff2axcodes(flipped)) == "RAS"
    out = tmp_path / "pred"
    assert _cli("predict", "--run", fingerprinted_run, "--cohort", both, "--out", out) == 0
    las, ras, head = (nib.load(str(out / s / "t0" / "FLAIR_pred.nii.gz")) for s in ("las", "ras", "head"))
    np.testing.assert_allclose(ras.affine, flipped)
    np.testing.assert_allclose(np.asarray(ras.dataobj)[::-1], np.asarray(las.dataobj), rtol=1e-5, atol=1e-4)
    # the same image but for the few zero voxels inside the mask that the head copy filled with noise
    inside = brain > 0
    assert np.corrcoef(np.asarray(head.dataobj)[inside], np.asarray(las.dataobj)[inside])[0, 1] > 0.99


@pytest.mark.slow
def test_the_command_a_refusal_names_fixes_the_scan(fingerprinted_run, altered, tmp_path, capsys):
    """The 1 x 1 x 3 mm copy is refused with the msgan preprocess command that resamples it;
    that command, run as named, gives a cohort msgan predict takes (the mask it writes applied)."""
    assert _cli("predict", "--run", fingerprinted_run, "--cohort", altered["resampled"], "--out", tmp_path / "no") == 2
    (line,) = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    (command,) = re.findall(r"`(msgan preprocess [^`]*)`", line)
    fixed = tmp_path / "preprocessed"
    assert _cli(*command.split()[1:], "--cohort", altered["resampled"], "--out", fixed) == 0
    assert (fixed / "sub-patient07" / "ses-t0" / "brainmask.nii.gz").is_file()
    out = tmp_path / "pred"
    assert _cli("predict", "--run", fingerprinted_run, "--cohort", fixed, "--out", out) == 0
    pred = nib.load(str(out / "patient07" / "t0" / "FLAIR_pred.nii.gz"))
    np.testing.assert_allclose(pred.affine, nib.load(str(fixed / "sub-patient07" / "ses-t0" / "T1.nii.gz")).affine)
