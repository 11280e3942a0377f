"""``msgan demo``: the whole system on the built-in simulated cohort, in one command.

Simulate a small cohort, then in a 2-fold subject-level cross-validation (every subject is
predicted by the model that never saw it):
- FLAIR (ch. 2): shards of whole volumes, an ``fcn`` trained on T1, T2, PD, T1SE and DIR,
  compared with the mean-image baseline;
- myelin (ch. 3-4): 32^3 patch shards of the baseline visit, a short ``refiner_cfsagan``
  (Sketcher L1, Refiner NWL1) applied to both visits;
then ``msgan evaluate`` for both tasks, P3S and attention saliency maps of one test
subject, and ``report.md`` that ties them together.
"""
from __future__ import annotations

import platform
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from data_tools.contracts import BASELINE, TASKS
from data_tools.io.atomic import atomic_output_dir

# the thesis's inputs: ch. 2 had no T1POST (sec. 2.2.3), although the simulator writes one
FLAIR_INPUTS = list(TASKS["flair"].thesis_inputs)
MYELIN_INPUTS = list(TASKS["myelin"].thesis_inputs)


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
    myelin_epochs: int = 3
    myelin_lr: float | None = 1e-3  # None: the thesis's 1e-4 / 5e-5 (sec. 4.3.1), too slow for 3 epochs
    myelin_folds: int = 2  # 1: train the myelin model on one fold only, test on the other
    gan_filters: int = 4
    seed: int = 0
    model_kwargs: dict = field(default_factory=dict)

    def gan_kwargs(self) -> dict:
        return {"generator_kwargs": {"base_filters": self.gan_filters},
                "discriminator_kwargs": {"base_filters": self.gan_filters, "patch_size": 16}}


#: --quick: 4 mm voxels, small patches, a faster learning rate and one myelin fold, so the
#: whole run takes about three minutes on two cores
QUICK = DemoSettings(n_ms=12, n_hc=4, resolution=4.0, flair_epochs=10, fcn_filters=16,
                     myelin_patch=16, myelin_overlap=0.0, myelin_epochs=3, myelin_lr=1e-3,
                     myelin_folds=1, gan_filters=4)


def two_folds(cohort, seed: int) -> list[list[str]]:
    """Two subject-level folds, controls spread evenly (msgan.training.cv.make_folds)."""
    from msgan.training.cv import make_folds

    return make_folds({sid: s.group for sid, s in cohort.subjects.items()}, 2, seed=seed)


def _merge_into(fold_dir: Path, combined: Path) -> None:
    """Move each subject folder of one fold's predictions into the combined folder."""
    combined.mkdir(parents=True, exist_ok=True)
    for subject_dir in sorted(p for p in fold_dir.iterdir() if p.is_dir()):
        shutil.move(str(subject_dir), str(combined / subject_dir.name))
    shutil.rmtree(fold_dir)


def _train_and_predict(model: str, shards: Path, run: Path, cohort, test_ids, settings_kwargs: dict,
                       pred_dir: Path, session: str | None, progress: bool) -> Path:
    from msgan.inference.predict import predict_cohort, predictor_from_run
    from msgan.training.presets import TrainOptions
    from msgan.training.run import train

    train(TrainOptions(model, str(shards), str(run), exclude_subjects=list(test_ids), progress=progress,
                       early_stopping=False, seed=0, **settings_kwargs))
    predictor, _ = predictor_from_run(run)
    predict_cohort(predictor, cohort, pred_dir, subjects=test_ids, session=session, progress=progress)
    return run


