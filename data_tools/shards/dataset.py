"""From a cohort to normalised TFRecord shards in one call (``msgan make-tfrecords``).

Two passes over the sessions, each with a progress bar:

1. *validate and fit*: every input, the target and the masks of every session are read
   (so any bad file fails before a shard is written), the ROI map is made and the
   normaliser is fitted;
2. *write*: each session is normalised, cut into examples of the chosen layout
   (optionally augmented, sec. 4.3.1) and written to shards.

Each file is read once per command (issue 17) while the sessions' arrays fit in
``MEMORY_FRACTION`` of the memory available at the start: pass 1 keeps what it read
(about (C + 1) x 4 + 2 bytes a voxel per session) for pass 2, which reads again only
the sessions that did not fit. (Spooling them to disk instead measured slower than
re-reading the gzipped NIfTI files.)
Everything goes into a temporary folder renamed to ``out`` at the end, so an error leaves
no output behind.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from tqdm.auto import tqdm

from data_tools.contracts import ShardSpec, get_task, look_up_option
from data_tools.errors import CohortError, ConfigError
from data_tools.io.atomic import atomic_output_dir
from data_tools.io.cohort import IMAGE_NAMES, Cohort, Session, parse_names
from data_tools.io.fingerprint import session_fingerprint, summarise
from data_tools.io.masks import LESION, OTHER, brain_mask, roi_labels, white_matter_mask
from data_tools.io.nifti import check_same_grid
from data_tools.shards import patches as P
from data_tools.shards.normalize import NORMALIZE_CHOICES, Normalizer

log = logging.getLogger(__name__)



@dataclass
class SessionArrays:
    """One session's raw images (channels last), masks, ROI map and grid, read once."""

    inputs: np.ndarray   # (D, H, W, C) float32, raw units
    target: np.ndarray   # (D, H, W) float32, raw units
    brain: np.ndarray    # (D, H, W) bool
    lesions: np.ndarray  # (D, H, W) bool
    roi: np.ndarray      # (D, H, W) uint8, masks.roi_labels
    affine: np.ndarray   # (4, 4) voxel -> world of the inputs' grid

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.inputs, self.target, self.brain, self.lesions, self.roi))


#: share of the memory available at the start that pass 1 may fill with sessions for pass 2
MEMORY_FRACTION = 0.25


def memory_budget() -> int:
    """Bytes of session arrays to keep between the passes (``MEMORY_FRACTION`` of the
    available memory; 2 GiB where the system does not say)."""
    try:
        available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        available = 8 << 30
    return int(available * MEMORY_FRACTION)


def resolve_task(task: str, inputs, target, sessions: Sequence[Session]) -> tuple[list[str], str]:
    """Input and target names for ``task``, given ones taking precedence."""
    spec = get_task(task)
    target = parse_names(target)[0] if target else spec.target
    if inputs:
        inputs = parse_names(inputs)
    elif not spec.inputs_if_present:
        inputs = list(spec.inputs)
    else:  # flair: every candidate input that all sessions have
        inputs = [n for n in spec.inputs if all(s.has(n) for s in sessions)]
        if not inputs:
            raise CohortError(f"no input sequence ({', '.join(spec.inputs)}) is present in "
                              "every session; name them with --inputs")
    if target in inputs:
        raise ConfigError(f"{target} is both an input and the target")
    for name in inputs + [target]:
        if name not in IMAGE_NAMES:
            raise ConfigError(f"{name} is a mask, not an image; it cannot be an input or target")
    return inputs, target


