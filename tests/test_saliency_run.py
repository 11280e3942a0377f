"""P3S on a trained fcn ranks first the sequence FLAIR is made from (sec. 2.3.3), end to end."""
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO, write_nifti
from scipy.ndimage import gaussian_filter

from data_tools.contracts import ShardSpec
from data_tools.io.cohort import open_cohort
from data_tools.shards.dataset import build_shards
from msgan.saliency.session import saliency_for_session
from msgan.training.presets import TrainOptions
from msgan.training.run import train

INPUTS = ["T1", "T2", "DIR"]


def dir_driven_cohort(root, n=4, shape=(16, 16, 16)):
    """Smooth random T1, T2 and DIR; FLAIR = 1.0 DIR + 0.1 T1 + 0.05 T2 inside a ball brain."""
    grid = np.indices(shape).astype(np.float32)
    centre = (np.array(shape) - 1) / 2
    brain = np.sqrt(((grid - centre[:, None, None, None]) ** 2).sum(0)) < 7
    rows = ["participant_id\tgroup"]
    for i in range(n):
        rng = np.random.default_rng(i)
        fields = {name: gaussian_filter(rng.normal(size=shape), 1.5) for name in INPUTS}
        # unit-SD fields: the sequences must carry more signal than the brain's edge
        images = {name: np.where(brain, 100 + 30 * f / f.std(), 0) for name, f in fields.items()}
        images["FLAIR"] = images["DIR"] + 0.1 * images["T1"] + 0.05 * images["T2"]
        for name, data in images.items():
            write_nifti(root / f"sub-s{i}" / "ses-t0" / f"{name}.nii.gz", data.astype(np.float32))
        write_nifti(root / f"sub-s{i}" / "ses-t0" / "wm.nii.gz", brain.astype(np.uint8))
        rows.append(f"sub-s{i}\tMS")
    (root / "participants.tsv").write_text("\n".join(rows) + "\n")
    return root


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("p3s")
    cohort = open_cohort(cohort=dir_driven_cohort(tmp / "cohort"))
    build_shards(cohort, ShardSpec("flair", inputs=INPUTS, target="FLAIR", layout="whole"), tmp / "shards",
                 progress=False)
    train(TrainOptions("fcn", str(tmp / "shards"), str(tmp / "run"), exclude_subjects=["s3"], epochs=60,
                       batch=1, optimizer="adam", lr=3e-3, early_stopping=False,
                       model_kwargs={"filters": 8, "n_layers": 2}, progress=False))
    return tmp, cohort


def test_p3s_ranks_dir_first_and_writes_maps(trained):
    tmp, cohort = trained
    ranking = saliency_for_session(tmp / "run", cohort, "s3", tmp / "saliency")
    assert [name for name, _ in ranking][0] == "DIR", ranking
    written = sorted(p.name for p in (tmp / "saliency").iterdir())
    assert written == ["attention.nii.gz", "attention.png", "p3s.png", "p3s_DIR.nii.gz", "p3s_T1.nii.gz",
                       "p3s_T2.nii.gz", "p3s_ranking.csv"]
    import nibabel as nib

    source = nib.load(str(tmp / "cohort" / "sub-s3" / "ses-t0" / "T1.nii.gz"))
    saved = nib.load(str(tmp / "saliency" / "p3s_DIR.nii.gz"))
    assert saved.shape == source.shape and np.allclose(saved.affine, source.affine)


def test_saliency_cli_unknown_subject_is_one_line(trained):
    tmp, _ = trained
    out = subprocess.run([sys.executable, "-m", "msgan", "saliency", "--run", str(tmp / "run"), "--cohort",
                          str(tmp / "cohort"), "--subject", "nobody", "--out", str(tmp / "x")],
                         capture_output=True, text=True, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip().splitlines()[-1].startswith("error: ") and "nobody" in out.stderr
    assert not (tmp / "x").exists()
