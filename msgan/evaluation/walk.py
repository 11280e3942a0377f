"""The walk through the cohort behind :func:`msgan.evaluation.evaluate`: session by session,
load the true image, the predictions and the masks, call the collectors
(:mod:`msgan.evaluation.collect`, which return rows) and assemble their rows, the gaps and
the figures' data.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import nibabel as nib
import numpy as np
from tqdm import tqdm

from data_tools.contracts import TASKS
from data_tools.errors import GeometryError, MsganError
from data_tools.io.cohort import Cohort, Session, Subject
from data_tools.io.masks import brain_mask, lesion_mask, white_matter_mask
from data_tools.io.nifti import AFFINE_TOLERANCE, Volume, check_same_grid, load_volume
from msgan.evaluation import collect
from msgan.evaluation.constants import BASELINE, FOLLOW_UP, TRUTH
from msgan.evaluation.demyelination import DEFAULT_BIN_MM, ControlThresholds, distance_to_csf, pool_control_statistics
from msgan.inference.predict import prediction_path


@dataclass
class Options:
    """Settings of one evaluation (recorded in the report)."""

    task: str
    target: str
    methods: dict[str, Path]
    reference: str
    k: float = 2.0
    dilation: int = 5
    bin_mm: float = DEFAULT_BIN_MM
    threshold_source: str = "same"
    threshold_space: str = "native"
    mni: object = None  # mni_space.MniRegistration for threshold_space "mni" (None: the defaults)
    keep_maps: tuple[str, ...] = ()  # methods whose classified maps (with the truth's) the walk keeps


def find_prediction(pred_dir: Path, session: Session, target: str) -> Path | None:
    """``<pred>/[sub-]<id>/[ses-]<name>/<TARGET>_pred.nii[.gz]`` if present."""
    for sub in (f"sub-{session.subject}", session.subject):
        for ses in (f"ses-{session.name}", session.name):
            path = prediction_path(pred_dir, sub, ses, target)
            for candidate in (path, path.with_suffix("")):  # .nii.gz, else .nii
                if candidate.is_file():
                    return candidate
    return None


class CohortWalk:
    """Walks the cohort once, session by session: loads what the measures need, calls the
    collectors (:mod:`msgan.evaluation.collect`, which return rows) and assembles their
    rows, the gaps and the figures' data."""

    def __init__(self, cohort: Cohort, options: Options, warn: Callable[[str], None],
                 progress: bool = True):
        self.cohort = cohort
        self.progress = progress
        self.options = options
        self.gaps: list[str] = []
        self._warn = warn
        self.rows: dict[str, list[dict]] = {}
        self.figure_data: dict = {}
        self.groups: dict[str, str] = {}  # subject id -> MS | HC, as evaluated
        #: (subject, session) -> {"lesions": lesion load, "maps": {TRUTH or kept method: demyelinated map}}
        self.classified: dict[tuple[str, str], dict] = {}

    def warn(self, message: str) -> None:
        if message in self.gaps:  # a session visited by two passes reports its gap once
            return
        self.gaps.append(message)
        self._warn(message)

    def add(self, table: str, rows: list[dict]) -> None:
        if rows:  # a table exists once it has a row
            self.rows.setdefault(table, []).extend(rows)

    def add_tables(self, rows: collect.Rows) -> None:
        for table, part in rows.items():
            self.add(table, part)

    # -- loading -------------------------------------------------------------------------
    def load_truth(self, session: Session) -> Volume:
        return session.load(self.options.target)

    def load_predictions(self, session: Session, truth: Volume) -> dict[str, np.ndarray]:
        preds = {}
        for name, folder in self.options.methods.items():
            path = find_prediction(folder, session, self.options.target)
            if path is None:
                self.warn(f"{session.label}: no {self.options.target} prediction from {name} "
                          f"in {folder}; left out of {name}'s measures")
                continue
            vol = load_volume(path)
            check_same_grid([truth, vol])  # a prediction on another grid is a broken input
            preds[name] = vol.data
        return preds

    def check_mask_grids(self, session: Session, truth: Volume) -> None:
        """Every mask of the session on the true image's grid (headers only, no voxels read)."""
        for name in ("brainmask", "lesions", "wm", "csf", "demyelinated"):
            if not session.has(name):
                continue
            path = session.path(name)
            try:
                img = nib.load(str(path))
            except Exception:  # unreadable: load_volume names the exact problem when it is read
                continue
            shape = tuple(img.shape[:3])
            if shape != truth.shape:
                raise GeometryError(f"shape {shape} differs from {truth.path.name} {truth.shape}", path)
            if float(np.abs(img.affine - truth.affine).max()) > AFFINE_TOLERANCE:
                raise GeometryError(f"affine differs from {truth.path.name}", path)

    def regions(self, session: Session, truth: Volume) -> dict[str, np.ndarray | None]:
        """brain, lesions and wm (None with a warning when it cannot be had) masks."""
        self.check_mask_grids(session, truth)
        brain = brain_mask(session, [self.options.target])
        lesions = lesion_mask(session, truth.shape) & brain
        try:
            wm = white_matter_mask(session, brain, lesions) & brain
        except MsganError as exc:
            self.warn(f"{session.label}: no white matter mask ({exc.problem}); "
                      "left out of the region measures")
            wm = None
        return {"brain": brain, "lesions": lesions, "wm": wm}

    def csf_distance(self, session: Session, truth: Volume, regions: dict) -> np.ndarray | None:
        """Distance to CSF in mm, in the session's own space or at its voxels' MNI locations."""
        if not session.has("csf"):
            self.warn(f"{session.label}: no csf mask; left out of the demyelination analysis")
            return None
        csf = session.load("csf").data
        try:
            if self.options.threshold_space == "native":
                return distance_to_csf(csf, truth.zooms, where=session.path("csf"))
            return self.mni_distance(session, truth, regions, csf)
        except MsganError as exc:
            self.warn(f"{exc.message}; {session.label} left out of the demyelination analysis")
            return None

    def mni_distance(self, session: Session, truth: Volume, regions: dict, csf: np.ndarray) -> np.ndarray | None:
        from msgan.evaluation.mni_space import template_distance

        if regions["wm"] is None:  # already stated as a gap by regions()
            return None
        started = time.perf_counter()
        distance, mattes_mi = template_distance(regions["brain"] | csf, csf, regions["wm"] | regions["lesions"],
                                                truth.affine, self.options.mni, label=session.label)
        self.add("registration", [{"subject": session.subject, "session": session.name,
                                   "seconds": time.perf_counter() - started, "mattes_mi": mattes_mi}])
        return distance

    # -- passes --------------------------------------------------------------------------
    def control_thresholds(self) -> dict[str, ControlThresholds]:
        """Per map source (truth, each method): the thresholds that classify its maps.

        Threshold source ``same``: the controls' maps of that source, pooled per
        distance-to-CSF bin; ``truth``: the controls' true maps for every source.
        A source without any usable control map is a stated gap (its maps are not classified).
        """
        same = self.options.threshold_source == "same"
        samples: dict[str, list] = {TRUTH: [], **{name: [] for name in self.options.methods}}
        for subject in self.cohort.subjects.values():
            if subject.group != "HC":
                continue
            for session in subject.sessions.values():
                if not session.has(self.options.target):
                    continue
                truth = self.load_truth(session)
                regions = self.regions(session, truth)
                if regions["wm"] is None:
                    continue
                distance = self.csf_distance(session, truth, regions)
                if distance is None:
                    continue
                nawm = regions["wm"] & ~regions["lesions"]
                samples[TRUTH].append((truth.data, distance, nawm))
                for method, pred in (self.load_predictions(session, truth) if same else {}).items():
                    samples[method].append((pred, distance, nawm))
        if not samples[TRUTH]:
            self.warn("no control with a true map, wm and csf masks: the demyelination thresholds "
                      "cannot be set; demyelination and longitudinal analyses left out")
            return {}
        thresholds = {TRUTH: pool_control_statistics(samples[TRUTH], self.options.bin_mm)}
        for method in self.options.methods:
            if not same:
                thresholds[method] = thresholds[TRUTH]
            elif samples[method]:
                thresholds[method] = pool_control_statistics(samples[method], self.options.bin_mm)
            else:
                self.warn(f"no control predicted by {method}: the thresholds for its maps (threshold source "
                          f"'same': the controls' {method} maps) cannot be set; {method}'s demyelination and "
                          "longitudinal measures left out (predict the controls, or use threshold source 'truth')")
        self.figure_data["thresholds"] = thresholds
        return thresholds

    def run(self) -> None:
        task = self.options.task
        thresholds = self.control_thresholds() if task != "flair" else {}
        for subject in tqdm(list(self.cohort.subjects.values()), desc="evaluate", unit="subject",
                            disable=not self.progress):
            group = self.subject_group(subject)
            if group is None:
                continue
            self.groups[subject.id] = group
            maps = {}
            # the baseline first: a follow-up's demyelination is over the baseline lesion load
            for session in sorted(subject.sessions.values(), key=lambda s: s.name != BASELINE):
                if not session.has(self.options.target):
                    self.warn(f"{session.label}: no true {self.options.target}; left out")
                    continue
                maps[session.name] = self.session(subject, session, thresholds, maps.get(BASELINE))
            if task == "myelin-longitudinal" and group == "MS" and thresholds:
                self.longitudinal(subject, maps)

    def subject_group(self, subject: Subject) -> str | None:
        """MS or HC from participants.tsv; without a group, a subject with a lesion mask is a patient."""
        if subject.group in ("MS", "HC"):
            return subject.group
        if subject.group is None and any(s.has("lesions") for s in subject.sessions.values()):
            self.warn(f"sub-{subject.id}: no group in participants.tsv; taken as a patient (MS) "
                      "because it has a lesion mask")
            return "MS"
        self.warn(f"sub-{subject.id}: group {subject.group!r} is not MS or HC in participants.tsv; left out")
        return None

    def session(self, subject: Subject, session: Session, thresholds: dict, baseline: dict | None) -> dict | None:
        truth = self.load_truth(session)
        preds = self.load_predictions(session, truth)
        regions = self.regions(session, truth)
        group = self.groups[subject.id]
        if group == "MS" and not session.has("lesions"):
            self.warn(f"{session.label}: patient without a lesions mask; left out of the lesion measures")
        base = {"subject": subject.id, "session": session.name, "group": group}
        self.add("quality", collect.quality(base, truth.data, preds, regions["brain"]))
        self.keep_example(session, truth, preds, regions)
        if self.options.task == "flair":
            self.flair(base, truth, preds, regions)
            return None
        if regions["wm"] is not None:
            self.add("roi", collect.myelin_rois(base, truth.data, preds, regions["wm"], regions["lesions"]))
        if group != "MS" or not thresholds:
            return None
        load = self.lesion_load(session, truth, regions, baseline)
        if load is None:
            return None
        distance = self.csf_distance(session, truth, regions)
        if distance is None:
            return None
        simulated = session.load("demyelinated").data if session.has("demyelinated") else None
        rows, visit = collect.demyelination(base, truth, preds, load, distance, thresholds,
                                            self.options.threshold_source, simulated)
        self.add_tables(rows)
        self.keep_overlay(base, truth, visit)
        if self.options.keep_maps:
            kept = {m: visit["maps"][m] for m in (TRUTH, *self.options.keep_maps) if m in visit["maps"]}
            self.classified[subject.id, session.name] = {"lesions": visit["lesions"], "maps": kept}
        return visit

    def flair(self, base: dict, truth: Volume, preds: dict, regions: dict) -> None:
        """Lesion contrast and threshold segmentation of a patient's session with wm and lesions."""
        if regions["wm"] is None or base["group"] != "MS":
            return
        if not regions["lesions"].any():
            self.warn(f"sub-{base['subject']}/ses-{base['session']}: patient without lesions in the lesion "
                      "mask; left out of the lesion contrast")
            return
        self.add_tables(collect.flair(base, truth.data, preds, regions["lesions"], regions["wm"],
                                      self.options.k, self.options.dilation))

    def longitudinal(self, subject: Subject, maps: dict) -> None:
        """The longitudinal indices of a patient both of whose visits were classified."""
        t0, t1 = maps.get(BASELINE), maps.get(FOLLOW_UP)
        if t0 is None or t1 is None:
            missing = FOLLOW_UP if t0 is not None else BASELINE
            self.warn(f"sub-{subject.id}: patient without a usable ses-{missing} (true PIB, lesions, csf); "
                      "left out of the longitudinal analysis and the clinical correlation")
            return
        self.add("longitudinal", collect.longitudinal(subject, t0, t1))

    # -- figures' data -------------------------------------------------------------------
    def keep_example(self, session: Session, truth: Volume, preds: dict, regions: dict) -> None:
        """One slice for the qualitative panel: the first patient's session predicted by every method."""
        current = self.figure_data.get("example")
        if (collect.replaces_example(current, bool(regions["lesions"].any()))
                and len(preds) == len(self.options.methods)):
            self.figure_data["example"] = collect.example_slice(session, truth, preds, regions,
                                                                TASKS[self.options.task].inputs)

    def keep_overlay(self, base: dict, truth: Volume, visit: dict) -> None:
        """The first two sessions' demyelinated maps (true and the reference method's) for the figure."""
        overlays = self.figure_data.setdefault("overlays", [])
        reference = self.options.reference
        if len(overlays) < 2 and reference in visit["maps"]:
            overlays.append(collect.overlay(base, truth.data, visit["lesions"], visit["maps"][TRUTH],
                                            visit["maps"][reference]))

    def lesion_load(self, session: Session, truth: Volume, regions: dict, baseline: dict | None):
        """(lesion mask, its session): the follow-up's is the baseline's (sec. 4.2.5), else its own."""
        if session.name != FOLLOW_UP:
            return (regions["lesions"], session.name) if regions["lesions"].any() else None
        if baseline is None:
            self.warn(f"{session.label}: no usable ses-{BASELINE} lesion load (true {self.options.target}, lesions, "
                      f"csf); the ses-{FOLLOW_UP} demyelination is over the baseline lesion load (sec. 4.2.5): "
                      "left out of the demyelination and longitudinal analyses")
            return None
        if baseline["lesions"].shape != truth.shape:
            self.warn(f"sub-{session.subject}: t0 and t1 images have different shapes; ses-{FOLLOW_UP} left out "
                      "of the demyelination and longitudinal analyses (visits must be co-registered)")
            return None
        return baseline["lesions"], BASELINE
