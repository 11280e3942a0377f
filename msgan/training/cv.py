"""Subject-level cross-validation (issue 5, item 7; sec. 2.2.3, 3.3.1, 4.3.1).

Folds never share a subject and spread the healthy controls evenly (ch. 2: 5 folds with
one control each; ch. 3: 3 folds with 3, 3 and 4 controls). By default the model of a
fold early-stops / selects on a validation subset of its *training* folds (ch. 4: "a
training set with 2/3 subjects (including 3 subjects for validation)") and the held-out
fold is only tested. ``early_stop_on_test=True`` reproduces chapter 2 instead, which used
the held-out fold itself as the validation set (sec. 2.2.3): its test errors are then
optimistic, and results.csv says so in a column.
"""
from __future__ import annotations

import csv
import dataclasses
import logging
from pathlib import Path

import numpy as np

from data_tools.contracts import FoldPlan
from data_tools.io.atomic import atomic_output_file
from msgan.errors import ConfigError, OutputExistsError
from msgan.training import zoo
from msgan.training.presets import TrainOptions, default_val_per_fold
from msgan.training.traced_folds import TracedFolds

log = logging.getLogger(__name__)


def is_control(group) -> bool:
    return str(group or "").strip().upper() in {"HC", "CONTROL", "HEALTHY"}


def make_folds(groups: dict[str, str | None], k: int, seed: int = 0) -> list[list[str]]:
    """Split subject ids into ``k`` disjoint folds, controls dealt round-robin first.

    Patients then go one by one to the currently smallest fold, so fold sizes differ by at
    most one and so do their numbers of controls. Order within each group is shuffled by
    ``seed``.
    """
    ids = sorted(groups)
    if k < 2 or k > len(ids):
        raise ConfigError(f"--folds {k}: need 2 <= folds <= number of subjects ({len(ids)})")
    rng = np.random.default_rng(seed)
    controls = [s for s in ids if is_control(groups[s])]
    patients = [s for s in ids if not is_control(groups[s])]
    rng.shuffle(controls)
    rng.shuffle(patients)
    folds: list[list[str]] = [[] for _ in range(k)]
    for i, subject in enumerate(controls):
        folds[i % k].append(subject)
    for subject in patients:
        min(folds, key=len).append(subject)
    return [sorted(f) for f in folds]


def validation_subset(train_ids: list[str], groups: dict, n: int, seed: int = 0) -> list[str]:
    """``n`` validation subjects from the training folds (ch. 4 used 3), a control among them
    when there is one and n > 1; the rest train."""
    if n <= 0:
        return []
    if n >= len(train_ids):
        raise ConfigError(f"--val-per-fold {n} leaves no training subject ({len(train_ids)} available)")
    rng = np.random.default_rng(seed)
    controls = [s for s in sorted(train_ids) if is_control(groups.get(s))]
    patients = [s for s in sorted(train_ids) if not is_control(groups.get(s))]
    rng.shuffle(controls)
    rng.shuffle(patients)
    chosen = controls[:1] if (controls and n > 1) else []
    rest = [s for s in patients + controls if s not in chosen]
    return sorted(chosen + rest[: n - len(chosen)])


def plan_folds(groups: dict, k: int, val_per_fold: int = 3, early_stop_on_test: bool = False,
               seed: int = 0) -> list[dict]:
    """Per fold: ``{"fold", "test", "val", "train"}`` subject lists."""
    plan = []
    for number, test in enumerate(make_folds(groups, k, seed), start=1):
        rest = [s for s in sorted(groups) if s not in test]
        val = list(test) if early_stop_on_test else validation_subset(rest, groups, val_per_fold, seed + number)
        train = [s for s in rest if s not in val]
        plan.append({"fold": number, "test": test, "val": val, "train": train})
    return plan


def test_mse(strategy, model, dataset, traced: TracedFolds | None = None) -> float:
    """Mean squared error over every voxel of ``dataset`` (the held-out fold); ``traced``
    keeps the traced evaluator for the next fold (the same model object)."""
    from msgan.training.loop import validation_mse
    from msgan.training.steps import make_evaluator

    class Whole:
        def predict(self, batch, training=False):
            return model(batch["inputs"], training=training)

    def make():
        return make_evaluator(strategy, Whole())

    evaluator = traced.evaluator("test", make) if traced is not None else make()
    return validation_mse(strategy, evaluator, lambda epoch: dataset)[0]


