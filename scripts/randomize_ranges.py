"""The contrasts ``msgan simulate --randomize`` draws: per randomised sequence, the physical
white-to-grey-matter and lesion-to-white-matter ratios and the span the class gains give them,
and (with ``--cohort``) the ratios measured on a randomised cohort's images.

    python scripts/randomize_ranges.py
    python scripts/randomize_ranges.py --cohort sim_rand   # a cohort written with --randomize

docs/travel.md quotes this script's output.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from data_tools.simulation import mri, tissue
from data_tools.simulation.randomize import RandomizeOptions

#: the lesion of the physical ratio: half its myelin lost, no oedema
LESION_LOSS = 0.5


def physical_ratios(name: str) -> tuple[float, float]:
    """(WM/GM, lesion/WM) of sequence ``name`` from the signal equations."""
    s_gm, s_wm = (float(mri.signal(name, t.pd, t.t1_ms, t.t2_ms)) for t in (tissue.GM, tissue.WM))
    t1, t2, pd = tissue.lesion_relaxation(np.float32(LESION_LOSS), np.float32(0.0))
    s_lesion = float(mri.signal(name, pd, t1, t2))
    return s_wm / s_gm, s_lesion / s_wm


def measured_ratios(cohort: Path, name: str) -> list[float]:
    """Median WM / median GM of ``name`` in every session of a cohort (hard tissue labels)."""
    import nibabel as nib

    ratios = []
    for folder in sorted(cohort.glob("sub-*/ses-*")):
        image = np.asarray(nib.load(folder / f"{name}.nii.gz").dataobj, np.float32)
        wm, gm = (np.asarray(nib.load(folder / f"{m}.nii.gz").dataobj) > 0 for m in ("wm", "gm"))
        wm &= np.asarray(nib.load(folder / "lesions.nii.gz").dataobj) == 0
        ratios.append(float(np.median(image[wm]) / np.median(image[gm])))
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cohort", type=Path, help="a cohort written by msgan simulate --randomize")
    args = parser.parse_args()
    options = RandomizeOptions()
    if args.cohort is not None:
        recorded = json.loads((args.cohort / "simulation.json").read_text())["options"]["randomize"]
        options = RandomizeOptions(**{k: tuple(v) if isinstance(v, list) else v for k, v in recorded.items()})
    span = options.contrast_spread ** 2
    print(f"class gains log-uniform in [1/{options.contrast_spread:g}, {options.contrast_spread:g}]: "
          f"a ratio of two classes spans its physical value /{span:g} to x{span:g}")
    print(f"{'sequence':9s} {'WM/GM':>7s} {'range':>13s} {'lesion/WM':>10s} {'range':>13s}"
          + ("  measured WM/GM min-max (sessions)" if args.cohort else ""))
    for name in options.sequences:
        wm_gm, lesion_wm = physical_ratios(name)
        # A nulled class (white matter in DIR) stays null: the gains multiply its physics.
        lesion_text = (f"{lesion_wm:10.3f} {lesion_wm / span:6.3f}-{lesion_wm * span:6.3f}" if wm_gm > 1e-3
                       else f"{'WM null':>10s} {'-':>13s}")
        line = f"{name:9s} {wm_gm:7.3f} {wm_gm / span:6.3f}-{wm_gm * span:6.3f} {lesion_text}"
        if args.cohort is not None:
            measured = measured_ratios(args.cohort, name)
            line += f"  {min(measured):.3f}-{max(measured):.3f} ({len(measured)})"
        print(line)


if __name__ == "__main__":
    main()
