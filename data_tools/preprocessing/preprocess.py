"""Raw scans -> a co-registered cohort: N4, registration, longitudinal alignment, brain mask, crop.

The thesis never trains on raw scans (sec. 2.2.3, 3.3.1, 4.3.1): images are bias
corrected, every sequence of a visit is registered onto one reference (FLAIR, or the PIB
map for the myelin task), the brain is extracted and the volume cropped. Its longitudinal
indices compare the same voxel at two visits, so here each follow-up session is also
aligned rigidly to the baseline session's reference, and shares the baseline's grid.

Per session (see :func:`preprocess_session`):

1. read and validate every file; N4 each sequence in its own space (:mod:`data_tools.preprocessing.bias`);
2. register each sequence onto the reference, rigid then affine (:mod:`data_tools.preprocessing.registration`);
   the session's masks (lesions, wm, ...) ride with the transform of the sequence they were
   drawn on (``masks_on``, by default the reference);
3. a follow-up's reference is registered rigidly onto the baseline's;
4. the brain mask: the session's own, the non-zero voxels of an already brain-extracted reference, or
   else extracted from the raw head (:mod:`data_tools.preprocessing.brain_extraction`), see ``brain_mask``;
5. the output grid is the (baseline) reference grid, optionally resampled to a voxel
   size and cropped around the brain; every file is resampled once onto it
   (linear for images, nearest neighbour for masks).

:func:`preprocess_cohort` writes the cohort folder of DESIGN.md plus ``transforms/`` and
``qc/``, all or nothing.
"""
from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from data_tools.io.atomic import atomic_output_dir
from data_tools.preprocessing.bias import DEFAULT_ITERATIONS, DEFAULT_SHRINK, head_mask, n4_correct
from data_tools.io.fingerprint import looks_skull_stripped
from data_tools.preprocessing.brain_extraction import extract_brain
from data_tools.io.cohort import IMAGE_NAMES, Cohort, Session, _BINARY
from data_tools.contracts import look_up_option
from data_tools.errors import CohortError, ConfigError, InputFileError
from data_tools.preprocessing.grids import crop_grid, make_grid, resampled_grid
from data_tools.preprocessing.itk_bridge import (compose, identity_transform, itk_to_array, nifti_codes, save_itk_as_nifti, sitk,
                                   volume_to_itk)
from data_tools.io.nifti import load_volume
from data_tools.preprocessing.qc import qc_figure
from data_tools.preprocessing.registration import REGISTRATION_MODELS, RegistrationSettings, register, resample

log = logging.getLogger(__name__)

BRAIN_MASK_MODES = ("auto", "hdbet", "deepbrain", "template", "none")
#: Weighted MR images, whose intensities carry a coil bias field. Quantitative maps (MTR,
#: FA, RD, AD) and the PIB DVR map are ratios or physical quantities: N4 would distort them.
N4_NAMES = ("T1", "T2", "PD", "T1SE", "DIR", "T1POST", "FLAIR")


@dataclass
class PreprocessOptions:
    """Everything ``msgan preprocess`` can change; the defaults follow the thesis."""

    reference: str = "FLAIR"
    n4: bool = True
    n4_shrink: int = DEFAULT_SHRINK
    n4_iterations: tuple[int, ...] = DEFAULT_ITERATIONS
    #: "auto" (the session's own brainmask; else the non-zero voxels of a reference already
    #: brain-extracted; else "deepbrain"), "hdbet", "deepbrain", "template", "none", or a mask file
    #: on the reference grid used for every session
    brain_mask: str = "auto"
    crop: tuple[int, int, int] | None = None
    voxel_size: float | None = None
    #: the sequence on whose grid the session's masks were drawn (default: the reference)
    masks_on: str | None = None
    model: str = "affine"
    registration: RegistrationSettings = field(default_factory=RegistrationSettings)

    def validate(self) -> None:
        look_up_option(self.model, REGISTRATION_MODELS, "registration model")
        if self.crop is not None and (len(self.crop) != 3 or min(self.crop) < 1):
            raise ConfigError(f"crop must be three positive sizes D,H,W, got {self.crop}")
        if self.voxel_size is not None and self.voxel_size <= 0:
            raise ConfigError(f"voxel size must be positive, got {self.voxel_size}")
        if self.brain_mask not in BRAIN_MASK_MODES and not Path(self.brain_mask).is_file():
            raise InputFileError(f"brain mask file not found (or use {', '.join(BRAIN_MASK_MODES)})", self.brain_mask)


@dataclass
class SessionResult:
    """A preprocessed session in memory: SimpleITK images on one output grid."""

    session: Session
    reference: str
    images: dict            # name -> float32 image on the output grid
    masks: dict             # name -> uint8 image on the output grid (brainmask included)
    transforms: dict        # file stem -> ITK transform (fixed -> moving points)
    metrics: dict           # file stem -> final Mattes MI (negative: lower is better)
    codes: tuple[int, int]  # sform/qform codes of the reference
    grid: object            # the output grid (shared by all sessions of the subject)
    aligned_reference: object  # N4'd reference, on its own grid (the baseline target)
    baseline: "SessionResult | None" = None  # for follow-ups, shown in the QC figure


