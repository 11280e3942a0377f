"""One runner for every chapter of ``msgan reproduce`` and both halves of ``msgan demo``: a
chapter is a :class:`Chapter` declaration and :func:`run_chapter` runs the steps they share
(the cohort, each configuration's shards and cross-validation, ``msgan evaluate``, the
report), all or nothing in ``out``, handing each other a :class:`ChapterRun`
(docs/ARCHITECTURE.md, "Experiments").
"""
from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from data_tools.contracts import FoldPlan, ShardSpec
from data_tools.io.atomic import atomic_output_dir
from data_tools.io.cohort import Cohort
from data_tools.io.nifti import save_like
from msgan.experiments.chapter_report import ChapterReport
from msgan.experiments.protocol import (Config, cohort_for, discarded_on_stop, merge_fold, select_configs,
                                        simulation_record, timed)
from msgan.inference.predict import prediction_path

TOY = "**Toy size (`--check`): every step of the protocol ran; the numbers mean nothing.**"


@dataclass(frozen=True)
class Chapter:
    """One chapter's protocol, declared: what ``msgan evaluate`` scores (``task``), the
    configuration every other is compared with, and each step of :func:`run_chapter` as a
    function (docs/ARCHITECTURE.md, "Experiments")."""

    name: str
    task: str
    reference: str
    configs: Callable[[Any], tuple[Config, ...]]
    settings: Callable[[bool], Any]  # check -> the full (thesis) or --check sizes
    shards: Callable[["ChapterRun", Config], ShardSpec]  # each distinct spec written once
    train: Callable[["ChapterRun", Config, Path], None]  # its cross-validation (ChapterRun.cross_validate)
    report: Callable[["ChapterRun"], ChapterReport] | None  # None: the caller writes it (the demo)
    reference_first: bool = False  # the reference trains first; the others follow its fold plan
    keep_maps: bool = False  # the evaluation keeps the reference's classified maps (Fig. 4.6)
    evaluation: str = "evaluation"  # its folder in the output
    command: str = ""  # what the evaluation report says ran ("": msgan reproduce <name>)


