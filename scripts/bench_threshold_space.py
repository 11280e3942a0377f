"""Time the distance to CSF per session: native space vs MNI space (``--threshold-space``).

``mni`` registers every session's tissue image (from its brainmask, csf, wm, lesions
masks) to nilearn's MNI152 (affine, then B-spline) and pulls the template's distance map
back; ``native`` is one Euclidean distance transform. Both are timed on the same sessions
of a small simulated cohort (``msgan simulate``; thesis grids are 1.22 mm) in one run, and
the ratio printed. The cohort is written to a temporary folder and deleted afterwards.

    PYTHONPATH=. python scripts/bench_threshold_space.py --resolution 1 --n-ms 2 --n-hc 2
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from data_tools.io.cohort import open_cohort  # noqa: E402
from data_tools.simulation.cohort import simulate_cohort  # noqa: E402
from msgan.evaluation.demyelination import distance_to_csf  # noqa: E402
from msgan.evaluation.mni_space import mni152_csf_template, template_distance  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolution", type=float, default=1.0)
    parser.add_argument("--n-ms", type=int, default=2)
    parser.add_argument("--n-hc", type=int, default=2)
    parser.add_argument("--cohort", type=Path, default=None, help="an existing cohort folder (no simulation)")
    parser.add_argument("--keep", type=Path, default=None, help="simulate the cohort here and keep it")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench_threshold_space_"))
    try:
        root = args.cohort or simulate_cohort(args.keep or workdir / "cohort", n_ms=args.n_ms, n_hc=args.n_hc,
                                              resolution=args.resolution, seed=0, jobs=1, progress=False)
        load = os.getloadavg()[0]
        started = time.perf_counter()
        mni152_csf_template()
        template_seconds = time.perf_counter() - started
        native, mni, shapes, agreement = [], [], set(), []
        for session in open_cohort(cohort=root).sessions():
            if not all(session.has(n) for n in ("brainmask", "csf", "wm", "PIB")):
                continue
            masks = {n: session.load(n).data for n in ("brainmask", "csf", "wm")}
            lesions = session.load("lesions").data if session.has("lesions") else np.zeros_like(masks["wm"])
            volume = session.load("PIB")
            shapes.add(volume.shape)
            started = time.perf_counter()
            own = distance_to_csf(masks["csf"], volume.zooms)
            native.append(time.perf_counter() - started)
            started = time.perf_counter()
            in_mni, _ = template_distance(masks["brainmask"] | masks["csf"], masks["csf"], masks["wm"] | lesions,
                                          volume.affine, label=session.label)
            mni.append(time.perf_counter() - started)
            wm = masks["wm"]
            agreement.append((np.corrcoef(own[wm], in_mni[wm])[0, 1], np.median(own[wm]), np.median(in_mni[wm])))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"{len(mni)} sessions, grids {sorted(shapes)}, cores {os.cpu_count()}, load average before {load:.1f}")
    print(f"template loaded once in {template_seconds:.1f} s")
    print(f"native: {np.mean(native):.2f} s/session; mni: {np.mean(mni):.1f} s/session "
          f"(min {np.min(mni):.1f}, max {np.max(mni):.1f}); mni/native = {np.mean(mni) / np.mean(native):.0f}")
    corr, med_native, med_mni = np.mean(agreement, axis=0)
    print(f"WM distance to CSF, mni vs native: correlation {corr:.2f} (mean over sessions), "
          f"median {med_mni:.1f} vs {med_native:.1f} mm")


if __name__ == "__main__":
    main()