def _load_images(session: Session, options: PreprocessOptions):
    """Native SimpleITK images (N4'd) and masks of the session, the ref's codes, and, when
    the reference is already brain-extracted, its non-zero voxels (its brain; judged before
    N4, which shifts a zero background), else None."""
    images, masks, codes, stripped = {}, {}, (1, 1), None
    for name in session.files:
        volume = load_volume(session.path(name), mask=name in _BINARY)
        image = volume_to_itk(volume)
        if name == options.reference:
            codes = nifti_codes(volume)
            if looks_skull_stripped(volume.data, float(np.prod(volume.zooms[:3])) / 1000):
                stripped = sitk().Cast(image != 0, sitk().sitkUInt8)
        if name in IMAGE_NAMES:
            if options.n4 and name in N4_NAMES:
                image = n4_correct(image, shrink_factor=options.n4_shrink, iterations=options.n4_iterations,
                                   label=str(volume.path))
            images[name] = image
        else:
            masks[name] = image
    return images, masks, codes, stripped


def _brain_mask(session, options, images, stripped, grid, to_reference, masks, mask_transform, transforms):
    """The brain mask on ``grid`` (uint8) or None; a template's transform joins ``transforms``."""
    mode = options.brain_mask
    reference = images[options.reference]
    if mode == "auto":
        if "brainmask" in masks:
            return resample(masks.pop("brainmask"), grid, compose(mask_transform, to_reference), mask=True)
        log.info("%s: %s is %s: brain mask %s", session.label, options.reference,
                 "brain-extracted" if stripped is not None else "a raw head",
                 "its non-zero voxels" if stripped is not None else "deepbrain")
        if stripped is not None:  # written as the mask, because N4 and resampling leave the
            # outputs non-zero outside the brain (msgan predict re-applies it)
            return resample(stripped, grid, to_reference, mask=True)
        mode = "deepbrain"
    if mode == "none":
        return None
    if mode == "hdbet":
        return resample(extract_brain(reference, label=session.label, method="hdbet"), grid, to_reference, mask=True)
    if mode == "deepbrain":
        use_t1 = "T1" in images and options.reference != "T1"
        if not use_t1 and options.reference != "T1":
            log.warning("%s: no T1: brain extraction runs on %s, for which its network was not trained "
                        "(check the QC figure)", session.label, options.reference)
        mask = extract_brain(reference, images["T1"] if use_t1 else None,
                             transforms[f"T1_to_{options.reference}"] if use_t1 else None, label=session.label,
                             method="deepbrain")
        return resample(mask, grid, to_reference, mask=True)
    if mode == "template":
        from data_tools.preprocessing.brain_template import template_to_subject

        transform, template_mask = template_to_subject(
            reference, options.registration, label=f"{session.label} (MNI152 template onto {options.reference})")
        transforms["template_to_" + options.reference] = transform
        return resample(template_mask, grid, compose(transform, to_reference), mask=True)
    given = volume_to_itk(load_volume(mode, mask=True))
    return resample(given, grid, to_reference, mask=True)


def preprocess_session(session: Session, options: PreprocessOptions,
                       baseline: SessionResult | None = None) -> SessionResult:
    """Preprocess one session in memory (see the module docstring); raise naming the session."""
    ref_name = options.reference
    session.require([ref_name])
    masks_on = options.masks_on or ref_name
    images, masks, codes, stripped = _load_images(session, options)
    if masks and masks_on not in images:
        raise CohortError(f"masks are drawn on {masks_on}, which this session lacks", session.label)
    reference = images[ref_name]
    transforms, metrics = {}, {}
    for name, image in images.items():
        if name == ref_name:
            continue
        stem = f"{name}_to_{ref_name}"
        transforms[stem], metrics[stem] = register(
            reference, image, model=options.model, settings=options.registration,
            label=f"{session.label} ({name} onto {ref_name})")
        log.info("%s: %s registered, Mattes MI %.3f", session.label, stem, metrics[stem])

    if baseline is None:
        to_reference = identity_transform()  # output space = this reference's space
        grid = make_grid(reference.GetSize(), reference.GetSpacing(), reference.GetOrigin(),
                         reference.GetDirection())
        if options.voxel_size:
            grid = resampled_grid(grid, options.voxel_size)
    else:
        stem = f"{ref_name}_to_ses-{baseline.session.name}"
        to_reference, metrics[stem] = register(
            baseline.aligned_reference, reference, model="rigid", settings=options.registration,
            label=f"{session.label} ({ref_name} onto baseline ses-{baseline.session.name})")
        transforms[stem] = to_reference
        grid = baseline.grid

    identity = identity_transform()
    seq_transform = {name: transforms.get(f"{name}_to_{ref_name}", identity) for name in images}
    mask_transform = seq_transform.get(masks_on, identity)
    brain = _brain_mask(session, options, images, stripped, grid, to_reference, masks, mask_transform, transforms)
    if options.crop is not None and baseline is None:
        around = brain if brain is not None else resample(head_mask(reference), grid, to_reference, mask=True)
        grid = crop_grid(grid, around, options.crop, where=session.label)
        if brain is not None:
            brain = resample(brain, grid, mask=True)

    out_images = {name: resample(image, grid, compose(seq_transform[name], to_reference))
                  for name, image in images.items()}
    out_masks = {name: resample(mask, grid, compose(mask_transform, to_reference), mask=name in _BINARY)
                 for name, mask in masks.items()}
    if brain is not None:
        out_masks["brainmask"] = brain
    return SessionResult(session, ref_name, out_images, out_masks, transforms, metrics,
                         baseline.codes if baseline is not None else codes, grid, reference, baseline)