@dataclass
class ChapterRun:
    """What the steps of one reproduction share."""

    chapter: Chapter
    settings: Any
    configs: tuple[Config, ...]
    check: bool
    tmp: Path  # the partial output folder
    out: Path  # its final name
    data: Cohort
    cohort_dir: Path
    simulated: bool
    step: Callable[[str], None]
    progress: bool
    plan: list[dict] | None = None  # the fold plan, the same for every configuration
    result: Any = None  # the EvaluationResult of msgan evaluate
    shards: dict = field(default_factory=dict)  # ShardSpec -> its shard folder
    warnings: list[str] = field(default_factory=list)  # the evaluation's, in order

    def shards_for(self, spec: ShardSpec) -> Path:
        """The folder of ``spec``'s shards (``shards/<inputs>``), written the first time it is asked for."""
        from data_tools.shards.dataset import build_shards

        if spec not in self.shards:
            self.shards[spec] = self.tmp / "shards" / "+".join(spec.inputs or (spec.task,))
            build_shards(self.data, spec, self.shards[spec], progress=self.progress)
        return self.shards[spec]

    def cross_validate(self, config: Config, shards: Path, folds: int, val_per_fold: int, train: dict,
                       early_stop_on_test: bool = False, window=None) -> None:
        """``msgan cv`` of ``config`` on ``shards`` (runs in ``cv/<name>/``), then every fold's model
        predicts its held-out subjects at every session (sec. 4.3.1: trained at t0, applied to t1
        too) into ``predictions/<name>/``; ``window``: the prediction window of networks trained
        on crops (their shards have no patch size). The fold plan is kept (the first one)."""
        from msgan.inference.predict import predict_cohort, predictor_from_run
        from msgan.training.cv import cross_validate
        from msgan.training.presets import TrainOptions

        runs, predictions = self.tmp / "cv" / config.name, self.tmp / "predictions"
        cross_validate(TrainOptions(config.model, str(shards), str(runs), loss=config.loss,
                                    refiner_loss=config.refiner_loss, refinements=config.refinements,
                                    progress=self.progress, **{**train, "model_kwargs": config.model_kwargs}),
                       folds=folds, val_per_fold=val_per_fold, early_stop_on_test=early_stop_on_test)
        plan = FoldPlan.from_json(runs / "folds.json").folds
        predictor = None
        for fold in plan:
            run = runs / f"fold-{fold['fold']}"
            if predictor is None:
                predictor, _ = predictor_from_run(run, window=window)
            else:  # the same network and normalisation: the first fold's traced graph, this fold's weights
                predictor.model.load_weights(str(run / "model.weights.h5"))
            fold_dir = predictions / f".{config.name}-fold{fold['fold']}"
            predict_cohort(predictor, self.data, fold_dir, subjects=fold["test"], session=None, progress=self.progress)
            merge_fold(fold_dir, predictions / config.name)
        self.plan = self.plan or plan

    def classic_folds(self, config: Config, shards: Path, inputs, target: str, seed: int, session: str = "t0"
                      ) -> list[tuple]:
        """A classic method on the plan's folds: fitted on each fold's other subjects, its held-out
        ``session``s predicted into ``predictions/<name>/`` (``msgan predict``'s layout, on the
        truth's grid); ``[(session, truth, prediction)]``."""
        from msgan.classic.cohort import classic_predictions

        predicted = []
        for fold in self.plan:
            train_ids = [s for s in self.data.ids() if s not in fold["test"]]
            sessions = [s for s in self.data.select(fold["test"]).sessions(session) if s.has(target)]
            volumes = classic_predictions(config.model, shards, self.data, train_ids, sessions, list(inputs), target,
                                          seed, **config.model_kwargs)
            predicted += self.save_held_out(config.name, sessions, volumes, target)
        return predicted

    def save_held_out(self, name: str, sessions, volumes, target: str) -> list[tuple]:
        """``name``'s predictions ``volumes`` of the held-out ``sessions`` saved on the truth's grid
        where :meth:`predicted` says; ``[(session, truth, prediction)]``."""
        saved = []
        for session, volume in zip(sessions, volumes):
            truth = session.load(target)
            save_like(volume, truth, self.predicted(name, session, target))
            saved.append((session, truth, volume))
        return saved

    def predicted(self, name: str, session, target: str) -> Path:
        """Where ``name``'s prediction of ``session`` is (``msgan predict``'s layout)."""
        return prediction_path(self.tmp / "predictions" / name, session.subject, session.name, target)

    def saliency(self, name: str, out: Path, **options):
        """``msgan saliency`` at t0 of :meth:`held_out_patient` by ``name``'s model of the fold that
        held it out, into ``out``; the inputs ranked by their mean saliency inside the brain."""
        from msgan.saliency.session import saliency_for_session

        patient, fold = self.held_out_patient()
        return saliency_for_session(self.tmp / "cv" / name / f"fold-{fold}", self.data, patient, out, session="t0",
                                    **options)

    def held_out_patient(self) -> tuple[str, int]:
        """The first MS patient held out, folds in order (else the first subject held out), and its fold."""
        held_out = [(subject, fold["fold"]) for fold in self.plan for subject in fold["test"]]
        return next((s for s in held_out if self.data.subjects[s[0]].group == "MS"), held_out[0])

    def train_all(self) -> None:
        """Each configuration's shards and cross-validation (the reference first where declared)."""
        chapter = self.chapter
        first = [c for c in self.configs if chapter.reference_first and c.name == chapter.reference]
        for config in first + [c for c in self.configs if c not in first]:
            chapter.train(self, config, self.shards_for(chapter.shards(self, config)))

    def evaluate(self, threshold_space: str) -> None:
        """``msgan evaluate`` of the reference's predictions against every other configuration's."""
        from msgan.evaluation.runner import evaluate

        chapter, predictions = self.chapter, self.tmp / "predictions"
        others = {c.name: predictions / c.name for c in self.configs if c.name != chapter.reference}
        self.result = evaluate(predictions / chapter.reference, self.data, chapter.task, self.tmp / chapter.evaluation,
                               methods=others, label=chapter.reference,
                               command=chapter.command or f"msgan reproduce {chapter.name}",
                               on_warning=self.warnings.append, progress=self.progress,
                               threshold_space=threshold_space,
                               keep_maps=(chapter.reference,) if chapter.keep_maps else ())

    def new_report(self, title: str, section: str, shards: str, folds: str, presets: str, sizes: str,
                   numbers: str, visit: str = ", visit t0") -> ChapterReport:
        """The chapter's report, its preamble stating the protocol as run: toy or full size
        (``section``: the thesis's), the cohort, the ``shards``, the ``folds`` and the plan, the
        training (the settings' ``train`` or the thesis's ``presets``, then ``sizes``), what
        msgan's ``numbers`` are."""
        cohort = self.out / "cohort" if self.simulated else self.cohort_dir
        simulated = " (simulated by `msgan simulate`: not patient images)" if simulation_record(self.cohort_dir) else ""
        train = self.settings.train
        report = ChapterReport(title, folder=self.tmp)
        report.preamble += [
            TOY if self.check else f"Full protocol of sec. {section}.", "",
            f"- Cohort: `{cohort}`{simulated}: {len(self.data)} subjects{visit}.", f"- {shards}",
            f"- {folds} Folds: " + "; ".join(f"fold {f['fold']} tests {', '.join(f['test'])}" for f in self.plan) + ".",
            "- Training: " + (json.dumps(train) if train else f"the thesis's presets ({presets})") + sizes + ".",
            f"- {numbers}"]
        return report


