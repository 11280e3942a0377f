"""What a model learned from, and whether a new scan looks like it (issue 18, item 4).

A *session fingerprint* holds the properties a network is sensitive to but cannot see
in its input patches: voxel size, field of view, orientation, whether the brain was
extracted, and each input's intensity percentiles inside the brain. A *training
fingerprint* is their range over the training sessions (written by ``make-tfrecords``
into ``index.json``, carried into the run's ``config.json`` and the model card).
:func:`compare` lists what a new session does differently, beyond these tolerances:

| property | tolerance |
| --- | --- |
| voxel size, each axis | within [min / 1.25, max x 1.25] of the training sessions' |
| field of view, each axis (mm) | within [min / 1.5, max x 1.5] |
| orientation (axis codes, e.g. RAS) | recorded, never a difference: ``msgan predict`` turns the arrays to it (:mod:`data_tools.io.orientation`) |
| brain extracted or not | as every training session |
| median and 99th percentile inside the brain, per input | within [min / 1.5, max x 1.5]; skipped for inputs standardised per image (``--normalize subject``), which are scale-free |
"""
from __future__ import annotations

from typing import Iterable, NamedTuple, Sequence

import nibabel as nib
import numpy as np

VOXEL_TOLERANCE = 1.25
FOV_TOLERANCE = 1.5
INTENSITY_TOLERANCE = 1.5
PERCENTILES = (1, 50, 99)
#: A brain, cerebellum and brain stem included, stays below this volume (adults: 1.0-1.9 L).
MAX_BRAIN_ML = 2500.0
#: Fewest exactly-zero voxels on the grid's outer faces of a brain-extracted scan.
MIN_ZERO_BORDER = 0.98


def looks_skull_stripped(data: np.ndarray, voxel_ml: float) -> bool:
    """True when ``data`` (a scan's array) is already brain-extracted.

    A brain-extracted scan has an exactly zero background: nearly all voxels on the outer
    faces of its grid are 0 (>= ``MIN_ZERO_BORDER``; the brain may touch a tight crop),
    and its non-zero voxels hold no more than a brain (<= ``MAX_BRAIN_ML``). A raw head
    fails at least one: air carries noise to the grid's edges (on the shared raw scans
    11-22 % of the edge voxels are non-zero even after the scanner's background zeroing),
    and a head, scalp and skull included, holds more (2.9-3.4 L non-zero on those scans).
    """
    data = np.asarray(data)
    faces = [data[0], data[-1], data[:, 0], data[:, -1], data[:, :, 0], data[:, :, -1]]
    border_zero = np.mean(np.concatenate([f.ravel() for f in faces]) == 0)
    return bool(border_zero >= MIN_ZERO_BORDER and np.count_nonzero(data) * voxel_ml <= MAX_BRAIN_ML)


def session_fingerprint(volumes: np.ndarray, names: Sequence[str], brain: np.ndarray,
                        affine: np.ndarray) -> dict:
    """Fingerprint of one session: ``volumes`` (D, H, W, C) raw inputs in ``names`` order."""
    zooms = [float(z) for z in nib.affines.voxel_sizes(affine)[:3]]
    inside = brain > 0
    intensity = {}
    for c, name in enumerate(names):
        values = volumes[..., c][inside] if inside.any() else volumes[..., c].ravel()
        intensity[name] = {f"p{p}": float(v) for p, v in zip(PERCENTILES, np.percentile(values, PERCENTILES))}
    return {
        "voxel_size": zooms,
        "field_of_view": [float(n * z) for n, z in zip(volumes.shape[:3], zooms)],
        "orientation": "".join(nib.aff2axcodes(affine)),
        "brain_extracted": looks_skull_stripped(volumes[..., 0], float(np.prod(zooms)) / 1000.0),
        "intensity": intensity,
    }


