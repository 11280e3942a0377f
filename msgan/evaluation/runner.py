"""``evaluate()``: every measure of the thesis for one or more prediction folders, as a report.

Predictions are laid out as ``msgan predict`` writes them:
``<pred>/<subject>/<session>/<TARGET>_pred.nii.gz`` (``sub-``/``ses-`` prefixes optional).
A subject whose prediction or mask is missing is left out of the measures that need it,
with a warning line, and the report states the gap; only input that makes the whole
evaluation impossible raises a :class:`~msgan.errors.MsganError` (and nothing is written).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

from data_tools.contracts import RunConfig, get_task
from data_tools.errors import ConfigError, InputFileError, MsganError, OutputExistsError
from data_tools.io.atomic import atomic_output_dir
from data_tools.io.cohort import Cohort
from msgan.evaluation import tables
from msgan.evaluation.demyelination import DEFAULT_BIN_MM, check_threshold_options
from msgan.evaluation.walk import CohortWalk, Options, find_prediction
from msgan.inference.predict import prediction_path

__all__ = ["EvaluationResult", "Options", "evaluate", "find_prediction"]

log = logging.getLogger(__name__)


@dataclass
class EvaluationResult:
    """What :func:`evaluate` computed: long-format tables, gaps, and where the report is."""

    out: Path
    options: Options
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    gaps: list[str] = field(default_factory=list)
    cohort_summary: dict = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)
    #: (subject, session) -> lesion load and demyelinated maps (truth, ``keep_maps`` methods)
    classified: dict = field(default_factory=dict)

def _parse_methods(pred_dir, methods, label) -> dict[str, Path]:
    named = {label: Path(pred_dir)}
    for name, folder in (methods or {}).items():
        if name in named:
            raise ConfigError(f"method name {name!r} is used twice")
        named[name] = Path(folder)
    for name, folder in named.items():
        if not folder.is_dir():
            raise InputFileError(f"prediction folder of method {name!r} not found", folder)
    return named


def _provenance(pred_dirs: dict[str, Path], command: str | None) -> dict:
    """The command line and, for predictions inside a run folder, its training/validation split."""
    if command is None:  # called from Python: state the call
        command = f"msgan.evaluation.evaluate({str(next(iter(pred_dirs.values())))!r}, ...) from Python"
    info = {"command": command, "folds": {}}
    for name, folder in pred_dirs.items():
        config = folder.resolve().parent / RunConfig.FILE
        if config.is_file():
            try:
                cfg = RunConfig.from_json(config)
                info["folds"][name] = {"run": str(config.parent), "train": cfg.get("train_subjects"),
                                       "val": cfg.get("val_subjects"), "model": cfg.model}
            except MsganError:
                info["folds"][name] = {"run": str(config.parent), "error": "config.json unreadable"}
    return info

def evaluate(pred_dir: str | Path, cohort: Cohort, task: str, out: str | Path,
             methods: dict[str, str | Path] | None = None, label: str = "msgan", k: float = 2.0,
             dilation: int = 5, bin_mm: float = DEFAULT_BIN_MM, overwrite: bool = False,
             command: str | None = None, on_warning: Callable[[str], None] | None = None,
             progress: bool = True, threshold_source: str = "same", threshold_space: str = "native",
             mni=None, keep_maps: tuple[str, ...] = ()) -> EvaluationResult:
    """Evaluate predictions against ``cohort``'s true images and write a report folder ``out``.

    ``pred_dir`` holds the main method's predictions (named ``label``); ``methods`` maps
    further method names to their prediction folders, compared with the main one by
    paired t-tests. ``k`` is the threshold segmentation's SD multiple (FLAIR), ``dilation``
    the surrounding-NAWM width in voxels (eq. 2.4), ``bin_mm`` the distance-to-CSF bin
    width. ``threshold_source`` (``same`` | ``truth``) and ``threshold_space`` (``native`` |
    ``mni``) choose the demyelination thresholds (see :mod:`msgan.evaluation.demyelination`);
    ``mni`` (a :class:`~msgan.evaluation.mni_space.MniRegistration`) sets the template and
    registration of the ``mni`` space. ``keep_maps``: methods whose classified (demyelinated)
    maps the result keeps, with the truth's, in ``classified`` (Fig. 4.6). ``out`` receives ``report.md``, ``tables/*.csv`` and
    ``figures/*.png``. ``progress=False`` hides the per-subject progress bar.
    """
    from msgan.evaluation.report import write_report  # matplotlib (Agg backend) only for a report

    target = get_task(task).target
    check_threshold_options(threshold_source, threshold_space)
    if threshold_space == "mni" and task != "flair":
        from data_tools.preprocessing.itk_bridge import sitk

        sitk()  # SimpleITK missing: one ConfigError now, not a gap per session
    named = _parse_methods(pred_dir, methods, label)
    options = Options(task, target, named, label, k, dilation, bin_mm, threshold_source,
                      threshold_space, mni, tuple(keep_maps))
    with_target = [s for s in cohort.sessions() if s.has(options.target)]
    if not with_target:
        raise InputFileError(f"no session of the cohort has a true {options.target} image", cohort.source)
    if not any(find_prediction(named[label], s, options.target) for s in with_target):
        expected = prediction_path("<pred>", "<subject>", "<session>", options.target)
        raise InputFileError(f"no {expected.name} for any subject of the cohort (expected {expected})", named[label])
    out = Path(out)
    if out.exists() and not overwrite:
        raise OutputExistsError("output exists; pass --overwrite to replace it", out)

    evaluator = CohortWalk(cohort, options, on_warning or log.warning, progress)
    evaluator.run()
    result = EvaluationResult(out, options, gaps=evaluator.gaps,
                              provenance=_provenance(named, command), classified=evaluator.classified)
    result.tables, notes = tables.build_tables(evaluator.rows, options.reference)
    for note in notes:
        evaluator.warn(note)
    result.cohort_summary = tables.cohort_summary(cohort, options.target, evaluator.groups)
    with atomic_output_dir(out, overwrite=overwrite) as tmp:
        write_report(result, evaluator.figure_data, tmp)
    return result