def load_session(session: Session, inputs: Sequence[str], target: str) -> SessionArrays:
    """Read and validate a session's inputs, target and masks (one grid), each file once,
    and derive the brain mask and ROI labels from them."""
    names = list(inputs) + [target]
    session.require(names)
    vols = session.load_many(names)
    masks = {n: session.load(n) for n in ("brainmask", "lesions", "wm") if session.has(n)}
    check_same_grid([vols[0]] + list(masks.values()))
    loaded = {name: v.data for name, v in zip(names, vols)} | {n: v.data for n, v in masks.items()}
    brain = brain_mask(session, inputs, loaded=loaded)
    lesions = loaded["lesions"] if "lesions" in loaded else np.zeros(vols[0].shape, bool)
    roi = roi_labels(lesions, white_matter_mask(session, brain, lesions, loaded=loaded))
    return SessionArrays(np.stack([v.data for v in vols[:-1]], axis=-1), vols[-1].data, brain, lesions,
                         roi, vols[0].affine)


def _images_for_fit(data: SessionArrays, inputs: Sequence[str], target: str):
    for c, name in enumerate(inputs):
        yield name, data.inputs[..., c], data.brain
    yield target, data.target, data.brain


def normalise_session(data: SessionArrays, norm: Normalizer, inputs: Sequence[str], target: str
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Normalised inputs ``(D,H,W,C)``, target ``(D,H,W)``, per-channel and target pad values."""
    channels, pads = [], []
    for c, name in enumerate(inputs):
        channels.append(norm.apply(name, data.inputs[..., c], data.brain))
        pads.append(norm.background(name, data.inputs[..., c], data.brain))
    x = np.stack(channels, axis=-1)
    y = norm.apply(target, data.target, data.brain)
    return x, y, np.asarray(pads, np.float32), norm.background(target, data.target, data.brain)


def build_shards(cohort: Cohort, spec: ShardSpec, out: str | Path, *, overwrite: bool = False,
                 progress: bool = True) -> dict:
    """Write normalised TFRecord shards of ``cohort`` to ``out`` as ``spec`` says
    (:class:`~data_tools.contracts.ShardSpec`); returns the index dict. ``progress`` shows
    tqdm bars when stderr is a terminal."""
    layout, augment, overlap, min_brain, lesion_copies = (spec.layout, spec.augment, spec.overlap, spec.min_brain,
                                                          spec.lesion_copies)
    look_up_option(layout, P.LAYOUTS, "layout")
    scope, region = look_up_option(spec.normalize, NORMALIZE_CHOICES, "normalisation (--normalize)")
    if augment and layout != "patches":
        raise ConfigError("--augment applies to --layout patches (the thesis augments ch. 4 patches only)")
    crop, patch = P.as_size(spec.crop, "crop size"), P.as_size(spec.patch, "patch size")
    if augment and patch[0] != patch[1]:
        raise ConfigError(f"--augment rotates the (D, H) plane and needs D == H, got patch {patch}")
    P.grid_stride(patch, overlap)  # validates the overlap early
    if int(lesion_copies) != lesion_copies or lesion_copies < 1:
        raise ConfigError(f"--lesion-copies must be a whole number of at least 1, got {lesion_copies}")
    task, session, compression = spec.task, spec.session, spec.compression

    cohort = cohort.select(spec.subjects)
    sessions = cohort.sessions(session)
    if not sessions:
        raise CohortError(f"no session {session!r} in the cohort" if session else "the cohort has no sessions",
                          cohort.source)
    inputs, target = resolve_task(task, spec.inputs, spec.target, sessions)
    for ses in sessions:  # name a missing sequence before reading any image
        ses.require(inputs + [target])
    start = time.perf_counter()

    with atomic_output_dir(out, overwrite=overwrite) as tmp:
        fingerprints = []
        kept: dict[int, SessionArrays] = {}  # pass 1's arrays for pass 2, within the budget
        budget = memory_budget()

        def fit_images():
            for i, ses in enumerate(tqdm(sessions, desc="validate + fit normalisation", unit="session",
                                         disable=None if progress else True)):
                data = load_session(ses, inputs, target)
                fingerprints.append(session_fingerprint(data.inputs, inputs, data.brain, data.affine))
                if data.nbytes <= budget - sum(d.nbytes for d in kept.values()):
                    kept[i] = data
                yield from _images_for_fit(data, inputs, target)

        norm = Normalizer.fit(fit_images(), target=target, scope=scope, region=region)
        if len(kept) < len(sessions):
            log.info("%d of %d sessions did not fit in memory (%.1f GB): they are read again",
                     len(sessions) - len(kept), len(sessions), budget / 1e9)
        # TensorFlow is imported only once the inputs are known good: bad input fails fast
        from data_tools.shards.tfrecords import ShardWriter, serialize_example, write_index

        writer = ShardWriter(tmp, shard_size=spec.shard_size, compression=compression)
        counts: dict[str, int] = {}
        shapes = set()
        for i, ses in enumerate(tqdm(sessions, desc="write shards", unit="session",
                                     disable=None if progress else True)):
            data = kept.pop(i) if i in kept else load_session(ses, inputs, target)
            x, y, x_pad, y_pad = normalise_session(data, norm, inputs, target)
            origins, size = P.layout_origins(layout, data.brain, crop=crop, patch=patch, overlap=overlap,
                                             min_brain=min_brain if layout == "patches" else 0.0)
            if layout == "crop":
                _warn_cropped_brain(ses, data.brain, origins[0], size)
            shapes.add(tuple(size))
            pads = {"inputs": x_pad, "target": y_pad, "brainmask": 0, "roi": OTHER}
            brain_u8 = data.brain.astype(np.uint8)
            for origin in origins:
                example = {"inputs": P.extract(x, origin, size, x_pad),
                           "target": P.extract(y, origin, size, y_pad),
                           "brainmask": P.extract(brain_u8, origin, size, 0),
                           "roi": P.extract(data.roi, origin, size, OTHER)}
                variants = list(P.augmented(example, pads) if augment else [("none", example)])
                if lesion_copies > 1 and (example["roi"] == LESION).any():
                    variants = variants * int(lesion_copies)
                for _, ex in variants:
                    writer.write(serialize_example(ex["inputs"], ex["target"], ex["brainmask"], ex["roi"],
                                                   ses.subject, ses.name, origin), ses.subject)
                    counts[ses.label] = counts.get(ses.label, 0) + 1
            del data, x, y
        shards = writer.close()
        norm.to_json(tmp / "normalization.json")
        index = {
            "task": task, "inputs": inputs, "target": target, "layout": layout,
            "patch_size": list(patch) if layout == "patches" else None,
            "crop_size": list(crop) if layout == "crop" else None,
            "overlap": overlap if layout == "patches" else None,
            "augment": list(P.AUGMENTATIONS) if augment else [],
            "min_brain": min_brain if layout == "patches" else None,
            "lesion_copies": int(lesion_copies),
            "example_shape": list(shapes.pop()) if len(shapes) == 1 else None,
            "normalization": norm.to_dict(),
            # what the sessions look like, for predict to recognise scans unlike them
            "fingerprint": summarise(fingerprints),
            "subjects": sorted({s.subject for s in sessions}),
            # MS/HC groups from the participants table, so cross-validation can spread controls
            "groups": {sid: cohort.subjects[sid].group for sid in sorted({s.subject for s in sessions})},
            "sessions": counts,
            "n_examples": sum(s["count"] for s in shards),
            "compression": compression,
            "shards": shards,
            "write_seconds": round(time.perf_counter() - start, 2),
        }
        write_index(tmp, index)
    return index


def _warn_cropped_brain(session: Session, brain: np.ndarray, origin, size) -> None:
    inside = P.extract(brain, origin, size, False).sum()
    lost = int(brain.sum() - inside)
    if lost:
        log.warning("%s: the %s crop leaves out %d brain voxels (the thesis resampled to "
                    "1.22 mm before cropping; resample first or enlarge --crop)",
                    session.label, "x".join(map(str, size)), lost)
