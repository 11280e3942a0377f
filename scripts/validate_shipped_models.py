"""How well the shipped models do on data they never saw (README, "Models that ship").

    python scripts/validate_shipped_models.py [--work DIR]

pib-mtr-fa-rd-ad: three new simulated subjects (msgan simulate --seed 11, 2 MS + 1 HC,
2 mm), never seen in training (seed 0): correlation and mean absolute error of the
predicted PIB DVR inside the brain, and the lesion / NAWM mean DVR ratio of the
prediction against the truth's.

flair-t1-t2-t1post: the two real patients it was trained on (in-sample: there is no third
real patient here; the recipe's leave-one-patient-out figures are in the README's "FLAIR
on real patients", from scripts/benchmark_real_flair.py), with the benchmark's measures:
brain correlation, scale-free SSIM and lesion/NAWM contrast over the truth's.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import nibabel as nib
import numpy as np

from data_tools.simulation.cohort import simulate_cohort


def load(path: Path) -> np.ndarray:
    return np.asarray(nib.load(str(path)).dataobj, np.float32)


def validate_pib(work: Path) -> list[dict]:
    cohort = simulate_cohort(work / "cohort", n_ms=2, n_hc=1, resolution=2.0, seed=11,
                             sessions=("t0",), progress=False, overwrite=True)
    out = work / "pred"
    subprocess.run([sys.executable, "-m", "msgan", "predict", "--model", "pib-mtr-fa-rd-ad", "--cohort",
                    str(cohort), "--out", str(out), "--overwrite"], check=True)
    rows = []
    for folder in sorted(cohort.glob("sub-*/ses-t0")):
        subject = folder.parent.name.removeprefix("sub-")
        brain = load(folder / "brainmask.nii.gz") > 0
        lesions = load(folder / "lesions.nii.gz") > 0
        nawm = (load(folder / "wm.nii.gz") > 0) & ~lesions
        truth, pred = load(folder / "PIB.nii.gz"), load(out / subject / "t0" / "PIB_pred.nii.gz")
        row = {"subject": subject, "r": float(np.corrcoef(truth[brain], pred[brain])[0, 1]),
               "mae": float(np.abs(truth - pred)[brain].mean())}
        if lesions.any():
            row["lesion_nawm_pred"] = float(pred[lesions].mean() / pred[nawm].mean())
            row["lesion_nawm_true"] = float(truth[lesions].mean() / truth[nawm].mean())
        rows.append(row)
    return rows


def validate_flair(work: Path, root: Path) -> list[dict]:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from benchmark_real_flair import load_patient, measures

    from data_tools.io.cohort import load_manifest

    repo = Path(__file__).resolve().parents[1]
    manifest = repo / "examples" / "open_ms_data.csv"
    out = work / "pred"
    subprocess.run([sys.executable, "-m", "msgan", "predict", "--model", "flair-t1-t2-t1post", "--manifest",
                    str(manifest), "--root", str(root), "--out", str(out), "--overwrite"], check=True)
    rows = []
    for subject in ("patient07", "patient19"):
        patient = load_patient(load_manifest(manifest, root=root).subjects[subject].sessions["t0"])
        pred = load(out / subject / "t0" / "FLAIR_pred.nii.gz")
        rows.append({"subject": subject, **measures(patient["y"], pred, patient)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--models", default="pib,flair", help="comma-separated: pib, flair")
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data"
                        / "open_ms_data", help="the shared real patients (flair)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="msgan-shipped-"))
    which = args.models.split(",")
    if "flair" in which:
        print("| model | patient (trained on it) | r in the brain | scale-free SSIM | lesion/NAWM contrast vs truth's |")
        print("| --- | --- | ---: | ---: | ---: |")
        for row in validate_flair(work / "flair", args.root):
            print(f"| flair-t1-t2-t1post | {row['subject']} | {row['r']:.3f} | {row['ssim_scale_free']:.3f} | "
                  f"{row['contrast_vs_truth']:.2f}x |")
        print()
    if "pib" not in which:
        return
    print("| model | subject | r in the brain | MAE (DVR) | lesion/NAWM predicted | lesion/NAWM true |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for row in validate_pib(work / "pib"):
        print(f"| pib-mtr-fa-rd-ad | {row['subject']} | {row['r']:.3f} | {row['mae']:.3f} | "
              f"{row.get('lesion_nawm_pred', float('nan')):.3f} | {row.get('lesion_nawm_true', float('nan')):.3f} |")


if __name__ == "__main__":
    main()
