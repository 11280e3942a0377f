"""Bring the shared raw sessions (patients 03 and 04: T1W, T2W, FLAIR heads) into MNI152
space with ``msgan synthesize``'s own chain (:func:`msgan.inference.raw_chain.to_model_space`:
N4, registration onto the T1, brain extraction, affine registration to the template), so
that models can train on them beside the MNI patients 07 and 19.

Writes a cohort folder ``OUT/sub-patientNN/ses-studyN/{T1,T2,FLAIR,brainmask}.nii.gz`` and
``OUT/manifest.csv`` listing those sessions and the MNI patients of the shared data (T1, T2,
FLAIR, lesions) for ``msgan make-tfrecords --manifest``; prints each step's seconds.

    PYTHONPATH=$PWD nice -n 10 python scripts/prepare_raw_sessions.py --out /tmp/raw-mni
        [--data ../shared/data/open_ms_data] [--brain-extractor auto]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: raw patient -> study (one visit each in the shared data)
RAW = {"patient03": "study2", "patient04": "study1"}
#: msgan name -> file stem of the raw session
STEMS = {"T1": "T1W", "T2": "T2W", "FLAIR": "FLAIR"}
MNI_STEM = "N4_noneck_reduced_winsor_regtoFLAIR_brain_N4_regtoMNI"


def raw_paths(data: Path, patient: str) -> dict[str, Path]:
    study = RAW[patient]
    return {name: data / "longitudinal" / "raw" / patient / f"{study}_{stem}.nii.gz" for name, stem in STEMS.items()}


def mni_rows(data: Path) -> list[str]:
    rows = []
    for patient in ("patient07", "patient19"):
        folder = data / "cross_sectional" / "MNI" / patient
        for name in ("T1", "T2", "FLAIR"):
            rows.append(f"{patient},t0,{name},{folder / f'{name}_{MNI_STEM}.nii.gz'}")
        rows.append(f"{patient},t0,lesions,{folder / f'GOLD_STANDARD_N4_noneck_reduced_winsor_regtoFLAIR_regtoMNI.nii.gz'}")
    return rows


def mni_brain_ml(data: Path) -> dict[str, float]:
    """Non-zero T1 volume (mL) of the MNI patients as the dataset's authors registered them."""
    import nibabel as nib
    import numpy as np

    out = {}
    for patient in ("patient07", "patient19"):
        img = nib.load(str(data / "cross_sectional" / "MNI" / patient / f"T1_{MNI_STEM}.nii.gz"))
        out[patient] = float(np.count_nonzero(np.asarray(img.dataobj))) * float(np.prod(img.header.get_zooms()[:3])) / 1000
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "open_ms_data")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--brain-extractor", default="auto")
    args = parser.parse_args(argv)
    from data_tools.io.nifti import save_new
    from msgan.inference.raw_chain import to_model_space

    rows = mni_rows(args.data)
    for patient, ml in mni_brain_ml(args.data).items():
        print(f"{patient}/t0 (the authors' MNI registration): {ml:.0f} mL of non-zero T1 voxels")
    for patient, study in RAW.items():
        session = to_model_space(raw_paths(args.data, patient), "mni152", reference="T1",
                                 extractor=args.brain_extractor)
        folder = args.out / f"sub-{patient}" / f"ses-{study}"
        for name, image in session.images.items():
            save_new(image, session.grid_affine, folder / f"{name}.nii.gz", overwrite=True)
            rows.append(f"{patient},{study},{name},{folder / f'{name}.nii.gz'}")
        save_new(session.brain, session.grid_affine, folder / "brainmask.nii.gz", overwrite=True, dtype="uint8")
        rows.append(f"{patient},{study},brainmask,{folder / 'brainmask.nii.gz'}")
        steps = ", ".join(f"{k} {v:.1f}" for k, v in session.seconds.items())
        print(f"{patient}/{study}: brain by {session.brain_extractor}, {session.brain.sum() / 1000:.0f} mL "
              f"in MNI; seconds: {steps}", flush=True)
    (args.out / "manifest.csv").write_text("subject,session,name,path\n" + "\n".join(rows) + "\n")
    print(f"wrote {args.out / 'manifest.csv'}")


if __name__ == "__main__":
    sys.exit(main())
