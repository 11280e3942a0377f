"""``msgan demo``: the whole system on the built-in simulated cohort, in one command: two
chapter declarations at toy size (:meth:`DemoSettings.chapters`: FLAIR, ch. 2; myelin, ch.
3-4) on one cohort and one 2-fold split, then P3S (eq. 2.3) and attention (eq. 3.7) maps of
one test subject and one ``report.md``; not :func:`~msgan.experiments.chapter.run_chapter`
itself, as the halves share one cohort, folder and report (docs/ARCHITECTURE.md, "Experiments").
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Callable

from data_tools.contracts import BASELINE, TASKS, ShardSpec
from msgan.experiments.chapter import Chapter, ChapterRun, opened
from msgan.experiments.chapter_report import final_paths
from msgan.experiments.protocol import CohortDesign, Config, narrowed, timed

# the thesis's inputs: ch. 2 had no T1POST (sec. 2.2.3), although the simulator writes one
FLAIR_INPUTS = list(TASKS["flair"].thesis_inputs)
MYELIN_INPUTS = list(TASKS["myelin"].thesis_inputs)
FOLDS = 2
MEAN_IMAGE = "mean-image"


@dataclass
class DemoSettings:
    """Sizes of a demo run: the simulated cohort (patients at t0 and t1, controls at t0; its seed
    also the training's) and training lengths (tiny networks on purpose)."""

    design: CohortDesign = field(default_factory=lambda: CohortDesign(n_ms=12, n_hc=6, resolution=2.0))
    flair_epochs: int = 8
    fcn_filters: int = 16
    myelin_shards: ShardSpec = ShardSpec("myelin", inputs=tuple(MYELIN_INPUTS), patch=32, overlap=0.0, session=BASELINE)
    myelin_model: str = "refiner_cfsagan"  # or its Sketcher alone, "cfsagan" (one stage to train)
    myelin_epochs: int = 3
    myelin_steps: int | None = 30  # steps per epoch, every batch full (None: one pass, the last batch partial)
    myelin_lr: float | None = 1e-3  # None: the thesis's 1e-4 / 5e-5 (sec. 4.3.1), too slow for 3 epochs
    gan_filters: int = 4
    optimize_graphs: bool = False  # TensorFlow's graph optimiser (grappler): see toy_graphs

    def chapters(self) -> tuple[Chapter, Chapter]:
        """The demo's two halves, declared: each a task, its configurations, the shards of the
        baseline visit and the training settings (``TrainOptions`` fields); the evaluation of
        each in ``evaluation/<flair|myelin>``; the report is the demo's (``run_demo``)."""
        rates = {} if self.myelin_lr is None else {"lr": self.myelin_lr, "refiner_lr": self.myelin_lr}
        fcn = Config("fcn", "fcn", "mse", model_kwargs={"filters": self.fcn_filters, "n_layers": 3})
        flair = Chapter("demo-flair", "flair", fcn.name, lambda _: (fcn, Config(MEAN_IMAGE, MEAN_IMAGE)),
                        lambda _: self, lambda run, config: ShardSpec("flair", inputs=tuple(FLAIR_INPUTS),
                                                                      layout="whole", session=BASELINE),
                        partial(_train, {"epochs": self.flair_epochs, "batch": 1, "optimizer": "adam", "lr": 1e-3}),
                        None, reference_first=True, evaluation="evaluation/flair", command="msgan demo")
        refiner_loss = "nwl1" if self.myelin_model == "refiner_cfsagan" else None
        gan = Config(self.myelin_model, self.myelin_model, "l1", refiner_loss=refiner_loss)
        myelin = Chapter("demo-myelin", "myelin-longitudinal", gan.name,
                         lambda _: narrowed((gan,), self.gan_filters, 16), lambda _: self,
                         lambda run, config: self.myelin_shards,
                         partial(_train, {"epochs": self.myelin_epochs, "steps_per_epoch": self.myelin_steps,
                                          "batch": 4, **rates}),
                         None, evaluation="evaluation/myelin", command="msgan demo")
        return flair, myelin


def _train(train: dict, run: ChapterRun, config: Config, shards: Path) -> None:
    """``msgan cv`` of a network (2 folds, no validation subjects, no early stopping) and its
    held-out predictions; the mean-image baseline on the reference's folds, saved as they are."""
    from msgan.classic.mean_image import mean_image_predictions

    if config.model != MEAN_IMAGE:
        train = {**train, "seed": run.settings.design.seed, "early_stopping": False}
        run.cross_validate(config, shards, FOLDS, 0, train)
        return
    target = TASKS[run.chapter.task].target
    for fold in run.plan:
        sessions = [s for s in run.data.select(fold["test"]).sessions() if s.has(target)]
        run.save_held_out(config.name, sessions, mean_image_predictions(run.data, fold["train"], sessions, target,
                                                                        FLAIR_INPUTS), target)


#: --quick: 5 mm voxels, small patches, the one-stage CF-SAGAN and a faster learning rate,
#: so the whole run takes a few minutes on two cores (scripts/time_demo.py)
QUICK = DemoSettings(design=CohortDesign(n_ms=12, n_hc=4, resolution=5.0), flair_epochs=10, fcn_filters=16,
                     myelin_model="cfsagan", myelin_shards=replace(DemoSettings.myelin_shards, patch=16),
                     myelin_epochs=3, myelin_steps=20, myelin_lr=1e-3, gan_filters=4)


@contextlib.contextmanager
def toy_graphs(optimize: bool = False):
    """Within the block, TensorFlow builds its graphs without the grappler optimiser unless
    ``optimize``: the demo's tiny networks train for a few dozen steps, so tracing and
    optimising each step is a large share of their time (``scripts/time_demo.py
    --graph-optimizer`` times both); the previous options are put back after."""
    import tensorflow as tf

    previous = tf.config.optimizer.get_experimental_options()
    if not optimize:
        tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    try:
        yield
    finally:
        tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": False, **previous})


def run_demo(out: str | Path = "demo_output", quick: bool = False, overwrite: bool = False,
             progress: bool = True, echo: Callable[[str], None] = print,
             settings: DemoSettings | None = None) -> Path:
    """Run the demo into ``out`` (all or nothing) and return the path of ``report.md``."""
    from msgan.experiments.demo_report import write_demo_report

    settings = settings or (QUICK if quick else DemoSettings())
    started, timings = time.perf_counter(), {}
    step = timed(echo, started, timings)
    chapters = [(declared, declared.configs(settings)) for declared in settings.chapters()]
    with toy_graphs(settings.optimize_graphs), opened(chapters, settings, Path(out), None, True, overwrite, progress,
                                                      step, "simulate") as (flair, myelin):
        tmp, out = flair.tmp, flair.out
        step("FLAIR (ch. 2): whole-volume shards, 2-fold fcn, mean-image baseline", "flair")
        flair.train_all()
        step(f"myelin (ch. 3-4): baseline-visit patch shards, 2-fold {settings.myelin_model}, applied to both "
             "visits", "myelin")
        myelin.train_all()

        step("evaluating both tasks (msgan evaluate)", "evaluate")
        for run in (flair, myelin):
            run.evaluate(threshold_space="native")
            final_paths([run.result.out / "report.md"], tmp, out)  # name the folders as they will be

        step("saliency maps (P3S, eq. 2.3; attention, eq. 3.7) of one held-out patient", "saliency")
        ranking = flair.saliency("fcn", tmp / "saliency" / f"sub-{flair.held_out_patient()[0]}")
        timings["end"] = time.perf_counter()
        report = write_demo_report(flair, myelin, quick, ranking, _durations(timings, started))
        step("report written")
    return out / report.name


def _durations(timings: dict[str, float], started: float) -> dict[str, float]:
    """Seconds of each named step (until the next began), and in all."""
    names = list(timings)
    return {**{a: round(timings[b] - timings[a], 1) for a, b in zip(names, names[1:])},
            "total": round(timings["end"] - started, 1)}