def summarise(fingerprints: Iterable[dict]) -> dict:
    """The training fingerprint: each property's range (min, max) over the sessions."""
    prints = list(fingerprints)
    if not prints:
        return {}

    def span(key):
        values = np.array([p[key] for p in prints], float)
        return {"min": values.min(axis=0).tolist(), "max": values.max(axis=0).tolist()}

    names = list(prints[0]["intensity"])
    return {
        "sessions": len(prints),
        "voxel_size": span("voxel_size"),
        "field_of_view": span("field_of_view"),
        "orientation": sorted({p["orientation"] for p in prints}),
        "brain_extracted": sorted({bool(p["brain_extracted"]) for p in prints}),
        "intensity": {name: {q: {"min": min(p["intensity"][name][q] for p in prints),
                                 "max": max(p["intensity"][name][q] for p in prints)}
                             for q in ("p50", "p99")} for name in names},
    }


class Difference(NamedTuple):
    """One way a session differs from the training scans: the property and a sentence."""

    property: str  # voxel_size | field_of_view | orientation | brain_extracted | intensity:<name>
    message: str


def _mm(values) -> str:
    return "x".join(f"{v:.3g}" for v in values)


def _outside(value: float, low: float, high: float, tolerance: float) -> bool:
    return not (low / tolerance <= value <= high * tolerance)


def compare(training: dict, session: dict, scale_free: Sequence[str] = ()) -> list[Difference]:
    """What ``session`` does differently from ``training`` beyond the tolerances (empty:
    the model knows scans like this one). ``scale_free``: inputs standardised per image,
    whose intensity scale does not matter."""
    problems = []
    # the model's first input as the reference of the command that fixes a grid
    first = next(iter(training.get("intensity") or {}), None)
    reference = f" --reference {first}" if first else ""
    size, known = session["voxel_size"], training["voxel_size"]
    if any(_outside(v, lo, hi, VOXEL_TOLERANCE) for v, lo, hi in zip(size, known["min"], known["max"])):
        target = max(known["max"])
        problems.append(Difference("voxel_size", f"voxel size {_mm(size)} mm, the model knows {_mm(known['min'])}"
                        + (f" to {_mm(known['max'])}" if known["min"] != known["max"] else "")
                        + f" mm: resample with `msgan preprocess{reference} --voxel-size {target:.3g}`"))
    fov, known = session["field_of_view"], training["field_of_view"]
    if any(_outside(v, lo, hi, FOV_TOLERANCE) for v, lo, hi in zip(fov, known["min"], known["max"])):
        crop = ",".join(str(round(f / v)) for f, v in zip(known["max"], size))
        problems.append(Difference("field_of_view", f"field of view {_mm(fov)} mm, the model knows "
                                   f"{_mm(known['min'])} to {_mm(known['max'])} mm: crop or pad around "
                                   f"the brain with `msgan preprocess{reference} --crop {crop}`"))
    if bool(session["brain_extracted"]) not in training["brain_extracted"]:
        problems.append(Difference("brain_extracted",
                                   "not brain-extracted, the model learned from brain-extracted scans: "
                                   f"run `msgan preprocess{reference} --brain-mask auto` (msgan predict applies "
                                   "the brain mask it writes)"
                                   if not session["brain_extracted"] else
                                   "brain-extracted, the model learned from whole heads"))
    for name, known in training.get("intensity", {}).items():
        if name in scale_free or name not in session["intensity"]:
            continue
        own = session["intensity"][name]
        off = [q for q in ("p50", "p99") if _outside(own[q], known[q]["min"], known[q]["max"], INTENSITY_TOLERANCE)]
        if off:
            q = off[0]
            middle = (known[q]["min"] + known[q]["max"]) / 2
            problems.append(Difference(f"intensity:{name}", f"{name} intensities ({q[1:]}th percentile in the brain {own[q]:.4g}) are "
                            f"{own[q] / middle:.2g}x the training's ({known[q]['min']:.4g} to "
                            f"{known[q]['max']:.4g}): another scanner scale; rescale, or use a model "
                            "trained on shards of `msgan make-tfrecords --normalize subject-all`"))
    return problems