def cross_validate(options: TrainOptions, folds: int, val_per_fold: int | None = None,
                   early_stop_on_test: bool = False, participants: str | Path | None = None,
                   reuse_traces: bool = True) -> list[dict]:
    """``msgan cv``: train one run per fold under ``options.run`` and test it on its fold.

    Writes ``folds.json`` (held-out, validation and training ids per fold), one run folder
    ``fold-<i>/`` per fold and ``results.csv`` (per-fold MSEs, then their mean and SD).
    Groups (for spreading the controls) come from the shard index (``make-tfrecords``
    copies them from the cohort's participants table) or, overriding it, ``participants``
    (a participants.tsv); without either every subject counts as a patient, and the log
    says so. ``val_per_fold`` None takes the model's chapter: none for ch. 3 models (sec.
    3.3.1: 2/3 of the subjects train, 1/3 test), 3 for ch. 2 and ch. 4 models.
    ``reuse_traces``: later folds reuse the first fold's traced steps, every variable reset to
    its initial value (:mod:`msgan.training.traced_folds`; the same weights as rebuilding).
    """
    from data_tools.shards.tfrecords import make_dataset
    from msgan.training.run import train_and_keep

    root = Path(options.run)
    index = zoo.read_shard_index(options.data)
    groups = {s: g for s, g in zoo.index_subjects(index).items() if s not in options.exclude_subjects}
    if participants is not None:
        table = zoo.read_groups(participants)
        missing = [s for s in groups if s not in table]
        if missing:
            raise ConfigError(f"subject(s) {', '.join(missing)} not in the participants table", participants)
        groups = {s: table[s] for s in groups}
    elif not any(groups.values()):
        log.warning("no participants table: controls cannot be spread evenly across folds")
    if val_per_fold is None:
        val_per_fold = default_val_per_fold(options.model)
    plan = plan_folds(groups, folds, val_per_fold, early_stop_on_test, options.seed)
    if root.exists() and any(root.iterdir()) and not (options.resume or options.overwrite):
        raise OutputExistsError("cross-validation folder exists; pass --resume or --overwrite", root)
    root.mkdir(parents=True, exist_ok=True)
    with atomic_output_file(root / FoldPlan.FILE, overwrite=True) as tmp:
        FoldPlan.from_dict({"early_stop_on_test": early_stop_on_test, "folds": plan}).to_json(tmp)
    rows = []
    traced = TracedFolds() if reuse_traces else None
    for fold in plan:
        log.info("fold %d: test %s, validation %s", fold["fold"], fold["test"], fold["val"])
        fold_options = dataclasses.replace(
            options, run=str(root / f"fold-{fold['fold']}"), train_subjects=fold["train"],
            val_subjects=fold["val"], exclude_subjects=[*options.exclude_subjects, *fold["test"]]
            if not early_stop_on_test else list(options.exclude_subjects),
            resume=options.resume and (root / f"fold-{fold['fold']}" / "config.json").exists())
        summary, model, strategy = train_and_keep(fold_options, traced)
        dataset = make_dataset(options.data, subjects=fold["test"], batch_size=fold_options.batch or 1,
                               shuffle=False, deterministic=True, verify=False)
        rows.append({"fold": fold["fold"], "test_subjects": " ".join(fold["test"]),
                     "val_subjects": " ".join(fold["val"]),
                     "best_val_mse": _finite_or_none(summary["stages"][-1]["best_val_mse"]),
                     "test_mse": test_mse(strategy, model, dataset, traced),
                     "test_used_for_early_stopping": early_stop_on_test})
    write_results(rows, root / "results.csv")
    return rows


def _finite_or_none(value):
    """A fold without validation subjects (ch. 3) has no validation MSE: None, not inf."""
    return float(value) if value is not None and np.isfinite(value) else None


def write_results(rows: list[dict], path: Path) -> None:
    """Per-fold rows, then ``mean`` and ``sd`` rows of the numeric columns (as Tables 2.2, 2.4);
    a column without values (no validation subjects) stays empty."""
    numeric = ["best_val_mse", "test_mse"]
    summary = []
    for name, fn in (("mean", np.mean), ("sd", lambda v: np.std(v, ddof=1) if len(v) > 1 else 0.0)):
        row = {"fold": name}
        for key in numeric:
            values = [float(r[key]) for r in rows if r.get(key) is not None]
            row[key] = float(fn(values)) if values else None
        summary.append(row)
    with atomic_output_file(path, overwrite=True) as tmp, tmp.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), restval="")
        writer.writeheader()
        writer.writerows(rows + summary)
