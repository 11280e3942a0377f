"""Models that ship in msgan/saved_models/ run by name on a fresh install, with no training
(issue 18, item 3)."""
from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest

from bids_rules import derivative_name_problems
from conftest import make_open_ms_bids
from data_tools.simulation.cohort import simulate_cohort
from msgan.cli import main
from msgan.errors import ConfigError
from msgan.inference.shipped import SHIPPED_DIR, describe, resolve_model, shipped_models

SHIPPED = ("pib-mtr-fa-rd-ad", "flair-t1-t2-t1post", "flair-t1-t2")


def _cli(*args) -> int:
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    return exc.value.code


def test_the_shipped_models_are_there_small_and_described(capsys):
    found = shipped_models()
    for name in SHIPPED:
        assert name in found, f"{name} missing from {SHIPPED_DIR}: run scripts/train_shipped_models.sh"
        size = sum(f.stat().st_size for f in found[name].rglob("*") if f.is_file())
        assert size < 10e6
    rows = {row["name"]: row for row in describe()}
    pib = rows["pib-mtr-fa-rd-ad"]
    assert pib["inputs"] == ["MTR", "FA", "RD", "AD"] and pib["target"] == "PIB"
    card = json.loads((found["pib-mtr-fa-rd-ad"] / "assets" / "model_card.json").read_text())
    assert next(iter(card)) == "note" and "SIMULATED" in card["note"]  # first, as the issue asks
    assert card["fingerprint"]["voxel_size"]["min"] == [2.0, 2.0, 2.0]
    raw = json.loads((found["flair-t1-t2"] / "assets" / "model_card.json").read_text())
    assert raw["inputs"] == ["T1", "T2"] and raw["space"] == "mni152"  # msgan synthesize needs the space
    assert set(raw["training_sessions"]) == {"patient03/study2", "patient04/study1", "patient07/t0", "patient19/t0"}
    flair = rows["flair-t1-t2-t1post"]
    assert flair["inputs"] == ["T1", "T2", "T1POST"] and flair["target"] == "FLAIR"
    card = json.loads((found["flair-t1-t2-t1post"] / "assets" / "model_card.json").read_text())
    assert next(iter(card)) == "note" and card["training_subjects"] == 2
    assert card["fingerprint"]["voxel_size"]["min"] == [1.0, 1.0, 1.0]
    assert card["normalization"]["scope"] == "subject-all"  # the real-flair recipe
    assert _cli("models", "--shipped") == 0
    listed = capsys.readouterr().out.splitlines()
    assert sorted(line.split(" ")[0] for line in listed) == sorted(SHIPPED)
    with pytest.raises(ConfigError, match="pib-mtr-fa-rd-ad"):  # an unknown name lists the shipped ones
        resolve_model("no-such-model")


@pytest.mark.slow
def test_the_shipped_pib_model_predicts_an_unseen_simulated_patient(tmp_path):
    """A patient the model never saw (another simulation seed) at the training resolution."""
    cohort = simulate_cohort(tmp_path / "cohort", n_ms=1, n_hc=0, resolution=2.0, seed=11,
                             sessions=("t0",), progress=False)
    out = tmp_path / "pred"
    assert _cli("predict", "--model", "pib-mtr-fa-rd-ad", "--cohort", cohort, "--out", out) == 0
    pred = nib.load(str(out / "ms01" / "t0" / "PIB_pred.nii.gz"))
    truth = nib.load(str(cohort / "sub-ms01" / "ses-t0" / "PIB.nii.gz"))
    brain = np.asarray(nib.load(str(cohort / "sub-ms01" / "ses-t0" / "brainmask.nii.gz")).dataobj) > 0
    p, t = np.asarray(pred.dataobj)[brain], np.asarray(truth.dataobj)[brain]
    np.testing.assert_allclose(pred.affine, truth.affine)
    assert np.corrcoef(p, t)[0, 1] > 0.5  # it has learnt the myelin map, not a constant


@pytest.mark.slow
def test_the_shipped_flair_model_on_a_bids_copy_of_the_real_patients(open_ms_data, tmp_path):
    """The issue's "done when": BIDS in, valid derivatives out, no training, no warning.

    Both patients trained this model, so the correlation here is in-sample: it shows the
    model runs and is the one trained, not how it generalises (README, "Models that ship")."""
    root = make_open_ms_bids(open_ms_data, tmp_path / "bids")
    out = tmp_path / "out"
    assert _cli("predict", "--model", "flair-t1-t2-t1post", "--bids", root, "--bids-out", out) == 0
    derivatives = out / "derivatives" / "msgan"
    assert json.loads((derivatives / "dataset_description.json").read_text())["DatasetType"] == "derivative"
    names = sorted(p.relative_to(derivatives).as_posix() for p in derivatives.rglob("sub-*") if p.is_file())
    assert len(names) == 4 and {n: derivative_name_problems(n) for n in names} == {n: [] for n in names}
    for subject in ("patient07", "patient19"):
        stem = derivatives / f"sub-{subject}" / "anat" / f"sub-{subject}_desc-synthetic_FLAIR"
        sidecar = json.loads(stem.with_suffix(".json").read_text())
        assert sidecar["Warnings"] == [] and sidecar["Model"]["Inputs"] == ["T1", "T2", "T1POST"]
        pred = nib.load(str(stem.with_suffix(".nii.gz")))
        truth = nib.load(str(root / f"sub-{subject}" / "anat" / f"sub-{subject}_FLAIR.nii.gz"))
        np.testing.assert_allclose(pred.affine, truth.affine)
        t1 = np.asarray(nib.load(str(root / f"sub-{subject}" / "anat" / f"sub-{subject}_T1w.nii.gz")).dataobj)
        brain = t1 != 0
        p, t = np.asarray(pred.dataobj)[brain], np.asarray(truth.dataobj)[brain]
        assert np.corrcoef(p, t)[0, 1] > 0.5
