"""BIDS in (pybids) and BIDS derivatives out (issue 18, items 1-2)."""
from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from bids_rules import derivative_name_problems
from conftest import OPEN_MS_MANIFEST, make_open_ms_bids, make_tiny_session
from data_tools.errors import CohortError
from data_tools.io.cohort import load_manifest, open_cohort
from inference_helpers import NORMALIZATION
from msgan.cli import main
from msgan.inference.bids_out import sources
from msgan.inference.predict import predict_cohort, predictor_from_run
from msgan.models import build
from msgan.training.run import save_weights

def _bids_file(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)


@pytest.fixture
def bids_root(tmp_path) -> Path:
    """sub-a without sessions (two FLAIR runs, a contrast T1w, a lesion mask derivative);
    sub-b with ses-01 and ses-02, FLAIR missing at ses-02."""
    root = tmp_path / "bids"
    raw = tmp_path / "raw"
    (root).mkdir()
    (root / "dataset_description.json").write_text(json.dumps({"Name": "toy", "BIDSVersion": "1.9.0"}))
    (root / "participants.tsv").write_text("participant_id\tgroup\nsub-a\tMS\nsub-b\tHC\n")
    files = make_tiny_session(raw / "a", seed=0, names=("T1", "T2", "FLAIR", "T1POST"))
    anat = root / "sub-a" / "anat"
    _bids_file(files["T1"], anat / "sub-a_T1w.nii.gz")
    _bids_file(files["T1POST"], anat / "sub-a_ce-gadolinium_T1w.nii.gz")
    _bids_file(files["T2"], anat / "sub-a_T2w.nii.gz")
    _bids_file(files["FLAIR"], anat / "sub-a_run-1_FLAIR.nii.gz")
    _bids_file(files["FLAIR"], anat / "sub-a_run-2_FLAIR.nii.gz")
    lesions = root / "derivatives" / "manual" / "sub-a" / "anat" / "sub-a_desc-lesion_mask.nii.gz"
    _bids_file(files["lesions"], lesions)
    (lesions.parents[2] / "dataset_description.json").write_text(json.dumps(
        {"Name": "lesions", "BIDSVersion": "1.9.0", "DatasetType": "derivative",
         "GeneratedBy": [{"Name": "manual"}]}))
    for k, ses in enumerate(("01", "02")):
        files = make_tiny_session(raw / f"b{ses}", seed=k + 1)
        anat = root / "sub-b" / f"ses-{ses}" / "anat"
        _bids_file(files["T1"], anat / f"sub-b_ses-{ses}_T1w.nii.gz")
        _bids_file(files["T2"], anat / f"sub-b_ses-{ses}_T2w.nii.gz")
        if ses == "01":
            _bids_file(files["FLAIR"], anat / f"sub-b_ses-{ses}_FLAIR.nii.gz")
    return root


def test_a_bids_dataset_is_a_cohort(bids_root, caplog):
    with caplog.at_level(logging.WARNING):
        cohort = open_cohort(cohort=bids_root)
    a = cohort.subjects["a"]
    assert a.group == "MS" and list(a.sessions) == ["t0"] and a.sessions["t0"].bids.session is None
    files = a.sessions["t0"].files
    assert sorted(files) == ["FLAIR", "T1", "T1POST", "T2", "lesions"]
    assert files["FLAIR"].name == "sub-a_run-2_FLAIR.nii.gz"  # the highest run wins
    assert files["T1POST"].name == "sub-a_ce-gadolinium_T1w.nii.gz"
    assert "sub-a_run-1_FLAIR.nii.gz" in caplog.text  # ... and the skipped one is named
    b = cohort.subjects["b"]
    assert sorted(b.sessions) == ["01", "02"] and b.group == "HC"
    assert b.sessions["01"].has("FLAIR") and not b.sessions["02"].has("FLAIR")
    assert b.sessions["02"].load("T1").data.shape == (16, 16, 16)


@pytest.fixture
def fcn_run(tmp_path) -> Path:
    import keras

    run = tmp_path / "run"
    run.mkdir()
    keras.utils.set_random_seed(0)
    kwargs = {"filters": 2, "n_layers": 2}
    save_weights(build("fcn", 2, **kwargs), run / "model.weights.h5")
    (run / "config.json").write_text(json.dumps(
        {"task": "flair", "inputs": ["T1", "T2"], "target": "FLAIR", "model": "fcn",
         "model_kwargs": kwargs, "patch": None, "train_subjects": ["x", "y", "z"]}))
    (run / "normalization.json").write_text(json.dumps(NORMALIZATION))
    return run


