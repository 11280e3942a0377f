"""A researcher's install: the wheel carries the shipped models, which list and run by name
from any folder (not a clone), with a quiet console (no TensorFlow C++ log lines); a lab's
own model folder is found by --model-dir or $MSGAN_MODELS."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from conftest import REPO, write_nifti
from msgan.cli import main
from msgan.cli.quiet import CPP_LOG_LINE
from msgan.inference.shipped import MODELS_ENV, SHIPPED_DIR, describe, resolve_model

SHIPPED = ("flair-t1-t2", "flair-t1-t2-t1post", "pib-mtr-fa-rd-ad")


def _cli(*args) -> int:
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    return exc.value.code


def _tiny_cohort(folder: Path, names, voxel: float) -> Path:
    """One session of a 32^3 ball 'brain' (zero outside) at ``voxel`` mm."""
    grid = np.indices((32, 32, 32)) - 15.5
    brain = (grid ** 2).sum(0) < 12 ** 2
    rng = np.random.default_rng(0)
    for k, name in enumerate(names):
        data = np.where(brain, 0.5 + k + rng.random(brain.shape), 0).astype(np.float32)
        write_nifti(folder / "sub-01" / "ses-t0" / f"{name}.nii.gz", data, np.diag([voxel] * 3 + [1.0]))
    return folder


def test_a_labs_model_folder_by_option_and_environment(tmp_path, monkeypatch, capsys):
    lab = tmp_path / "lab"
    (lab / "lab-flair").mkdir(parents=True)
    (lab / "lab-flair" / "3").symlink_to(resolve_model("flair-t1-t2-t1post"), target_is_directory=True)
    monkeypatch.delenv(MODELS_ENV, raising=False)
    assert resolve_model("lab-flair", model_dir=lab) == lab / "lab-flair" / "3"
    assert _cli("models", "--model-dir", lab) == 0
    listed = {line.split(" ")[0] for line in capsys.readouterr().out.splitlines()}
    assert listed == {"lab-flair", *SHIPPED}
    monkeypatch.setenv(MODELS_ENV, str(lab))
    assert {row["name"] for row in describe()} == {"lab-flair", *SHIPPED}
    out = tmp_path / "pred"
    cohort = _tiny_cohort(tmp_path / "cohort", ("T1", "T2", "T1POST"), 1.0)
    assert _cli("predict", "--model", "lab-flair", "--cohort", cohort, "--out", out, "--force") == 0
    assert (out / "01" / "t0" / "FLAIR_pred.nii.gz").is_file()
    assert _cli("predict", "--model", "flair-t1-t2-t1post", "--model-dir", tmp_path / "nowhere",
                "--cohort", cohort, "--out", tmp_path / "x") == 2
    assert str(tmp_path / "nowhere") in capsys.readouterr().err and not (tmp_path / "x").exists()


def _fresh_venv_with_wheel(tmp_path: Path) -> Path:
    """A new virtualenv holding only the msgan wheel built from a copy of the sources; the
    dependencies (TensorFlow, ...) come from this interpreter's site-packages by a .pth
    line, so nothing is downloaded or reinstalled. Returns its bin folder."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    for package in ("msgan", "data_tools"):
        shutil.copytree(REPO / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                    "-q", "-w", str(wheels), str(source)], check=True, cwd=tmp_path)
    (wheel,) = wheels.glob("msgan-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                    "-q", str(wheel)], check=True, cwd=tmp_path)
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    (Path(site) / "zz_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv / "bin"


@pytest.mark.slow
def test_the_wheel_installs_the_models_that_list_and_run_from_another_folder(tmp_path):
    bin_dir = _fresh_venv_with_wheel(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", MODELS_ENV, "TF_CPP_MIN_LOG_LEVEL")}

    def run(*args):
        return subprocess.run([str(a) for a in args], cwd=elsewhere, env=env, capture_output=True, text=True)

    where = run(bin_dir / "python", "-c", "import msgan.inference.shipped as s; print(s.SHIPPED_DIR)")
    assert where.returncode == 0 and Path(where.stdout.strip()).is_relative_to(tmp_path / "venv")
    assert Path(where.stdout.strip()) != SHIPPED_DIR
    listed = run(bin_dir / "msgan", "models", "--shipped")
    assert listed.returncode == 0, listed.stderr
    assert sorted(line.split(" ")[0] for line in listed.stdout.splitlines()) == sorted(SHIPPED)
    for model, names, voxel, target in (("flair-t1-t2-t1post", ("T1", "T2", "T1POST"), 1.0, "FLAIR"),
                                        ("flair-t1-t2", ("T1", "T2"), 1.0, "FLAIR"),
                                        ("pib-mtr-fa-rd-ad", ("MTR", "FA", "RD", "AD"), 2.0, "PIB")):
        cohort = _tiny_cohort(elsewhere / f"cohort-{model}", names, voxel)
        done = run(bin_dir / "msgan", "predict", "--model", model, "--cohort", cohort, "--out",
                   elsewhere / f"pred-{model}", "--force")
        assert done.returncode == 0, done.stderr
        noise = [line for line in done.stderr.splitlines() if CPP_LOG_LINE.match(line) or "cpu_feature" in line]
        assert noise == []  # TensorFlow's own C++/absl lines are off without --verbose
        pred = np.asarray(nib.load(str(elsewhere / f"pred-{model}" / "01" / "t0" / f"{target}_pred.nii.gz")).dataobj)
        assert np.isfinite(pred).all() and np.abs(pred).max() > 0
