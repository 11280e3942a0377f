"""``msgan demo``: the whole system on the built-in simulated cohort, in one command.

Two declarations (:class:`DemoTask`) at toy size, run by the chapters' own steps
(:func:`msgan.experiments.protocol.cross_validate_and_predict`: ``msgan cv``, its later
fold reusing the first fold's traced steps, then each fold's held-out predictions):
- FLAIR (ch. 2): shards of whole volumes, an ``fcn`` trained on T1, T2, PD, T1SE and DIR,
  compared with the mean-image baseline on the same folds;
- myelin (ch. 3-4): patch shards of the baseline visit, a short ``refiner_cfsagan``
  (Sketcher L1, Refiner NWL1; ``--quick``: its Sketcher alone, ``cfsagan``) applied to
  both visits;
both in the same 2-fold subject-level split (every subject is predicted by the model that
never saw it); then ``msgan evaluate`` for both tasks, P3S and attention saliency maps of
one test subject, and ``report.md`` that ties them together.
"""
from __future__ import annotations

import contextlib
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from data_tools.contracts import BASELINE, TASKS, ShardSpec
from data_tools.io.atomic import atomic_output_dir
from msgan.experiments.protocol import Config, cross_validate_and_predict, discarded_on_stop, merge_fold

# the thesis's inputs: ch. 2 had no T1POST (sec. 2.2.3), although the simulator writes one
FLAIR_INPUTS = list(TASKS["flair"].thesis_inputs)
MYELIN_INPUTS = list(TASKS["myelin"].thesis_inputs)
FOLDS = 2


@dataclass
class DemoSettings:
    """Sizes of a demo run: cohort, resolution and training lengths (tiny networks on purpose)."""

    n_ms: int = 12
    n_hc: int = 6
    resolution: float = 2.0
    flair_epochs: int = 8
    fcn_filters: int = 16
    myelin_patch: int = 32
    myelin_overlap: float = 0.0
    myelin_model: str = "refiner_cfsagan"  # or its Sketcher alone, "cfsagan" (one stage to train)
    myelin_epochs: int = 3
    myelin_steps: int | None = 30  # steps per epoch, every batch full (None: one pass, the last batch partial)
    myelin_lr: float | None = 1e-3  # None: the thesis's 1e-4 / 5e-5 (sec. 4.3.1), too slow for 3 epochs
    gan_filters: int = 4
    seed: int = 0
    optimize_graphs: bool = False  # TensorFlow's graph optimiser (grappler): see toy_graphs

    def gan_kwargs(self) -> dict:
        return {"generator_kwargs": {"base_filters": self.gan_filters},
                "discriminator_kwargs": {"base_filters": self.gan_filters, "patch_size": 16}}

    def tasks(self) -> tuple["DemoTask", "DemoTask"]:
        """The demo's two halves, declared."""
        rates = {} if self.myelin_lr is None else {"lr": self.myelin_lr, "refiner_lr": self.myelin_lr}
        flair = DemoTask("flair", Config("fcn", "fcn", "mse", model_kwargs={"filters": self.fcn_filters,
                                                                             "n_layers": 3}),
                         ShardSpec("flair", inputs=FLAIR_INPUTS, layout="whole", session=BASELINE),
                         {"epochs": self.flair_epochs, "batch": 1, "optimizer": "adam", "lr": 1e-3},
                         baseline=True)
        refiner_loss = "nwl1" if self.myelin_model == "refiner_cfsagan" else None
        myelin = DemoTask("myelin", Config(self.myelin_model, self.myelin_model, "l1", refiner_loss=refiner_loss,
                                           model_kwargs=self.gan_kwargs()),
                          ShardSpec("myelin", inputs=MYELIN_INPUTS, patch=self.myelin_patch,
                                    overlap=self.myelin_overlap, session=BASELINE),
                          {"epochs": self.myelin_epochs, "steps_per_epoch": self.myelin_steps, "batch": 4,
                           **rates})
        return flair, myelin


@dataclass(frozen=True)
class DemoTask:
    """One half of the demo: the task, its trained configuration, its shards (of the baseline
    visit) and the training settings (``TrainOptions`` fields); ``baseline``: the mean-image
    baseline too."""

    task: str
    config: Config
    shards: ShardSpec
    train: dict
    baseline: bool = False


#: --quick: 5 mm voxels, small patches, the one-stage CF-SAGAN and a faster learning rate,
#: so the whole run takes a few minutes on two cores (scripts/time_demo.py)
QUICK = DemoSettings(n_ms=12, n_hc=4, resolution=5.0, flair_epochs=10, fcn_filters=16, myelin_model="cfsagan",
                     myelin_patch=16, myelin_overlap=0.0, myelin_epochs=3, myelin_steps=20, myelin_lr=1e-3,
                     gan_filters=4)


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