def run_demo(out: str | Path = "demo_output", quick: bool = False, overwrite: bool = False,
             progress: bool = True, echo: Callable[[str], None] = print,
             settings: DemoSettings | None = None) -> Path:
    """Run the demo into ``out`` (all or nothing) and return the path of ``report.md``."""
    from data_tools.io.cohort import open_cohort
    from data_tools.shards.dataset import build_shards
    from data_tools.simulation.cohort import simulate_cohort
    from msgan.evaluation.runner import evaluate
    from msgan.experiments.baselines import mean_image_baseline
    from msgan.experiments.demo_report import write_demo_report
    from msgan.saliency.session import saliency_for_session

    settings = settings or (QUICK if quick else DemoSettings())
    out = Path(out)
    started = time.perf_counter()
    timings: dict[str, float] = {}

    def step(name: str, message: str):
        timings[name] = time.perf_counter()
        echo(f"[{time.perf_counter() - started:6.0f} s] {message}")

    with atomic_output_dir(out, overwrite=overwrite) as tmp:
        step("simulate", f"simulating {settings.n_ms} MS patients (2 visits) and {settings.n_hc} "
                         f"controls at {settings.resolution:g} mm")
        cohort_dir = simulate_cohort(tmp / "cohort", n_ms=settings.n_ms, n_hc=settings.n_hc,
                                     resolution=settings.resolution, seed=settings.seed,
                                     jobs=2, progress=progress)
        cohort = open_cohort(cohort=cohort_dir)
        folds = two_folds(cohort, settings.seed)

        step("flair", "FLAIR (ch. 2): whole-volume shards, fcn per fold, mean-image baseline")
        flair_shards = tmp / "shards" / "flair"
        build_shards(cohort, "flair", flair_shards, inputs=FLAIR_INPUTS, target=TASKS["flair"].target, layout="whole",
                     session=BASELINE, progress=progress)
        flair_runs = []
        for i, test_ids in enumerate(folds):
            train_ids = [s for s in cohort.ids() if s not in test_ids]
            run = _train_and_predict(
                "fcn", flair_shards, tmp / "runs" / f"flair-fcn-fold{i + 1}", cohort, test_ids,
                dict(epochs=settings.flair_epochs, batch=1, optimizer="adam", lr=1e-3,
                     model_kwargs={"filters": settings.fcn_filters, "n_layers": 3}),
                tmp / "predictions" / f"fcn-fold{i + 1}", None, progress)
            flair_runs.append(run)
            _merge_into(tmp / "predictions" / f"fcn-fold{i + 1}", tmp / "predictions" / "fcn")
            mean_image_baseline(cohort, train_ids, test_ids, TASKS["flair"].target, FLAIR_INPUTS,
                                tmp / "predictions" / f"mean-fold{i + 1}")
            _merge_into(tmp / "predictions" / f"mean-fold{i + 1}", tmp / "predictions" / "mean-image")

        step("myelin", "myelin (ch. 3-4): baseline-visit patch shards, refiner_cfsagan per fold, "
                       "applied to both visits")
        myelin_shards = tmp / "shards" / "myelin"
        build_shards(cohort, "myelin", myelin_shards, inputs=MYELIN_INPUTS, target=TASKS["myelin"].target,
                     patch=settings.myelin_patch, overlap=settings.myelin_overlap, session=BASELINE,
                     progress=progress)
        rates = {} if settings.myelin_lr is None else {"lr": settings.myelin_lr, "refiner_lr": settings.myelin_lr}
        for i, test_ids in enumerate(folds[:settings.myelin_folds]):
            _train_and_predict(
                "refiner_cfsagan", myelin_shards, tmp / "runs" / f"myelin-refiner_cfsagan-fold{i + 1}",
                cohort, test_ids, dict(epochs=settings.myelin_epochs, batch=4, model_kwargs=settings.gan_kwargs(),
                                       **rates),
                tmp / "predictions" / f"pib-fold{i + 1}", None, progress)
            _merge_into(tmp / "predictions" / f"pib-fold{i + 1}", tmp / "predictions" / "refiner_cfsagan")

        step("evaluate", "evaluating both tasks (msgan evaluate)")
        warnings: list[str] = []
        flair_eval = evaluate(tmp / "predictions" / "fcn", cohort, "flair", tmp / "evaluation" / "flair",
                              methods={"mean-image": tmp / "predictions" / "mean-image"}, label="fcn",
                              command="msgan demo", on_warning=warnings.append,
                              progress=progress)
        myelin_eval = evaluate(tmp / "predictions" / "refiner_cfsagan", cohort, "myelin-longitudinal",
                               tmp / "evaluation" / "myelin", label="refiner_cfsagan",
                               command="msgan demo", on_warning=warnings.append,
                               progress=progress)

        for evaluation in (flair_eval, myelin_eval):  # name the folders as they will be
            _rename_paths(evaluation.out / "report.md", tmp, out)

        step("saliency", "saliency maps (P3S, eq. 2.3; attention, eq. 3.7) of one held-out patient")
        patient = next(s for s in folds[0] if cohort.subjects[s].group == "MS")
        ranking = saliency_for_session(flair_runs[0], cohort, patient, tmp / "saliency" / f"sub-{patient}",
                                       session="t0")
        warnings = [w.replace(str(tmp), str(out)) for w in warnings]
        timings["end"] = time.perf_counter()
        durations = _durations(timings, started)
        report = write_demo_report(tmp, settings=asdict(settings), quick=quick, folds=folds,
                                   flair=flair_eval, myelin=myelin_eval, saliency_subject=patient,
                                   ranking=ranking, warnings=warnings, durations=durations,
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
