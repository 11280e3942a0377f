"""``msgan synthesize`` on the shared raw patients, each with a model that never saw it.

For patient03 (study2) and patient04 (study1): the synthetic FLAIR from the raw T1W and
T2W heads, written on the T1W's grid by :func:`msgan.inference.synthesize.synthesize` with
the leave-one-patient-out model given for that patient, against the real FLAIR brought onto
the T1W grid with the dataset authors' own T1W->FLAIR transform, inside the authors'
brain mask (brought the same way from their common space): Pearson r and the scale-free
SSIM of ``msgan.evaluation.image_quality`` (the README's) of the two images brain-extracted
by that mask, as every other table scores skull-stripped images; beside it, the same SSIM
against the real FLAIR with its skull on, where the windows at the brain's edge compare the
prediction's empty background with skull and scalp. Prints each step's seconds and a
markdown table.

    PYTHONPATH=$PWD nice -n 10 python scripts/evaluate_synthesize_raw.py \
        --model patient03=WORK/lopo-no03/export/1 --model patient04=WORK/lopo-no04/export/1
        [--data ../shared/data/open_ms_data] [--brain-extractor auto] [--out DIR]
    PYTHONPATH=$PWD python scripts/evaluate_synthesize_raw.py --blurred-truth

``--blurred-truth`` scores, instead of a model, the real FLAIR blurred by a Gaussian of 1,
1.5 and 2 voxels on the T1W grid against itself: how sharp a prediction must be to reach a
given r and scale-free SSIM.

The authors' patient03 mask cuts the orbitofrontal lobes and some cortex (README,
"Brain extraction"): its scores cover the brain it keeps.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
from bench_brain_extraction import read_affine  # noqa: E402
from prepare_raw_sessions import RAW, raw_paths  # noqa: E402


def on_t1_grid(folder: Path, study: str, t1):
    """``(real FLAIR, authors' brain mask)`` as arrays on the T1W grid, by the authors' transforms.

    ``<study>_T1W_intrastudy_to_FLAIR.txt`` maps FLAIR points to T1W points and
    ``<study>_FLAIR_to_common_space.txt`` common-space points to FLAIR points: T1W points go to
    the FLAIR by the first's inverse, and on to the common space by the second's inverse.
    """
    from data_tools.io.nifti import load_volume
    from data_tools.preprocessing.itk_bridge import compose, itk_to_array, volume_to_itk
    from data_tools.preprocessing.registration import resample

    t1_to_flair = read_affine(folder / f"{study}_T1W_intrastudy_to_FLAIR.txt").GetInverse()
    flair_to_common = read_affine(folder / f"{study}_FLAIR_to_common_space.txt").GetInverse()
    flair = volume_to_itk(load_volume(folder / f"{study}_FLAIR.nii.gz"))
    common = volume_to_itk(load_volume(folder / "common_space_brainmask.nii.gz", mask=True))
    real = itk_to_array(resample(flair, t1, t1_to_flair))
    mask = itk_to_array(resample(common, t1, compose(flair_to_common, t1_to_flair), mask=True)).astype(bool)
    return real, mask


BLUR_SIGMAS_VOXELS = (1.0, 1.5, 2.0)


def agreement(real: np.ndarray, synthetic: np.ndarray, mask: np.ndarray) -> dict:
    """Pearson r inside ``mask``; scale-free SSIM of both images brain-extracted by ``mask``
    (``ssim``) and against the real FLAIR with its skull on (``ssim_skull_on``)."""
    from msgan.evaluation.image_quality import brain_correlation, scale_free_ssim

    return {"r": brain_correlation(real, synthetic, mask),
            "ssim": scale_free_ssim(np.where(mask, real, 0), np.where(mask, synthetic, 0), mask),
            "ssim_skull_on": scale_free_ssim(real, synthetic, mask)}


def blurred_truth(data: Path) -> None:
    """Print r and scale-free SSIM of each patient's real FLAIR (T1W grid) blurred against itself."""
    from scipy import ndimage

    from data_tools.io.nifti import load_volume
    from data_tools.preprocessing.itk_bridge import volume_to_itk

    print("| session | Gaussian SD (voxels of the T1W grid) | Pearson r | scale-free SSIM (brain-extracted) "
          "| scale-free SSIM (truth with skull) |")
    print("| --- | --- | --- | --- | --- |")
    for patient, study in RAW.items():
        paths = raw_paths(data, patient)
        real, mask = on_t1_grid(paths["T1"].parent, study, volume_to_itk(load_volume(paths["T1"])))
        for sigma in BLUR_SIGMAS_VOXELS:
            blurred = ndimage.gaussian_filter(real.astype(np.float32), sigma)
            score = agreement(real, blurred, mask)
            print(f"| {patient}/{study} | {sigma:g} | {score['r']:.3f} | {score['ssim']:.3f} | "
                  f"{score['ssim_skull_on']:.3f} |", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "open_ms_data")
    parser.add_argument("--model", action="append", default=[], metavar="PATIENT=SAVEDMODEL",
                        help="the model that did not train on PATIENT (repeat for each patient)")
    parser.add_argument("--brain-extractor", default="auto")
    parser.add_argument("--out", type=Path, help="keep the synthetic FLAIRs and QC figures here")
    parser.add_argument("--blurred-truth", action="store_true",
                        help="score the real FLAIR blurred against itself instead of a model")
    args = parser.parse_args(argv)
    if args.blurred_truth:
        return blurred_truth(args.data)
    if not args.model:
        parser.error("--model PATIENT=SAVEDMODEL is required (or --blurred-truth)")
    models = dict(m.split("=", 1) for m in args.model)
    from data_tools.io.nifti import load_volume
    from data_tools.preprocessing.itk_bridge import volume_to_itk
    from msgan.inference.synthesize import synthesize

    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at start; wall seconds")
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = args.out or Path(tmp)
        for patient, study in RAW.items():
            if patient not in models:
                continue
            paths = raw_paths(args.data, patient)
            out = out_dir / f"{patient}_FLAIR_synthetic.nii.gz"
            result = synthesize(models[patient], {"T1": paths["T1"], "T2": paths["T2"]}, out,
                                extractor=args.brain_extractor, qc=out_dir / f"{patient}_qc.png" if args.out else None,
                                overwrite=True, progress=False)
            real, mask = on_t1_grid(paths["T1"].parent, study, volume_to_itk(load_volume(paths["T1"])))
            synthetic = load_volume(out).data
            rows[patient] = {**agreement(real, synthetic, mask), "seconds": result.seconds}
            steps = ", ".join(f"{k} {v:.1f}" for k, v in result.seconds.items())
            print(f"{patient}/{study} (model {models[patient]}): r {rows[patient]['r']:.3f}, scale-free SSIM "
                  f"{rows[patient]['ssim']:.3f} (truth with skull {rows[patient]['ssim_skull_on']:.3f}); "
                  f"brain by {result.session.brain_extractor}; seconds: {steps} "
                  f"(total {sum(result.seconds.values()):.0f})", flush=True)
    print()
    steps = list(next(iter(rows.values()))["seconds"]) if rows else []
    print("| session | Pearson r | scale-free SSIM | SSIM, truth with skull | "
          + " | ".join(f"{s} s" for s in steps) + " | total s |")
    print("| --- | --- | --- | --- |" + " --- |" * (len(steps) + 1))
    for patient, row in rows.items():
        cells = " | ".join(f"{row['seconds'][s]:.0f}" for s in steps)
        print(f"| {patient}/{RAW[patient]} | {row['r']:.3f} | {row['ssim']:.3f} | {row['ssim_skull_on']:.3f} | {cells} | "
              f"{sum(row['seconds'].values()):.0f} |")


if __name__ == "__main__":
    sys.exit(main())
