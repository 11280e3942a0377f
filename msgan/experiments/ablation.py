"""``msgan ablate``: what each input sequence is worth (Tables 2.4a-c, 3.3).

Every variant (all inputs, each input removed in turn, and named combinations such as
``T1+DIR``) is trained on the same training subjects and scored on the same held-out
subjects by the MSE inside the brain, in the target's units. Deep models train through
:func:`msgan.training.run.train`; the classic baselines (``random_forest``,
``modality_propagation``) are fitted on the same normalised voxels
(:func:`msgan.classic.cohort.classic_predictions`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pandas as pd

from data_tools.contracts import ABLATION_LAYOUTS, SINGLE_SESSION_TASK_NAMES, ShardSpec, look_up_option
from data_tools.errors import ConfigError
from data_tools.io.atomic import atomic_output_dir
from data_tools.io.cohort import Cohort, parse_names
from data_tools.io.masks import brain_mask
from data_tools.io.nifti import save_like
from msgan.classic.cohort import CLASSIC_MODELS, classic_predictions

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


def _deep_predictions(model: str, shards: Path, run: Path, test_ids, test_sessions, train_kwargs: dict,
                      tile: int):
    from msgan.inference.predict import predict_session, predictor_from_run
    from msgan.training.presets import TrainOptions
    from msgan.training.run import train

    train(TrainOptions(model, str(shards), str(run), exclude_subjects=list(test_ids), **train_kwargs))
    predictor, _ = predictor_from_run(run, tile=tile)
    return [predict_session(predictor, ses)[0] for ses in test_sessions]


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
    from data_tools.shards.dataset import build_shards
    from msgan.evaluation.image_quality import image_quality

    look_up_option(task, SINGLE_SESSION_TASK_NAMES, "ablation task (one session)")
    look_up_option(layout, ABLATION_LAYOUTS, "ablation layout")
    test_ids = [s.removeprefix("sub-") for s in test_subjects]
    cohort.select(test_ids)  # unknown ids are an error
    train_ids = [s for s in cohort.ids() if s not in test_ids]
    if not test_ids or not train_ids:
        raise ConfigError("ablation needs held-out subjects (--test-subjects) and subjects to train on")
    test_sessions = [s for s in cohort.select(test_ids).sessions(session) if s.has(target)]
    if not test_sessions:
        raise ConfigError(f"no held-out session {session} has the target {target}")
    variants = ablation_variants(inputs, combos, drop_each)
    train_kwargs = {"progress": progress, "early_stopping": False, "seed": seed, **(train_kwargs or {})}
    rows = []
    with atomic_output_dir(out, overwrite=overwrite) as tmp:
        for label, names in variants:
            shards = tmp / "shards" / label
            build_shards(cohort, ShardSpec(task, inputs=names, target=target, layout=layout, patch=patch,
                                           session=session, subjects=train_ids + test_ids), shards, progress=progress)
            for model in models:
                if model in CLASSIC_MODELS:
                    preds = classic_predictions(model, shards, cohort, train_ids, test_sessions, names, target, seed)
                else:
                    preds = _deep_predictions(model, shards, tmp / "runs" / model / label, test_ids,
                                              test_sessions, train_kwargs, tile)
                for ses, pred in zip(test_sessions, preds):
                    truth_volume = ses.load(target)
                    truth = truth_volume.data
                    save_like(pred, truth_volume, tmp / "predictions" / model / label / ses.subject / ses.name
                              / f"{target}_pred.nii.gz")
                    brain = brain_mask(ses, names)
                    rows.append({"model": model, "variant": label, "inputs": "+".join(names),
                                 "subject": ses.subject, "session": ses.name,
                                 "mse_brain": image_quality(truth, pred, brain)["mse_brain"]})
        per_subject = pd.DataFrame(rows)
        summary = (per_subject.groupby(["model", "variant", "inputs"], sort=False)["mse_brain"]
                   .agg(mse_mean="mean", mse_sd="std").reset_index())
        per_subject.to_csv(tmp / "ablation.csv", index=False)
        summary.to_csv(tmp / "ablation_summary.csv", index=False)
        (tmp / "ablation.md").write_text(_markdown(summary, target, len(test_sessions)))
    return summary


def _markdown(summary: pd.DataFrame, target: str, n: int) -> str:
    from msgan.evaluation.cells import fmt, markdown_table

    rows = [[r.model, r.variant, r.inputs, f"{fmt(r.mse_mean)} ({fmt(r.mse_sd)})"] for r in summary.itertuples()]
    return (f"# Input ablation ({target}; MSE inside the brain, mean (SD) over {n} held-out sessions)\n\n"
            + markdown_table(["model", "variant", "inputs", "MSE"], rows) + "\n")