def write_session(result: SessionResult, out: Path) -> None:
    """Write images, masks, transforms and the QC figure of one session below ``out``."""
    tx = sitk()
    ses = result.session
    folder = out / f"sub-{ses.subject}" / f"ses-{ses.name}"
    for name, image in result.images.items():
        save_itk_as_nifti(image, folder / f"{name}.nii.gz", codes=result.codes)
    for name, mask in result.masks.items():
        binary = name in _BINARY
        save_itk_as_nifti(mask, folder / f"{name}.nii.gz", codes=result.codes,
                          dtype=np.uint8 if binary else np.float32)
    tfm_folder = out / "transforms" / f"sub-{ses.subject}" / f"ses-{ses.name}"
    tfm_folder.mkdir(parents=True, exist_ok=True)
    for stem, transform in result.transforms.items():
        tx.WriteTransform(transform, str(tfm_folder / f"{stem}.tfm"))
    arrays = {name: itk_to_array(image) for name, image in result.images.items()}
    reference = arrays.pop(result.reference)
    if result.baseline is not None:  # the follow-up's alignment to its baseline, same grid
        base = result.baseline
        arrays[f"ses-{base.session.name} {base.reference}"] = itk_to_array(base.images[base.reference])
    brain = itk_to_array(result.masks["brainmask"]) if "brainmask" in result.masks else None
    qc_figure(out / "qc" / f"sub-{ses.subject}_ses-{ses.name}.png", ses.label, result.reference,
              reference, arrays, brain, spacing=result.grid.GetSpacing())


def _participants_tsv(cohort: Cohort) -> str | None:
    keys = []
    for subject in cohort.subjects.values():
        keys += [k for k in subject.info if k not in keys]
    if not keys:
        return None

    def cell(value):
        if value is None:
            return "n/a"
        return f"{value:g}" if isinstance(value, float) else str(value)

    lines = ["\t".join(["participant_id", *keys])]
    for sid, subject in cohort.subjects.items():
        lines.append("\t".join([f"sub-{sid}", *(cell(subject.info.get(k)) for k in keys)]))
    return "\n".join(lines) + "\n"


def preprocess_cohort(cohort: Cohort, out: str | Path, options: PreprocessOptions | None = None, *,
                      overwrite: bool = False, progress: bool = True) -> Path:
    """Preprocess every session of ``cohort`` into the cohort folder ``out``, all or nothing.

    Sessions of a subject are processed in name order; the first is the baseline the
    others are aligned to. Writes ``sub-*/ses-*/<NAME>.nii.gz``, ``participants.tsv``,
    ``transforms/sub-*/ses-*/*.tfm``, ``qc/*.png`` and ``preprocess.json`` (options and
    final registration metrics).
    """
    from tqdm import tqdm

    options = options or PreprocessOptions()
    options.validate()
    sitk()  # fail early and clearly when SimpleITK is missing
    plan = [(subject, [subject.sessions[n] for n in sorted(subject.sessions)])
            for subject in cohort.subjects.values()]
    for _, sessions in plan:  # a missing reference should not surface after an hour of work
        for session in sessions:
            session.require([options.reference])
    report = {"options": asdict(options), "sessions": {}}
    total = sum(len(s) for _, s in plan)
    with atomic_output_dir(out, overwrite=overwrite) as tmp, \
            tqdm(total=total, desc="preprocess", unit="session", disable=not progress) as bar:
        for subject, sessions in plan:
            baseline = None
            for session in sessions:
                bar.set_postfix_str(session.label)
                result = preprocess_session(session, options, baseline)
                write_session(result, tmp)
                report["sessions"][session.label] = {"mattes_mi": result.metrics}
                baseline = baseline or result
                bar.update(1)
        table = _participants_tsv(cohort)
        if table:
            (tmp / "participants.tsv").write_text(table)
        (tmp / "preprocess.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    return Path(out)