def _cli(*args) -> int:
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    return exc.value.code


def test_predictions_as_bids_derivatives(bids_root, fcn_run):
    from bids import BIDSLayout

    assert _cli("predict", "--run", fcn_run, "--bids", bids_root, "--bids-out", bids_root) == 0
    derivatives = bids_root / "derivatives" / "msgan"
    description = json.loads((derivatives / "dataset_description.json").read_text())
    assert description["DatasetType"] == "derivative" and description["GeneratedBy"][0]["Name"] == "msgan"
    assert description["DatasetLinks"]["raw"] == "../.."
    names = sorted(p.relative_to(derivatives).as_posix() for p in derivatives.rglob("sub-*") if p.is_file())
    assert names == ["sub-a/anat/sub-a_desc-synthetic_FLAIR.json", "sub-a/anat/sub-a_desc-synthetic_FLAIR.nii.gz",
                     "sub-b/ses-01/anat/sub-b_ses-01_desc-synthetic_FLAIR.json",
                     "sub-b/ses-01/anat/sub-b_ses-01_desc-synthetic_FLAIR.nii.gz",
                     "sub-b/ses-02/anat/sub-b_ses-02_desc-synthetic_FLAIR.json",
                     "sub-b/ses-02/anat/sub-b_ses-02_desc-synthetic_FLAIR.nii.gz"]
    assert {name: derivative_name_problems(name) for name in names} == {name: [] for name in names}
    # the field's parser reads them back with the right entities
    layout = BIDSLayout(str(derivatives), validate=False, is_derivative=True)
    parsed = {(f.entities["subject"], f.entities.get("session"), f.entities["desc"], f.entities["suffix"])
              for f in layout.get(extension=".nii.gz")}
    assert parsed == {("a", None, "synthetic", "FLAIR"), ("b", "01", "synthetic", "FLAIR"),
                      ("b", "02", "synthetic", "FLAIR")}
    sidecar = json.loads((derivatives / "sub-b/ses-02/anat/sub-b_ses-02_desc-synthetic_FLAIR.json").read_text())
    assert sidecar["Synthetic"] is True
    assert sidecar["Sources"] == ["bids:raw:sub-b/ses-02/anat/sub-b_ses-02_T1w.nii.gz",
                                  "bids:raw:sub-b/ses-02/anat/sub-b_ses-02_T2w.nii.gz"]
    assert sidecar["Model"]["Inputs"] == ["T1", "T2"] and sidecar["Model"]["TrainingSubjects"] == 3
    assert sidecar["Model"]["Model"] == "fcn" and sidecar["Uncertainty"] is None
    import hashlib  # the weights that made it, by hash (a run folder has no version)
    assert sidecar["Model"]["WeightsSha256"] == hashlib.sha256((fcn_run / "model.weights.h5").read_bytes()).hexdigest()
    assert "NegativeValues" in sidecar
    # geometry of the input kept
    source = nib.load(str(bids_root / "sub-b/ses-02/anat/sub-b_ses-02_T1w.nii.gz"))
    image = nib.load(str(derivatives / "sub-b/ses-02/anat/sub-b_ses-02_desc-synthetic_FLAIR.nii.gz"))
    np.testing.assert_allclose(image.affine, source.affine)
    assert np.asarray(image.dataobj).min() >= 0  # negative values clipped
    # msgan's own outputs are never read back as inputs
    again = open_cohort(cohort=bids_root)
    assert again.subjects["b"].sessions["02"].files.keys() == {"T1", "T2"}
    # a second run does not replace the derivatives without --overwrite
    assert _cli("predict", "--run", fcn_run, "--cohort", bids_root, "--bids-out", bids_root) == 2