def run_task(declared: DemoTask, cohort, tmp: Path, seed: int, progress: bool) -> list[dict]:
    """Shards of the baseline visit, ``msgan cv`` of the declared configuration and its
    held-out predictions (``tmp/predictions/<config>``), and the baseline's; the fold plan."""
    from data_tools.shards.dataset import build_shards
    from msgan.experiments.baselines import mean_image_baseline

    target = TASKS[declared.task].target
    shards = tmp / "shards" / declared.task
    build_shards(cohort, declared.shards, shards, progress=progress)
    train = {**declared.train, "model_kwargs": declared.config.model_kwargs, "seed": seed,
             "early_stopping": False}
    plan = cross_validate_and_predict(declared.config, shards, cohort, tmp / "runs", tmp / "predictions", FOLDS, 0,
                                      train, progress)
    for fold in plan if declared.baseline else ():
        fold_dir = tmp / "predictions" / f".mean-fold{fold['fold']}"
        mean_image_baseline(cohort, fold["train"], fold["test"], target, declared.shards.inputs, fold_dir)
        merge_fold(fold_dir, tmp / "predictions" / "mean-image")
    return plan


def run_demo(out: str | Path = "demo_output", quick: bool = False, overwrite: bool = False,
             progress: bool = True, echo: Callable[[str], None] = print,
             settings: DemoSettings | None = None) -> Path:
    """Run the demo into ``out`` (all or nothing) and return the path of ``report.md``."""
    from data_tools.io.cohort import open_cohort
    from data_tools.simulation.cohort import simulate_cohort
    from msgan.evaluation.runner import evaluate
    from msgan.experiments.demo_report import write_demo_report
    from msgan.saliency.session import saliency_for_session

    settings = settings or (QUICK if quick else DemoSettings())
    flair, myelin = settings.tasks()
    out = Path(out)
    started = time.perf_counter()
    timings: dict[str, float] = {}

    def step(name: str, message: str):
        timings[name] = time.perf_counter()
        echo(f"[{time.perf_counter() - started:6.0f} s] {message}")

    with discarded_on_stop(out), toy_graphs(settings.optimize_graphs), \
            atomic_output_dir(out, overwrite=overwrite) as tmp:
        step("simulate", f"simulating {settings.n_ms} MS patients (2 visits) and {settings.n_hc} "
                         f"controls at {settings.resolution:g} mm")
        cohort_dir = simulate_cohort(tmp / "cohort", n_ms=settings.n_ms, n_hc=settings.n_hc,
                                     resolution=settings.resolution, seed=settings.seed,
                                     jobs=2, progress=progress)
        cohort = open_cohort(cohort=cohort_dir)

        step("flair", "FLAIR (ch. 2): whole-volume shards, 2-fold fcn, mean-image baseline")
        plan = run_task(flair, cohort, tmp, settings.seed, progress)
        step("myelin", f"myelin (ch. 3-4): baseline-visit patch shards, 2-fold {myelin.config.name}, "
                       "applied to both visits")
        run_task(myelin, cohort, tmp, settings.seed, progress)

        step("evaluate", "evaluating both tasks (msgan evaluate)")
        warnings: list[str] = []
        flair_eval = evaluate(tmp / "predictions" / "fcn", cohort, "flair", tmp / "evaluation" / "flair",
                              methods={"mean-image": tmp / "predictions" / "mean-image"}, label="fcn",
                              command="msgan demo", on_warning=warnings.append, progress=progress)
        myelin_eval = evaluate(tmp / "predictions" / myelin.config.name, cohort, "myelin-longitudinal",
                               tmp / "evaluation" / "myelin", label=myelin.config.name,
                               command="msgan demo", on_warning=warnings.append, progress=progress)
        for evaluation in (flair_eval, myelin_eval):  # name the folders as they will be
            _rename_paths(evaluation.out / "report.md", tmp, out)

        step("saliency", "saliency maps (P3S, eq. 2.3; attention, eq. 3.7) of one held-out patient")
        patient = next(s for s in plan[0]["test"] if cohort.subjects[s].group == "MS")
        ranking = saliency_for_session(tmp / "runs" / "fcn" / "fold-1", cohort, patient,
                                       tmp / "saliency" / f"sub-{patient}", session=BASELINE)
        warnings = [w.replace(str(tmp), str(out)) for w in warnings]
        timings["end"] = time.perf_counter()
        report = write_demo_report(tmp, settings=asdict(settings), quick=quick,
                                   folds=[fold["test"] for fold in plan], flair=flair_eval,
                                   myelin=myelin_eval, saliency_subject=patient, ranking=ranking,
                                   warnings=warnings, durations=_durations(timings, started),
                                   machine=f"{platform.machine()}, {platform.system()}, Python "
                                           f"{platform.python_version()}")
        echo(f"[{time.perf_counter() - started:6.0f} s] report written")
    return out / report.name


def _rename_paths(report: Path, tmp: Path, out: Path) -> None:
    """Replace the temporary output folder by the final one in a written report."""
    report.write_text(report.read_text().replace(str(tmp), str(out)))


def _durations(timings: dict[str, float], started: float) -> dict[str, float]:
    names = list(timings)
    out = {}
    for a, b in zip(names, names[1:]):
        out[a] = round(timings[b] - timings[a], 1)
    out["total"] = round(timings["end"] - started, 1)
    return out