def run_chapter(chapter: Chapter, out: str | Path, cohort: str | Path | None = None, check: bool = False,
                settings=None, methods=None, overwrite: bool = False, progress: bool = True,
                echo: Callable[[str], None] = print, threshold_space: str = "mni") -> Path:
    """Run ``chapter``'s protocol into ``out`` (all or nothing); return the path of ``report.md``.

    ``methods``: configuration names to run (None: all); the others' cells read n/a.
    ``threshold_space``: where the evaluation measures the distance to CSF of the
    demyelination thresholds (``mni``: the thesis's way, sec. 3.3.5; ``native``)."""
    from msgan.evaluation.demyelination import check_threshold_options

    check_threshold_options("same", threshold_space)
    if threshold_space == "mni" and chapter.task != "flair":
        from data_tools.preprocessing.itk_bridge import sitk

        sitk()  # SimpleITK missing: one ConfigError before any training
    settings = settings or chapter.settings(check)
    configs = select_configs(chapter.configs(settings), methods, chapter.reference)
    started = time.perf_counter()
    step = timed(echo, started)
    with opened([(chapter, configs)], settings, Path(out), cohort, check, overwrite, progress, step) as (run,):
        run.train_all()
        step(f"msgan evaluate --task {chapter.task} (all methods)")
        run.evaluate(threshold_space)
        return chapter.report(run).finish(run.tmp, run.out, started)


@contextlib.contextmanager
def opened(chapters: list[tuple[Chapter, tuple[Config, ...]]], settings, out: Path, cohort: str | Path | None,
           check: bool, overwrite: bool, progress: bool, step: Callable, mark: str | None = None
           ) -> Iterator[list[ChapterRun]]:
    """The runner's opening, all or nothing in ``out`` (training stopped by SIGTERM discards it,
    :func:`~msgan.experiments.protocol.discarded_on_stop`): the cohort (the user's, else
    ``settings.design`` simulated into ``out/cohort``; its ``step`` named ``mark``), then a run
    of each ``(chapter, its configurations)`` on it, in order (``msgan reproduce``: one; the demo: two)."""
    design = settings.design
    visits = ", one visit" if tuple(design.sessions) == ("t0",) else ""
    with discarded_on_stop(out), atomic_output_dir(out, overwrite=overwrite) as tmp:
        step("cohort" + (f" (simulating {design.n_ms} MS + {design.n_hc} HC at {design.resolution:g} mm{visits})"
                         if cohort is None else f" {cohort}"), mark)
        data, cohort_dir, simulated = cohort_for(cohort, design, tmp / "cohort", progress)
        yield [ChapterRun(chapter, settings, configs, check, tmp, out, data, cohort_dir, simulated, step, progress)
               for chapter, configs in chapters]
