"""Brain extraction of raw heads, measured against the dataset authors' brain masks.

For each raw patient of ``longitudinal/raw`` in the shared data (not skull-stripped,
3 mm slices) this prints, from one run:

* per candidate brain-extraction method: Dice and volume ratio (ours / authors') against
  the authors' mask brought onto the FLAIR, and the seconds the mask step took (after N4);
* the whole ``msgan preprocess`` session with the default options: seconds, Dice and
  volume ratio of the brain mask it wrote, and the error of its T1W->FLAIR and T2W->FLAIR
  registrations against the authors' transforms (displacement in mm over the voxels of
  the authors' brain mask: median and maximum);
* what the skull-stripped detection sees in the raw and the brain-extracted scans;
* the markdown table the README shows.

Run from the repository root, one job at a time on a shared machine:

    PYTHONPATH=$PWD nice -n 10 python scripts/bench_brain_extraction.py [--data ../shared/data/open_ms_data]
        [--candidates default,template,...] [--no-session]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RAW = "longitudinal/raw"
#: patient folder -> study (one visit each in the shared data)
PATIENTS = {"patient04": "study1", "patient03": "study2"}


def authors_mask_on_flair(folder: Path, study: str, flair):
    """``(mask, covered)``: the authors' brain mask on the FLAIR grid, and where it is defined.

    Their ``<study>_FLAIR_to_common_space.txt`` maps common-space points to FLAIR points, so
    resampling onto the FLAIR grid (nearest neighbour) uses its inverse. Their mask of
    patient03 stops abruptly at common-space slice 14 (1683 voxels: a cut, not the tip of the
    cerebellum, which this visit's FLAIR shows further down), so only the FLAIR voxels within
    the common-space slices their mask spans (``covered``) are compared, for both patients.
    """
    from data_tools.io.nifti import load_volume
    from data_tools.preprocessing.itk_bridge import sitk, volume_to_itk
    from data_tools.preprocessing.registration import resample

    tx = sitk()
    common = volume_to_itk(load_volume(folder / "common_space_brainmask.nii.gz", mask=True))
    to_flair = read_affine(folder / f"{study}_FLAIR_to_common_space.txt")
    inverse = to_flair.GetInverse()
    slices = np.flatnonzero(tx.GetArrayViewFromImage(common).any(axis=(1, 2)))  # (z, y, x) view
    slab = np.zeros(tx.GetArrayViewFromImage(common).shape, np.uint8)
    slab[slices.min():slices.max() + 1] = 1
    slab = tx.GetImageFromArray(slab)
    slab.CopyInformation(common)
    return resample(common, flair, inverse, mask=True), resample(slab, flair, inverse, mask=True)


def read_affine(path: Path):
    """An ITK text transform of the authors (MatrixOffsetTransformBase) as an AffineTransform."""
    from data_tools.preprocessing.itk_bridge import sitk

    read = sitk().ReadTransform(str(path))
    affine = sitk().AffineTransform(3)
    affine.SetFixedParameters(read.GetFixedParameters())
    affine.SetParameters(read.GetParameters())
    return affine


def displacement_mm(ours, theirs, grid, mask) -> np.ndarray:
    """|ours(x) - theirs(x)| in mm for the physical points x of the voxels in ``mask``."""
    from data_tools.preprocessing.itk_bridge import itk_to_affine, transform_to_matrix, RAS_TO_LPS

    ijk = np.argwhere(mask)[::7]  # every 7th voxel: thousands of points, plenty
    points = RAS_TO_LPS @ itk_to_affine(grid) @ np.c_[ijk, np.ones(len(ijk))].T
    a, b = transform_to_matrix(ours) @ points, transform_to_matrix(theirs) @ points
    return np.linalg.norm((a - b)[:3], axis=0)


def load_patient(folder: Path, study: str):
    """N4'd FLAIR and T1W (SimpleITK), our T1W->FLAIR transform, and the authors' mask (array)."""
    from data_tools.io.nifti import load_volume
    from data_tools.preprocessing.bias import n4_correct
    from data_tools.preprocessing.itk_bridge import itk_to_array, volume_to_itk
    from data_tools.preprocessing.registration import register

    images = {name: n4_correct(volume_to_itk(load_volume(folder / f"{study}_{name}.nii.gz")))
              for name in ("FLAIR", "T1W")}
    t1_to_flair, _ = register(images["FLAIR"], images["T1W"], model="affine")
    truth, covered = (itk_to_array(m).astype(bool) for m in authors_mask_on_flair(folder, study, images["FLAIR"]))
    return images["FLAIR"], images["T1W"], t1_to_flair, truth, covered


def score(mask: np.ndarray, truth: np.ndarray, covered: np.ndarray, voxel_ml: float) -> dict:
    """Dice and volume ratio (ours / authors') over the voxels where the authors' mask is defined."""
    from msgan.evaluation.overlap import dice

    mask = mask & covered
    return {"dice": dice(mask, truth), "ratio": mask.sum() / truth.sum(), "ml": mask.sum() * voxel_ml,
            "truth_ml": truth.sum() * voxel_ml}


# --- candidates: (FLAIR, T1W, T1W->FLAIR transform) -> uint8 SimpleITK mask on the FLAIR grid ----------
def candidate_deepbrain_t1(flair, t1, t1_to_flair):
    """msgan's default for raw heads: deepbrain on the session's T1W, carried onto the FLAIR."""
    from data_tools.preprocessing.brain_extraction import extract_brain

    return extract_brain(flair, t1, t1_to_flair)


def candidate_deepbrain_flair(flair, t1, t1_to_flair):
    """The same network on the FLAIR itself (a session without T1)."""
    from data_tools.preprocessing.brain_extraction import extract_brain

    return extract_brain(flair)


def candidate_deepbrain_t1_as_packaged(flair, t1, t1_to_flair):
    """deepbrain's own input: the T1W array resized to 128^3 whatever its voxel size."""
    from skimage.transform import resize

    from data_tools.preprocessing.brain_extraction import _network, largest_component_filled
    from data_tools.preprocessing.itk_bridge import array_to_itk, itk_to_affine, itk_to_array, sitk
    from data_tools.preprocessing.registration import resample

    array = itk_to_array(t1)
    small = resize(array, (128, 128, 128), mode="constant", anti_aliasing=True)
    session, img, training, prob = _network()
    out = session.run(prob, {training: False, img: (small / small.max())[None, ..., None]}).squeeze()
    full = resize(out, array.shape, mode="constant", anti_aliasing=True).astype(np.float32)
    probability = resample(array_to_itk(full, itk_to_affine(t1)), flair, t1_to_flair)
    return largest_component_filled(sitk().Cast(probability > 0.5, sitk().sitkUInt8))


def candidate_hdbet_flair(flair, t1, t1_to_flair):
    """HD-BET (first model, no mirroring; ``pip install 'msgan[hdbet]'``) on the FLAIR."""
    from data_tools.preprocessing.brain_extraction import extract_brain

    return extract_brain(flair, method="hdbet")


def candidate_hdbet_t1(flair, t1, t1_to_flair):
    """HD-BET on the T1W, carried onto the FLAIR (what ``msgan synthesize`` does with a T1 reference)."""
    from data_tools.preprocessing.brain_extraction import extract_brain
    from data_tools.preprocessing.registration import resample

    return resample(extract_brain(t1, method="hdbet"), flair, t1_to_flair, mask=True)


def candidate_template(flair, t1, t1_to_flair):
    from data_tools.preprocessing.brain_template import template_to_subject
    from data_tools.preprocessing.registration import resample

    transform, mask = template_to_subject(flair)
    return resample(mask, flair, transform, mask=True)


def _isotropic(image, spacing_mm: float):
    from data_tools.preprocessing.grids import make_grid, resampled_grid
    from data_tools.preprocessing.registration import resample

    grid = resampled_grid(make_grid(image.GetSize(), image.GetSpacing(), image.GetOrigin(), image.GetDirection()),
                          spacing_mm)
    return resample(image, grid)


def _bet(image, spacing_mm: float = 1.5):
    """brainextractor (a Python FSL BET) on an isotropic copy; the mask stays on that copy."""
    import contextlib
    import io

    import nibabel as nib
    from brainextractor import BrainExtractor

    from data_tools.preprocessing.itk_bridge import array_to_itk, itk_to_affine, itk_to_array

    iso = _isotropic(image, spacing_mm)
    img = nib.Nifti1Image(itk_to_array(iso), itk_to_affine(iso))
    with contextlib.redirect_stdout(io.StringIO()):  # it prints every iteration
        bet = BrainExtractor(img=img)
        bet.run()
        mask = bet.compute_mask()
    return array_to_itk(np.asarray(mask, np.uint8), itk_to_affine(iso))


def candidate_bet_flair(flair, t1, t1_to_flair):
    from data_tools.preprocessing.registration import resample

    return resample(_bet(flair), flair, mask=True)


def candidate_bet_t1(flair, t1, t1_to_flair):
    from data_tools.preprocessing.registration import resample

    return resample(_bet(t1), flair, t1_to_flair, mask=True)


CANDIDATES = {name[len("candidate_"):]: fn for name, fn in globals().items() if name.startswith("candidate_")}
#: the two independent extractors whose agreement is the reference where the authors' mask is wrong
CONSENSUS = ("deepbrain_t1", "bet_flair")


def consensus_score(mask: np.ndarray, masks: dict, voxel_ml: float) -> dict | None:
    """Dice against the consensus of :data:`CONSENSUS` over the voxels where they agree, and
    the volume ratio against their mean volume (the whole FLAIR, no slab)."""
    from msgan.evaluation.overlap import dice

    if not all(name in masks for name in CONSENSUS):
        return None
    a, b = (masks[name] for name in CONSENSUS)
    agree = a == b
    return {"dice": dice(mask & agree, a & agree), "ratio": mask.sum() / ((a.sum() + b.sum()) / 2),
            "ml": mask.sum() * voxel_ml, "agree_dice": dice(a, b)}


def session_run(folder: Path, study: str, truth: np.ndarray, covered: np.ndarray, voxel_ml: float,
                patient: str) -> dict:
    """Time the whole default ``preprocess_session``; score its mask and its registrations."""
    from data_tools.io.cohort import open_cohort
    from data_tools.preprocessing.itk_bridge import itk_to_array
    from data_tools.preprocessing.preprocess import PreprocessOptions, preprocess_session

    with tempfile.TemporaryDirectory() as tmp:
        manifest = Path(tmp) / "manifest.csv"
        manifest.write_text("subject,session,name,path\n" + "".join(
            f"{patient},{study},{name},{folder / f'{study}_{stem}.nii.gz'}\n"
            for name, stem in (("T1", "T1W"), ("T2", "T2W"), ("FLAIR", "FLAIR"))))
        session = open_cohort(manifest=manifest).subjects[patient].sessions[study]
        start = time.perf_counter()
        result = preprocess_session(session, PreprocessOptions())
        seconds = time.perf_counter() - start
    out = {"seconds": seconds, **score(itk_to_array(result.masks["brainmask"]).astype(bool), truth, covered, voxel_ml)}
    for name, stem in (("T1", "T1W"), ("T2", "T2W")):
        theirs = read_affine(folder / f"{study}_{stem}_intrastudy_to_FLAIR.txt")
        error = displacement_mm(result.transforms[f"{name}_to_FLAIR"], theirs, result.images["FLAIR"], truth)
        out[f"{name}_median_mm"], out[f"{name}_max_mm"] = float(np.median(error)), float(error.max())
    return out


def print_detection(data: Path) -> None:
    """What :func:`looks_skull_stripped` sees in the shared scans, raw and brain-extracted."""
    import nibabel as nib

    from data_tools.io.fingerprint import looks_skull_stripped

    paths = sorted((data / RAW).glob("patient*/study*_*.nii.gz")) \
        + sorted((data / "cross_sectional" / "MNI").glob("patient*/FLAIR_*.nii.gz"))
    for path in paths:
        img = nib.load(str(path))
        array = np.asarray(img.dataobj)
        voxel_ml = float(np.prod(img.header.get_zooms()[:3])) / 1000
        faces = np.concatenate([f.ravel() for f in (array[0], array[-1], array[:, 0], array[:, -1],
                                                    array[:, :, 0], array[:, :, -1])])
        print(f"  {path.parent.name}/{path.name[:24]:24s} border non-zero {np.mean(faces != 0):6.1%}, "
              f"non-zero {np.count_nonzero(array) * voxel_ml:5.0f} mL -> skull-stripped: "
              f"{looks_skull_stripped(array, voxel_ml)}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "open_ms_data")
    parser.add_argument("--candidates", default=",".join(CANDIDATES),
                        help=f"comma-separated among {', '.join(CANDIDATES)}")
    parser.add_argument("--no-session", action="store_true", help="skip the whole-session run")
    args = parser.parse_args(argv)
    names = [n for n in args.candidates.split(",") if n]
    unknown = sorted(set(names) - set(CANDIDATES))
    if unknown:
        parser.error(f"unknown candidates {unknown}; choose among {sorted(CANDIDATES)}")
    from data_tools.preprocessing.itk_bridge import itk_to_array

    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at start; wall seconds")
    print("skull-stripped detection (the reference is judged before N4):")
    print_detection(args.data)
    table = {name: {} for name in names}
    sessions = {}
    for patient, study in PATIENTS.items():
        folder = args.data / RAW / patient
        flair, t1, t1_to_flair, truth, covered = load_patient(folder, study)
        voxel_ml = float(np.prod(flair.GetSpacing())) / 1000
        print(f"{patient}/{study}: authors' brain {truth.sum() * voxel_ml:.0f} mL on the FLAIR grid {flair.GetSize()}, "
              f"their slab covers {covered.mean():.0%} of it")
        full_masks = {}
        for name in names:
            start = time.perf_counter()
            try:
                mask = CANDIDATES[name](flair, t1, t1_to_flair)
            except ImportError as exc:  # the losers are not msgan dependencies
                print(f"  {name:16s} skipped: {exc.name} is not installed (pip install it to measure)")
                continue
            seconds = time.perf_counter() - start
            full_masks[name] = itk_to_array(mask).astype(bool)
            row = {"seconds": seconds, **score(full_masks[name], truth, covered, voxel_ml)}
            table[name][patient] = row
            print(f"  {name:16s} Dice {row['dice']:.3f}  volume {row['ml']:6.0f} mL (ratio {row['ratio']:.3f})  "
                  f"{seconds:5.1f} s", flush=True)
        for name in names:
            if name in full_masks and (c := consensus_score(full_masks[name], full_masks, voxel_ml)):
                table[name][patient]["consensus"] = c
                print(f"  {name:16s} vs consensus of {' and '.join(CONSENSUS)} (they agree at Dice "
                      f"{c['agree_dice']:.3f}): Dice {c['dice']:.3f}, volume {c['ml']:.0f} mL (ratio {c['ratio']:.3f})")
        if not args.no_session:
            sessions[patient] = row = session_run(folder, study, truth, covered, voxel_ml, patient)
            print(f"  whole session (default options): {row['seconds']:.1f} s; brain mask Dice {row['dice']:.3f}, "
                  f"ratio {row['ratio']:.3f}; T1W->FLAIR {row['T1_median_mm']:.2f} mm median "
                  f"({row['T1_max_mm']:.2f} max), T2W->FLAIR {row['T2_median_mm']:.2f} ({row['T2_max_mm']:.2f}) "
                  "from the authors' transforms", flush=True)
    print()
    print_table(table, sessions)


def print_table(table: dict, sessions: dict) -> None:
    patients = list(PATIENTS)
    head = " | ".join(f"{p} Dice | {p} volume ratio | {p} s" for p in patients)
    print(f"| method | {head} |")
    print("| --- |" + " --- |" * (3 * len(patients)))
    for name, rows in table.items():
        if len(rows) < len(patients):
            continue
        cells = " | ".join(f"{rows[p]['dice']:.3f} | {rows[p]['ratio']:.3f} | {rows[p]['seconds']:.0f}"
                           for p in patients)
        print(f"| `{name}` | {cells} |")
    print()
    print(f"Against the consensus of {' and '.join(CONSENSUS)} (voxels where they agree; volume ratio to their mean):")
    print("| method | " + " | ".join(f"{p} Dice | {p} volume ratio" for p in patients) + " |")
    print("| --- |" + " --- |" * (2 * len(patients)))
    for name, rows in table.items():
        if all("consensus" in rows.get(p, {}) for p in patients):
            cells = " | ".join(f"{rows[p]['consensus']['dice']:.3f} | {rows[p]['consensus']['ratio']:.3f}"
                               for p in patients)
            print(f"| `{name}` | {cells} |")
    if sessions:
        print()
        print("| whole session, default options | seconds | brain Dice | volume ratio | "
              "T1W->FLAIR mm (median / max) | T2W->FLAIR mm (median / max) |")
        print("| --- | --- | --- | --- | --- | --- |")
        for p, r in sessions.items():
            print(f"| {p}/{PATIENTS[p]} | {r['seconds']:.0f} | {r['dice']:.3f} | {r['ratio']:.3f} | "
                  f"{r['T1_median_mm']:.2f} / {r['T1_max_mm']:.2f} | {r['T2_median_mm']:.2f} / {r['T2_max_mm']:.2f} |")


if __name__ == "__main__":
    sys.exit(main())
