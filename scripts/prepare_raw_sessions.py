"""Bring the shared raw sessions (patients 03 and 04: T1W, T2W, FLAIR heads) into MNI152
space with ``msgan synthesize``'s own chain (:func:`msgan.inference.raw_chain.to_model_space`:
N4, registration onto the T1, brain extraction, affine registration to the template), so
that models can train on them beside the MNI patients 07 and 19.

Writes a cohort folder ``OUT/sub-patientNN/ses-studyN/{T1,T2,FLAIR,brainmask}.nii.gz`` and
``OUT/manifest.csv`` listing those sessions and the MNI patients of the shared data (T1, T2,
FLAIR, lesions) for ``msgan make-tfrecords --manifest``; prints each step's seconds. The MNI
patients were registered by the dataset's authors without scaling to the template (about
1.1 L of brain where the template holds about 1.9 L): by default they are registered to the
template too (``OUT/sub-patient07/ses-t0/...``), so that all four patients share one scale.

    PYTHONPATH=$PWD nice -n 10 python scripts/prepare_raw_sessions.py --out /tmp/raw-mni
        [--data ../shared/data/open_ms_data] [--brain-extractor auto] [--mni-patients as-published]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
#: raw patient -> study (one visit each in the shared data)
RAW = {"patient03": "study2", "patient04": "study1"}
#: msgan name -> file stem of the raw session
STEMS = {"T1": "T1W", "T2": "T2W", "FLAIR": "FLAIR"}
MNI_STEM = "N4_noneck_reduced_winsor_regtoFLAIR_brain_N4_regtoMNI"
MNI_PATIENTS = ("patient07", "patient19")
#: the inputs of the models trained on these sessions (the raw sessions have no T1POST)
INPUTS = ("T1", "T2")


def raw_paths(data: Path, patient: str) -> dict[str, Path]:
    study = RAW[patient]
    return {name: data / "longitudinal" / "raw" / patient / f"{study}_{stem}.nii.gz" for name, stem in STEMS.items()}


def mni_paths(data: Path, patient: str) -> dict[str, Path]:
    folder = data / "cross_sectional" / "MNI" / patient
    paths = {name: folder / f"{name}_{MNI_STEM}.nii.gz" for name in ("T1", "T2", "FLAIR")}
    paths["lesions"] = folder / "GOLD_STANDARD_N4_noneck_reduced_winsor_regtoFLAIR_regtoMNI.nii.gz"
    return paths


def mni_rows(data: Path) -> list[str]:
    """The MNI patients' files as the dataset's authors registered them."""
    return [f"{patient},t0,{name},{path}" for patient in MNI_PATIENTS for name, path in mni_paths(data, patient).items()]


def mni_t1_volumes(data: Path) -> dict:
    """patient -> the MNI patient's T1 (a :class:`Volume`) as the dataset's authors registered
    it: read once, for its brain volume and for its registration to the template."""
    from data_tools.io.nifti import load_volume

    return {patient: load_volume(mni_paths(data, patient)["T1"]) for patient in MNI_PATIENTS}


def mni_rows_at_template(data: Path, out: Path, t1: dict, thick_mm: float | None = None) -> list[str]:
    """The MNI patients affinely registered to the template, as the raw sessions are, written
    under ``out`` (``t1``: :func:`mni_t1_volumes`); with ``thick_mm``, a second session of each
    (``t0thick``) whose inputs look acquired in axial slices that thick, as the raw sessions'
    are (the FLAIR target as it is)."""
    from data_tools.io.nifti import save_new
    from data_tools.simulation.randomize import thick_slices
    from msgan.inference.raw_chain import stripped_to_model_space

    rows = []
    for patient in MNI_PATIENTS:
        paths = {**mni_paths(data, patient), "T1": t1[patient]}
        images, brain, affine = stripped_to_model_space(paths, "mni152")
        sessions = {"t0": images}
        if thick_mm:
            sessions["t0thick"] = {name: np.where(brain, thick_slices(image, 1.0, thick_mm, axis=2), 0)
                                   if name in INPUTS else image for name, image in images.items()}
        for session, session_images in sessions.items():
            folder = out / f"sub-{patient}" / f"ses-{session}"
            for name, image in session_images.items():
                save_new(image, affine, folder / f"{name}.nii.gz", overwrite=True,
                         dtype="uint8" if name == "lesions" else "float32")
                rows.append(f"{patient},{session},{name},{folder / f'{name}.nii.gz'}")
        print(f"{patient}/t0 at the template's scale: {brain.sum() / 1000:.0f} mL of brain in MNI", flush=True)
    return rows


def mni_brain_ml(t1: dict) -> dict[str, float]:
    """Non-zero T1 volume (mL) of the MNI patients as the dataset's authors registered them
    (``t1``: :func:`mni_t1_volumes`)."""
    return {patient: float(np.count_nonzero(volume.data)) * float(np.prod(volume.header.get_zooms()[:3])) / 1000
            for patient, volume in t1.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "open_ms_data")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--brain-extractor", default="auto")
    parser.add_argument("--mni-patients", choices=("template", "as-published"), default="template",
                        help="template: register patients 07 and 19 affinely to the template as the raw "
                             "sessions are (one scale for all); as-published: the authors' MNI files")
    parser.add_argument("--thick-copies", type=float, metavar="MM",
                        help="add a copy of each MNI patient whose T1 and T2 look acquired in MM-thick "
                             "axial slices (with --mni-patients template)")
    args = parser.parse_args(argv)
    from data_tools.io.nifti import save_new
    from msgan.inference.raw_chain import to_model_space

    if args.mni_patients == "as-published" and args.thick_copies:
        parser.error("--thick-copies needs --mni-patients template")
    mni_t1 = mni_t1_volumes(args.data)
    if args.mni_patients == "as-published":
        rows = mni_rows(args.data)
    else:
        rows = mni_rows_at_template(args.data, args.out, mni_t1, args.thick_copies)
    for patient, ml in mni_brain_ml(mni_t1).items():
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
