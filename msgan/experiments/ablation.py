"""``msgan ablate``: what each input sequence is worth (Tables 2.4a-c, 3.3): every variant
(all inputs, each removed in turn, named combinations) trained on the same subjects and
scored on the same held-out ones by the MSE inside the brain, in the target's units; a
chapter declaration run by :meth:`~msgan.experiments.chapter.ChapterRun.train_all`
(docs/ARCHITECTURE.md, "Experiments").
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Sequence

import pandas as pd

from data_tools.contracts import ABLATION_LAYOUTS, SINGLE_SESSION_TASK_NAMES, ShardSpec, look_up_option
from data_tools.errors import ConfigError
from data_tools.io.atomic import atomic_output_dir
from data_tools.io.cohort import Cohort, parse_names
from data_tools.io.masks import brain_mask
from msgan.classic.cohort import CLASSIC_MODELS
from msgan.experiments.chapter import Chapter, ChapterRun
from msgan.experiments.protocol import Config


def ablation_variants(inputs: Sequence[str], combos: Sequence[str] = (), drop_each: bool = True
                      ) -> list[tuple[str, list[str]]]:
    """``[("all", inputs), ("no-T1", inputs without T1), ..., ("T1+DIR", [T1, DIR]), ...]``."""
    inputs = list(inputs)
    variants = [("all", inputs)]
    if drop_each and len(inputs) > 1:
        variants += [(f"no-{name}", [i for i in inputs if i != name]) for name in inputs]
    for combo in combos:
        names = parse_names(combo.replace("+", ","))
        unknown = [n for n in names if n not in inputs]
        if unknown:
            raise ConfigError(f"combination {combo} uses {', '.join(unknown)}, not among the inputs")
        variants.append(("+".join(names), names))
    return variants


@dataclass(frozen=True)
class Ablation:
    """What every variant shares: the shards (their inputs replaced by the variant's), the
    held-out sessions, deep models' training options and prediction tile; the rows scored."""

    spec: ShardSpec
    sessions: list
    train: dict
    tile: int
    rows: list[dict] = field(default_factory=list)


def _train(run: ChapterRun, config: Config, shards: Path) -> None:
    """One model (``config.model``) on one variant (``config.label``), trained on the fold's
    training subjects: its held-out predictions kept under ``predictions/<model>/<variant>/``,
    their MSE inside the brain in ``rows``."""
    from msgan.evaluation.image_quality import image_quality
    from msgan.inference.predict import predict_session, predictor_from_run
    from msgan.training.presets import TrainOptions
    from msgan.training.run import train

    ablation, spec = run.settings, run.settings.spec
    if config.model in CLASSIC_MODELS:
        predicted = run.classic_folds(config, shards, config.inputs, spec.target, ablation.train["seed"], spec.session)
    else:
        folder = run.tmp / "runs" / config.model / config.label
        train(TrainOptions(config.model, str(shards), str(folder), exclude_subjects=run.plan[0]["test"],
                           **ablation.train))
        predictor, _ = predictor_from_run(folder, tile=ablation.tile)
        volumes = [predict_session(predictor, session)[0] for session in ablation.sessions]
        predicted = run.save_held_out(config.name, ablation.sessions, volumes, spec.target)
    for session, truth, volume in predicted:
        ablation.rows.append({"model": config.model, "variant": config.label, "inputs": "+".join(config.inputs),
                              "subject": session.subject, "session": session.name, "mse_brain": image_quality(
                                  truth.data, volume, brain_mask(session, config.inputs))["mse_brain"]})


def ablate(cohort: Cohort, task: str, inputs: Sequence[str], target: str, out: str | Path,
           test_subjects: Sequence[str], models: Sequence[str] = ("fcn",), combos: Sequence[str] = (),
           session: str = "t0", layout: str = "whole", patch: int = 64, train_kwargs: dict | None = None,
           drop_each: bool = True, seed: int = 0, tile: int = 256, overwrite: bool = False,
           progress: bool = True) -> pd.DataFrame:
    """Train and score every variant for every model; write CSV and markdown tables to ``out``.

    ``out`` also keeps each variant's held-out predictions as ``msgan predict`` lays them
    out (``predictions/<model>/<variant>/<subject>/<session>/<TARGET>_pred.nii.gz``), so
    ``msgan evaluate`` can compare models; ``drop_each=False`` trains only all inputs and
    the combinations (a plain held-out comparison of models). ``tile`` bounds the tiles
    of whole-volume prediction as in ``msgan predict --tile`` (less memory, same result).
    Returns the summary (model, variant, inputs, mean and SD of the held-out MSE).
    """
    look_up_option(task, SINGLE_SESSION_TASK_NAMES, "ablation task (one session)")
    look_up_option(layout, ABLATION_LAYOUTS, "ablation layout")
    test_ids = [s.removeprefix("sub-") for s in test_subjects]
    cohort.select(test_ids)  # unknown ids are an error
    train_ids = [s for s in cohort.ids() if s not in test_ids]
    if not test_ids or not train_ids:
        raise ConfigError("ablation needs held-out subjects (--test-subjects) and subjects to train on")
    sessions = [s for s in cohort.select(test_ids).sessions(session) if s.has(target)]
    if not sessions:
        raise ConfigError(f"no held-out session {session} has the target {target}")
    configs = tuple(Config(f"{model}/{label}", model, label=label, inputs=tuple(names))
                    for label, names in ablation_variants(inputs, combos, drop_each) for model in models)
    spec = ShardSpec(task, target=target, layout=layout, patch=patch, session=session,
                     subjects=tuple(train_ids + test_ids))
    train = {"progress": progress, "early_stopping": False, "seed": seed, **(train_kwargs or {})}
    ablation = Ablation(spec, sessions, train, tile)
    chapter = Chapter("ablate", task, reference=configs[0].name, configs=lambda _: configs,
                      settings=lambda _: ablation, train=_train, report=None,
                      shards=lambda run, config: replace(run.settings.spec, inputs=config.inputs))
    with atomic_output_dir(out, overwrite=overwrite) as tmp:  # one fold: the held-out subjects
        ChapterRun(chapter, ablation, configs, check=False, tmp=tmp, out=Path(out), data=cohort, cohort_dir=None,
                   simulated=False, step=lambda _: None, progress=progress,
                   plan=[{"fold": 1, "train": train_ids, "test": test_ids}]).train_all()
        return _write_tables(tmp, pd.DataFrame(ablation.rows), target, len(sessions))


def _write_tables(folder: Path, per_subject: pd.DataFrame, target: str, n: int) -> pd.DataFrame:
    """``ablation.csv`` (one row per model, variant and held-out session), ``ablation_summary.csv``
    (mean and SD over the sessions) and ``ablation.md``; the summary."""
    from msgan.evaluation.cells import fmt, markdown_table

    summary = (per_subject.groupby(["model", "variant", "inputs"], sort=False)["mse_brain"]
               .agg(mse_mean="mean", mse_sd="std").reset_index())
    per_subject.to_csv(folder / "ablation.csv", index=False)
    summary.to_csv(folder / "ablation_summary.csv", index=False)
    rows = [[r.model, r.variant, r.inputs, f"{fmt(r.mse_mean)} ({fmt(r.mse_sd)})"] for r in summary.itertuples()]
    (folder / "ablation.md").write_text(
        f"# Input ablation ({target}; MSE inside the brain, mean (SD) over {n} held-out sessions)\n\n"
        + markdown_table(["model", "variant", "inputs", "MSE"], rows) + "\n")
    return summary
