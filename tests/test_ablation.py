"""Removing the most salient sequence costs the most MSE (sec. 2.3.3, Table 2.4a), end to end."""
import pytest
from test_saliency_run import dir_driven_cohort

from data_tools.io.cohort import open_cohort
from msgan.errors import ConfigError
from msgan.experiments.ablation import ablate, ablation_variants


def test_variants_drop_each_and_add_combinations():
    assert ablation_variants(["T1", "T2", "DIR"], combos=["t1+dir"]) == [
        ("all", ["T1", "T2", "DIR"]), ("no-T1", ["T2", "DIR"]), ("no-T2", ["T1", "DIR"]),
        ("no-DIR", ["T1", "T2"]), ("T1+DIR", ["T1", "DIR"])]
    assert ablation_variants(["T1", "DIR"], combos=["T1"], drop_each=False) == [("all", ["T1", "DIR"]), ("T1", ["T1"])]
    with pytest.raises(ConfigError, match="PD"):
        ablation_variants(["T1", "DIR"], combos=["T1+PD"])


def test_removing_dir_costs_the_most(tmp_path):
    cohort = open_cohort(cohort=dir_driven_cohort(tmp_path / "cohort"))
    summary = ablate(cohort, "flair", ["T1", "T2", "DIR"], "FLAIR", tmp_path / "ablation", ["s3"],
                     models=["fcn", "random_forest"],
                     train_kwargs={"epochs": 40, "batch": 1, "optimizer": "adam", "lr": 3e-3,
                                   "model_kwargs": {"filters": 8, "n_layers": 2}},
                     tile=8, progress=False)  # small tiles: whole-volume prediction stitched
    for model in ("fcn", "random_forest"):
        mse = summary[summary.model == model].set_index("variant")["mse_mean"]
        removed = mse.drop("all")
        assert removed.idxmax() == "no-DIR", (model, mse.to_dict())
    assert (tmp_path / "ablation" / "ablation.md").read_text().count("no-DIR") == 2
    # held-out predictions kept in msgan predict's layout, on the truth's grid
    import nibabel as nib

    saved = nib.load(str(tmp_path / "ablation" / "predictions" / "fcn" / "no-DIR" / "s3" / "t0" / "FLAIR_pred.nii.gz"))
    truth = nib.load(str(tmp_path / "cohort" / "sub-s3" / "ses-t0" / "FLAIR.nii.gz"))
    assert saved.shape == truth.shape and (saved.affine == truth.affine).all()
