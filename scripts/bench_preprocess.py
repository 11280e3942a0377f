"""Seconds per session of ``msgan preprocess`` on a real 1 mm patient (T1, T2, FLAIR).

Times, from one run each: N4 of the three sequences, the two registrations onto FLAIR,
and the whole command (reading, N4, registration, resampling, writing, QC figure) with
``--brain-mask none`` and with ``--brain-mask template``. Run from the repository root:

    PYTHONPATH=$PWD python scripts/bench_preprocess.py [--data ../shared/data/open_ms_data]

Raw (not skull-stripped) heads: ``scripts/bench_brain_extraction.py`` prints the brain-mask
Dice and volume ratio, the seconds per session and the registration error against the
dataset authors' masks and transforms.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "open_ms_data")
    parser.add_argument("--patient", default="patient07")
    args = parser.parse_args()

    from data_tools.io.cohort import open_cohort
    from data_tools.io.nifti import load_volume
    from data_tools.preprocessing.bias import n4_correct
    from data_tools.preprocessing.itk_bridge import sitk, volume_to_itk
    from data_tools.preprocessing.preprocess import PreprocessOptions, preprocess_cohort
    from data_tools.preprocessing.registration import register

    folder = args.data / "cross_sectional" / "MNI" / args.patient
    files = {name: next(folder.glob(f"{name}_*.nii.gz")) for name in ("T1", "T2", "FLAIR")}
    print(f"patient {args.patient}, 3 sequences at 1 mm, {sitk().ProcessObject.GetGlobalDefaultNumberOfThreads()} "
          f"ITK threads, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at start")
    print("wall seconds (CPU seconds of this process in brackets: less sensitive to other load)")

    images = {name: volume_to_itk(load_volume(path)) for name, path in files.items()}
    print(f"grid {images['FLAIR'].GetSize()}")
    clock = Clock()
    corrected = {name: n4_correct(image) for name, image in images.items()}
    print(f"N4 (3 sequences):                    {clock.lap()}")
    for name in ("T1", "T2"):
        register(corrected["FLAIR"], corrected[name], model="affine")
    print(f"registration (2 onto FLAIR):         {clock.lap()}")

    with tempfile.TemporaryDirectory() as tmp:
        manifest = Path(tmp) / "manifest.csv"
        manifest.write_text("subject,session,name,path\n" + "".join(
            f"{args.patient},t0,{name},{path}\n" for name, path in files.items()))
        cohort = open_cohort(manifest=manifest)
        for mask in ("none", "template"):
            clock.lap()
            preprocess_cohort(cohort, Path(tmp) / f"out-{mask}", PreprocessOptions(brain_mask=mask), progress=False)
            print(f"whole session, brain mask {mask + ':':9s} {clock.lap()}")


class Clock:
    """Wall and process CPU seconds since the previous lap."""

    def __init__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def lap(self) -> str:
        wall, cpu = time.perf_counter(), time.process_time()
        text = f"{wall - self.wall:6.1f} s  ({cpu - self.cpu:5.1f} s CPU)"
        self.wall, self.cpu = wall, cpu
        return text


if __name__ == "__main__":
    main()
