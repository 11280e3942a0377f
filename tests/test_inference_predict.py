"""msgan predict / msgan export end to end on a tiny cohort: files, geometry, SavedModel, errors."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk

from conftest import make_tiny_session
from inference_helpers import NORMALIZATION, fcn_like, unet_like
from msgan.cli import main
from msgan.errors import ConfigError
from msgan.inference.export import export_predictor, model_card
from msgan.inference.geometry import plan_for_model
from msgan.inference.pipeline import VolumePredictor

REPO = Path(__file__).resolve().parents[1]
# an oblique grid with distinct sform (code 4, MNI) and qform (code 1, scanner) codes
AFFINE = np.array([[1.9, 0.3, 0.0, -30.0], [-0.3, 1.9, 0.1, 20.0], [0.0, -0.1, 2.1, -10.0], [0, 0, 0, 1]])


def _rewrite_geometry(folder: Path) -> None:
    for path in folder.glob("*.nii.gz"):
        img = nib.load(str(path))
        out = nib.Nifti1Image(np.asarray(img.dataobj), AFFINE)
        out.set_sform(AFFINE, 4)
        out.set_qform(AFFINE, 1)
        nib.save(out, str(path))


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("predict") / "cohort"
    for i, sid in enumerate(["p1", "p2"]):
        make_tiny_session(root / f"sub-{sid}" / "ses-t0", shape=(16, 18, 14), seed=i)
        _rewrite_geometry(root / f"sub-{sid}" / "ses-t0")
    return root


@pytest.fixture(scope="module")
def predictor() -> VolumePredictor:
    model = fcn_like()
    return VolumePredictor(model, ["T1", "T2"], "FLAIR", NORMALIZATION,
                           plan_for_model(model, tile=(8, 8, 8), batch_size=2))


@pytest.fixture(scope="module")
def saved_model(predictor, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("export") / "flair_fcn" / "1"
    card = model_card(predictor, {"task": "flair", "model": "fcn", "train_subjects": ["a", "b", "c"]})
    return export_predictor(predictor, out, card)


def _cli(*args):
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    return exc.value.code


def _env():
    return {**os.environ, "PYTHONPATH": str(REPO)}


def test_saved_model_cli_lists_both_signatures(saved_model):
    cli = Path(sys.executable).with_name("saved_model_cli")
    out = subprocess.run([str(cli), "show", "--all", "--dir", str(saved_model)],
                         capture_output=True, text=True, env=_env())
    assert out.returncode == 0, out.stderr
    assert "signature_def['serving_default']" in out.stdout
    assert "signature_def['predict_volume']" in out.stdout
    card = json.loads((saved_model / "assets" / "model_card.json").read_text())
    assert card["inputs"] == ["T1", "T2"] and card["target"] == "FLAIR" and card["training_subjects"] == 3
    assert card["normalization"]["stats"]["FLAIR"] == {"mean": 130.0, "std": 50.0}
    assert card["window"]["mode"] == "halo" and card["window"]["halo"] == 3


def test_predict_volume_without_msgan_matches_the_library(predictor, saved_model, cohort, tmp_path):
    from data_tools.io.cohort import open_cohort
    from data_tools.io.masks import brain_mask

    session = open_cohort(cohort).subjects["p1"].sessions["t0"]
    volumes, _ = session.stack(["T1", "T2"])
    brain = brain_mask(session, ["T1", "T2"])
    np.save(tmp_path / "volumes.npy", volumes)
    np.save(tmp_path / "brain.npy", brain.astype(np.float32))
    script = (
        "import sys, numpy as np, tensorflow as tf\n"
        f"model = tf.saved_model.load({str(saved_model)!r})\n"
        f"v = np.load({str(tmp_path / 'volumes.npy')!r}); b = np.load({str(tmp_path / 'brain.npy')!r})\n"
        "out = model.signatures['predict_volume'](volumes=tf.constant(v), brainmask=tf.constant(b))\n"
        f"np.save({str(tmp_path / 'served.npy')!r}, out['prediction'].numpy())\n"
        "assert not any(m.split('.')[0] in ('msgan', 'data_tools') for m in sys.modules), 'msgan imported'\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    served = np.load(tmp_path / "served.npy")
    library = predictor.predict(volumes, brain)
    assert served.shape == library.shape == brain.shape
    assert np.abs(served - library).max() < 1e-4
    assert np.abs(library[brain]).max() > 1.0


def test_cli_predict_writes_nifti_on_the_input_grid(saved_model, cohort, tmp_path):
    out = tmp_path / "pred"
    assert _cli("predict", "--saved-model", saved_model, "--cohort", cohort, "--out", out) == 0
    for sid in ("p1", "p2"):
        pred_path = out / sid / "t0" / "FLAIR_pred.nii.gz"
        src_path = cohort / f"sub-{sid}" / "ses-t0" / "T1.nii.gz"
        pred, src = nib.load(str(pred_path)), nib.load(str(src_path))
        assert pred.shape == src.shape and pred.get_data_dtype() == np.float32
        np.testing.assert_allclose(pred.affine, src.affine, atol=1e-6)
        assert int(pred.header["sform_code"]) == 4 and int(pred.header["qform_code"]) == 1
        np.testing.assert_allclose(pred.header.get_sform(), src.header.get_sform(), atol=1e-6)
        np.testing.assert_allclose(pred.header.get_qform(), src.header.get_qform(), atol=1e-5)
        # SimpleITK reads the same geometry as for the source, and as nibabel (RAS -> LPS)
        s_pred, s_src = sitk.ReadImage(str(pred_path)), sitk.ReadImage(str(src_path))
        for attr in ("GetOrigin", "GetSpacing", "GetDirection", "GetSize"):
            np.testing.assert_allclose(getattr(s_pred, attr)(), getattr(s_src, attr)(), atol=1e-5)
        lps = np.diag([-1.0, -1.0, 1.0])
        qform = pred.header.get_qform()  # ITK reads the qform when its code is set
        np.testing.assert_allclose(s_pred.GetOrigin(), lps @ qform[:3, 3], atol=1e-4)
        itk_matrix = np.array(s_pred.GetDirection()).reshape(3, 3) * np.array(s_pred.GetSpacing())
        np.testing.assert_allclose(itk_matrix, lps @ qform[:3, :3], atol=1e-4)
        data = np.asarray(pred.dataobj)
        brain = np.asarray(nib.load(str(src_path)).dataobj) != 0
        assert (data[~brain] == 0).all() and np.abs(data[brain]).max() > 1.0


def _one_line_error(capsys, code, *needles):
    err = capsys.readouterr().err.strip().splitlines()[-1]  # after any progress bar
    assert code == 2 and err.startswith("error: ") and "\n" not in err, err
    for needle in needles:
        assert needle in err, err


def test_missing_input_sequence_is_named(saved_model, cohort, tmp_path, capsys):
    broken = tmp_path / "cohort"
    shutil.copytree(cohort, broken)
    (broken / "sub-p2" / "ses-t0" / "T2.nii.gz").unlink()
    out = tmp_path / "pred"
    _one_line_error(capsys, _cli("predict", "--saved-model", saved_model, "--cohort", broken, "--out", out),
                    "T2 is missing", "p2")
    assert not out.exists()


def test_shape_mismatch_writes_nothing(saved_model, cohort, tmp_path, capsys):
    broken = tmp_path / "cohort"
    shutil.copytree(cohort, broken)
    t2 = broken / "sub-p2" / "ses-t0" / "T2.nii.gz"
    nib.save(nib.Nifti1Image(np.ones((16, 18, 12), np.float32), AFFINE), str(t2))
    out = tmp_path / "pred"
    _one_line_error(capsys, _cli("predict", "--saved-model", saved_model, "--cohort", broken, "--out", out),
                    "T2.nii.gz", "shape")
    assert not out.exists() and not list(tmp_path.glob(".pred*"))


def test_saved_model_of_another_task_or_without_signature(saved_model, cohort, tmp_path, capsys):
    other = tmp_path / "other" / "1"
    shutil.copytree(saved_model, other)
    card_path = other / "assets" / "model_card.json"
    card = json.loads(card_path.read_text())
    card_path.write_text(json.dumps({**card, "task": "myelin", "target": "PIB"}))
    _one_line_error(capsys, _cli("predict", "--saved-model", other, "--cohort", cohort, "--task", "flair",
                                 "--out", tmp_path / "a"), "myelin model", "flair")
    card_path.write_text(json.dumps({**card, "task": "saliency"}))
    _one_line_error(capsys, _cli("predict", "--saved-model", other, "--cohort", cohort,
                                 "--out", tmp_path / "b"), "not a prediction task")
    bare = tmp_path / "bare" / "1"
    fcn_like().export(str(bare), verbose=False)  # only serving_default, no predict_volume
    (bare / "assets").mkdir(exist_ok=True)
    (bare / "assets" / "model_card.json").write_text(json.dumps(card))
    _one_line_error(capsys, _cli("predict", "--saved-model", bare, "--cohort", cohort,
                                 "--out", tmp_path / "c"), "no 'predict_volume' signature")
    assert not any((tmp_path / n).exists() for n in "abc")


@pytest.fixture
def fake_run(tmp_path):
    """A run folder as the training engine leaves it, with a tiny dropout U-Net of the zoo."""
    import keras

    from msgan.models import build
    from msgan.training.run import save_weights

    run = tmp_path / "runs" / "flair_unet"
    run.mkdir(parents=True)
    (run / "history.csv").write_text("epoch,loss,val_loss,val_mse\n0,1.0,0.9,0.8\n1,0.5,0.6,0.7\n")
    config = {"task": "flair", "inputs": ["T1", "T2"], "target": "FLAIR", "model": "unet",
              "model_kwargs": {"base_filters": 2, "levels": 2}, "patch": [8, 8, 8],
              "train_subjects": ["a", "b"], "val_subjects": ["c"]}
    keras.utils.set_random_seed(0)
    save_weights(build("unet", 2, **config["model_kwargs"]), run / "model.weights.h5")
    (run / "config.json").write_text(json.dumps(config))
    (run / "normalization.json").write_text(json.dumps(NORMALIZATION))
    return run, config


@pytest.mark.slow
def test_run_prediction_with_mc_dropout_and_export(fake_run, cohort, tmp_path, capsys):
    from msgan.inference.predict import predictor_from_run

    run, state = fake_run
    predictor, _ = predictor_from_run(run)
    assert predictor.plan.mode == "gaussian" and predictor.plan.window == (8, 8, 8)
    assert predictor.plan.overlap == 0.25
    out = tmp_path / "pred"
    assert _cli("predict", "--run", run, "--cohort", cohort, "--subjects", "p1", "--session", "t0",
                "--samples", "3", "--out", out) == 0
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.nii.gz"))
    assert files == ["p1/t0/FLAIR_pred.nii.gz", "p1/t0/FLAIR_pred_sd.nii.gz"]
    sd = nib.load(str(out / "p1" / "t0" / "FLAIR_pred_sd.nii.gz"))
    assert sd.shape == (16, 18, 14) and np.asarray(sd.dataobj).max() > 0
    np.testing.assert_allclose(sd.affine, AFFINE, atol=1e-6)

    export = tmp_path / "saved_models" / "flair_unet" / "1"
    assert _cli("export", "--run", run, "--out", export) == 0
    card = json.loads((export / "assets" / "model_card.json").read_text())
    assert card["validation_metrics"] == {"val_loss": 0.6, "val_mse": 0.7}
    assert card["training_subjects"] == 2 and card["window"]["window"] == [8, 8, 8]
    import tensorflow as tf  # each variable is saved once (not also as a tracked Keras variable)
    saved = sum(int(np.prod(shape)) for key, shape in tf.train.list_variables(str(export / "variables" / "variables"))
                if not key.startswith("_CHECKPOINTABLE"))
    assert 0 < saved <= sum(int(np.prod(v.shape)) for v in predictor.model.variables)

    _one_line_error(capsys, _cli("predict", "--saved-model", export, "--cohort", cohort, "--samples", "3",
                                 "--out", tmp_path / "y"), "needs the run folder")
    _one_line_error(capsys, _cli("predict", "--run", run, "--cohort", cohort, "--task", "myelin",
                                 "--out", tmp_path / "x"), "flair model", "myelin")
    (run / "config.json").write_text(json.dumps({**state, "task": "saliency"}))
    with pytest.raises(ConfigError, match="not a prediction task"):
        predictor_from_run(run)