def test_sessions_lacking_an_input_are_skipped_and_listed_on_request(bids_root, fcn_run, tmp_path, caplog):
    (bids_root / "sub-b/ses-02/anat/sub-b_ses-02_T2w.nii.gz").unlink()
    assert _cli("predict", "--run", fcn_run, "--cohort", bids_root, "--out", tmp_path / "strict") == 2
    assert not (tmp_path / "strict").exists()
    (bids_root / "sub-b/ses-02/anat/sub-b_ses-02_T1w.nii.gz").rename(
        bids_root / "sub-b/ses-02/anat/sub-b_ses-02_ce-gadolinium_T1w.nii.gz")
    with pytest.raises(CohortError, match=re.escape("*_T1w (without ce-)")):  # named as the BIDS file it needs
        predict_cohort(predictor_from_run(fcn_run)[0], open_cohort(cohort=bids_root), tmp_path / "x")
    (bids_root / "sub-b/ses-02/anat/sub-b_ses-02_ce-gadolinium_T1w.nii.gz").rename(
        bids_root / "sub-b/ses-02/anat/sub-b_ses-02_T1w.nii.gz")
    with caplog.at_level(logging.WARNING):
        assert _cli("predict", "--run", fcn_run, "--cohort", bids_root, "--out", tmp_path / "lenient",
                    "--skip-incomplete") == 0
    assert "sub-b/ses-02 (T2)" in caplog.text
    written = sorted(p.relative_to(tmp_path / "lenient").as_posix() for p in (tmp_path / "lenient").rglob("*.nii.gz"))
    assert written == ["a/t0/FLAIR_pred.nii.gz", "b/01/FLAIR_pred.nii.gz"]


def test_the_real_patients_as_bids_read_like_the_manifest(open_ms_data, tmp_path):
    """A BIDS copy (links) of the two shared patients gives the manifest's files."""
    manifest = load_manifest(OPEN_MS_MANIFEST, root=open_ms_data)
    root = make_open_ms_bids(open_ms_data, tmp_path / "oms-bids")
    cohort = open_cohort(cohort=root)
    assert sorted(cohort.subjects) == sorted(manifest.subjects)
    for sid, subject in cohort.subjects.items():
        (expected,) = manifest.subjects[sid].sessions.values()
        files = subject.sessions["t0"].files
        assert {n: Path(p).resolve() for n, p in files.items()} == {
            n: Path(p).resolve() for n, p in expected.files.items()}
        # a dataset of links (DataLad, git-annex) is cited by its own paths, not the links' targets
        assert sources(subject.sessions["t0"], ["T1", "T1POST"], root) == [
            f"bids:raw:sub-{sid}/anat/sub-{sid}_T1w.nii.gz", f"bids:raw:sub-{sid}/anat/sub-{sid}_ce-gadolinium_T1w.nii.gz"]


@pytest.mark.parametrize("name, valid", [
    ("sub-a/anat/sub-a_desc-synthetic_FLAIR.nii.gz", True),
    ("sub-b/ses-01/pet/sub-b_ses-01_desc-synthetic_pet.json", True),
    ("sub-a/anat/sub-a_ce-gadolinium_desc-synthetic_T1w.nii.gz", True),
    ("sub-a/anat/sub-a_desc-synthetic_ses-01_FLAIR.nii.gz", False),  # entity order
    ("sub-a/anat/sub-a_desc-synthetic_PIB.nii.gz", False),  # no such suffix
    ("sub-a/anat/sub-a_desc-syn_thetic_FLAIR.nii.gz", False),  # label not alphanumeric
    ("sub-a/anat/sub-b_desc-synthetic_FLAIR.nii.gz", False),  # subject of another folder
    ("sub-a/anat/sub-a_tracer-PIB_FLAIR.nii.gz", False),  # an entity anat does not take
    ("sub-a/anat/sub-a_desc-synthetic_FLAIR.mgz", False),  # extension
])
def test_the_bids_schema_check_tells_valid_from_invalid_names(name, valid):
    assert (derivative_name_problems(name) == []) == valid


@pytest.mark.parametrize("where", ["dataset_description.json", "derivatives/manual/dataset_description.json"])
@pytest.mark.parametrize("text", ['{"Name": "toy", ', '["toy"]'])
def test_a_broken_dataset_description_is_one_line_naming_it(bids_root, tmp_path, capsys, where, text):
    (bids_root / where).write_text(text)
    assert _cli("make-tfrecords", "--cohort", bids_root, "--task", "flair", "--inputs", "T1,T2",
                "--out", tmp_path / "shards") == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"error: {bids_root / where}: ")
    assert not (tmp_path / "shards").exists()
