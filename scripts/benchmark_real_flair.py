"""FLAIR on real patients (issues 19, 26): held-out patients, deep models against classic ones.

    python scripts/benchmark_real_flair.py [--manifest CSV | --root DIR] [--inputs T1,T2]
        [--split patient|database] [--out DIR] [--models a,b,...] [--variants FILE.json]
        [--folds patientNN,...] [--readme docs/real-flair.md [--block NAME]]

Data: ``--manifest`` (subject,session,name,path rows, e.g. the ``manifest.csv`` of
scripts/prepare_raw_sessions.py: patients 03, 04, 07, 19 on the MNI152 grid at one scale),
else the two MNI patients of examples/open_ms_data.csv under ``--root``. The patients are
the manifest's subjects with a session holding every input and the FLAIR; each is tested
on its first such session and trains with all of them. ``--inputs`` default T1,T1POST,T2.

Splits: ``--split patient`` (default), leave-one-patient-out: each fold trains on every
other patient and tests on one; ``--split database``: trains on one database's patients
and tests on the other's, both ways (:data:`DATABASES`: 07/19 cross-sectional MNI, 03/04
longitudinal raw). ``--folds`` runs the folds testing any of those patients.

Every model sees per-subject z-scored inputs (brain mean/SD), is fitted on the training
patients' per-subject z-scored FLAIR, and its prediction is written back with the training
FLAIRs' pooled brain mean and SD (``--normalize subject-all``, data_tools/shards/normalize.py).
Measures, inside the test patient's brain (msgan.evaluation): Pearson r, the SSIM after
matching the prediction's brain mean/SD to the truth's (scale-free), the lesion/NAWM
contrast (eq. 2.4, ratio 1) of the moment-matched prediction over the truth's (n/a
without an expert lesion mask: patients 03, 04), and the false-positive lesion volume
(``msgan.evaluation.lesion_contrast.false_positive_lesion_volume``). The table has a row
per model and test patient and a mean row per model (contrast: over the patients that
have one); seconds are fit + predict of that row (the fit of a fold, or of a shared run,
is counted in each of its rows).

Models: ``linear`` (voxel-wise linear regression), ``random_forest`` (60 trees on 3x3x3
patches, thesis sec. 2.2.3), ``gradient_boosting`` (msgan.classic), and the deep variants
of ``--variants`` (default: unet_small with the ``real-flair`` preset), each
``{"model": NAME, "preset": "real-flair", "shards": {ShardSpec fields}, "train":
{TrainOptions fields, e.g. "loss": "mse+grad", "epochs": 15}, "init_weights": RUN,
"train_shards": SHARDS}``: ``init_weights`` starts each fold's training from a finished
run (``msgan train --init-weights``: pretrained, then fine-tuned on the fold's patients);
``train_shards`` trains once on those shards instead of the real patients (simulation
only) and that run predicts every fold (``OUT/runs/NAME/shared/run``; another variant
listed after it starts from it with ``"init_weights": "variant:NAME"``).
scripts/issue26_variants.json holds issue 26's training schemes.

``--readme`` rewrites the block of that markdown file between the ``--block`` markers.
Rows already in ``OUT/results.jsonl`` (same model, inputs, test and training patients) are
kept, not recomputed: rerun the same command to continue an interrupted benchmark.
"""
from __future__ import annotations

import argparse
import json
import math
import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
from prepare_raw_sessions import MNI_PATIENTS, RAW  # noqa: E402

DEFAULT_INPUTS, TARGET = ("T1", "T1POST", "T2"), "FLAIR"
CLASSIC = ("linear", "random_forest", "gradient_boosting")
#: the two databases of the shared data (issue 26: whether a person is in both is unknown)
DATABASES = {"cross_sectional": tuple(MNI_PATIENTS), "longitudinal": tuple(RAW)}
#: deep variants: name -> model and the named preset (msgan.training.presets.RECIPES)
DEFAULT_VARIANTS = {"unet_small (real-flair)": {"model": "unet_small", "preset": "real-flair"}}
VARIANT_KEYS = {"model", "preset", "shards", "train", "init_weights", "train_shards"}


class BenchError(Exception):
    """Bad input: one line naming the file and the problem (exit 2, nothing written)."""


@dataclass
class Bench:
    """The cohort, the inputs, each patient's sessions, and the patients loaded so far."""

    cohort: object
    inputs: tuple
    sessions: dict  # patient -> its sessions holding every input and the target, manifest order
    loaded: dict = field(default_factory=dict)

    def patient(self, pid: str, index: int = 0) -> dict:
        key = (pid, index)
        if key not in self.loaded:
            self.loaded[key] = load_patient(self.sessions[pid][index], self.inputs)
        return self.loaded[key]

    def training(self, ids) -> list[dict]:
        """Every session of the patients ``ids``, loaded."""
        return [self.patient(pid, i) for pid in ids for i in range(len(self.sessions[pid]))]


def patient_sessions(cohort, inputs) -> dict:
    """patient -> its sessions that hold every input and the target."""
    wanted = [*inputs, TARGET]
    found = {sid: [s for s in subject.sessions.values() if all(s.has(n) for n in wanted)]
             for sid, subject in cohort.subjects.items()}
    return {sid: sessions for sid, sessions in found.items() if sessions}


def make_folds(patients, split: str) -> list[tuple[list, list]]:
    """``(training patients, test patients)`` per fold of ``split``."""
    if split == "patient":
        return [([p for p in patients if p != test], [test]) for test in patients]
    groups = {name: [p for p in patients if p in ids] for name, ids in DATABASES.items()}
    stray = [p for p in patients if not any(p in ids for ids in groups.values())]
    if stray or not all(groups.values()):
        raise BenchError(f"--split database needs patients of both databases {DATABASES} and no other "
                         f"(found {', '.join(patients)})")
    first, second = groups.values()
    return [(first, second), (second, first)]


def load_patient(session, inputs=DEFAULT_INPUTS):
    """Raw inputs (D,H,W,C), raw FLAIR, brain, lesion and white-matter masks, voxel volume (mL)."""
    from data_tools.io.masks import brain_mask, lesion_mask, white_matter_mask

    inputs = list(inputs)
    x, reference = session.stack(inputs)
    brain = brain_mask(session, inputs)
    lesions = lesion_mask(session, reference.shape).astype(bool) & brain
    wm = white_matter_mask(session, brain, lesions) & brain
    return {"x": x, "y": session.load(TARGET).data, "brain": brain, "lesions": lesions, "wm": wm,
            "voxel_ml": float(np.prod(reference.zooms)) / 1000}


def per_subject(patient):
    """Inputs and FLAIR z-scored by their own brain statistics (``Normalizer.per_image``,
    the one per-image rule); FLAIR's (mean, SD)."""
    from data_tools.shards.normalize import Normalizer, image_stats

    brain, per_image = patient["brain"], Normalizer.per_image()
    x = per_image.apply_channels([str(c) for c in range(patient["x"].shape[-1])], patient["x"], brain)
    mean, std = image_stats(patient["y"], brain)
    return x, per_image.apply("FLAIR", patient["y"], brain), (mean, std)


def classic_model(name, seed=0):
    from sklearn.linear_model import LinearRegression

    from msgan.classic import GradientBoostingSynthesis, RandomForestSynthesis
    from msgan.classic.patches import PatchRegressor

    if name == "linear":
        class VoxelLinear(PatchRegressor):  # the voxel's own input values, a straight line
            per_example = True

            def __init__(self):
                super().__init__(200_000, 500_000, seed)
                self.estimator = LinearRegression()

            def features(self, prepared, voxels):
                return prepared[tuple(np.asarray(voxels).T)]
        return VoxelLinear()
    if name == "random_forest":
        return RandomForestSynthesis(n_jobs=2, seed=seed)
    return GradientBoostingSynthesis(seed=seed)


def fit_classic(name, bench: Bench, train_ids):
    """Fit on every training session; returns ``predict(test patient id) -> FLAIR``, written
    back with the training FLAIRs' pooled brain mean and SD (as ``subject-all`` inverts)."""
    from data_tools.shards.normalize import image_stats

    train = bench.training(train_ids)
    shapes = {p["x"].shape for p in train}
    if len(shapes) > 1:
        raise BenchError(f"training sessions of {', '.join(train_ids)} are on different grids {shapes}: "
                         "bring them onto one (scripts/prepare_raw_sessions.py)")
    prepared = [per_subject(p) for p in train]
    model = classic_model(name).fit(np.stack([x for x, _, _ in prepared]),
                                    np.stack([y for _, y, _ in prepared])[..., None],
                                    mask=np.stack([p["brain"] for p in train]))
    mean, std = image_stats(np.stack([p["y"] for p in train]), np.stack([p["brain"] for p in train]))

    def predict(test_id):
        test = bench.patient(test_id)
        z = model.predict(per_subject(test)[0][None], mask=test["brain"][None])[0, ..., 0]
        return (z * std + mean) * test["brain"]
    return predict


def shared_run(out: Path, name: str) -> Path:
    """Where a ``train_shards`` variant's one run lives."""
    return out / "runs" / slug(name) / "shared" / "run"


def train_run(variant, run: Path, shards: Path, seed=0) -> None:
    from msgan.training.presets import TrainOptions
    from msgan.training.run import train

    settings = {**variant.get("train", {})}
    if variant.get("init_weights"):
        settings["init_weights"] = variant["init_weights"]
    train(TrainOptions(variant["model"], str(shards), str(run), preset=variant.get("preset", "real-flair"),
                       seed=seed, overwrite=True, progress=False, **settings))


def fit_deep(variant, bench: Bench, train_ids, work: Path, shared: Path, seed=0):
    """One training run on the fold's patients (shards with the recipe, in ``work``), or the
    variant's one run on ``train_shards`` (in ``shared``, trained on first need); returns
    ``(predict(test patient id) -> FLAIR, seconds of the training)``."""
    from data_tools.contracts import ShardSpec
    from data_tools.shards.dataset import build_shards
    from msgan.inference.predict import predict_session, predictor_from_run
    from msgan.training.presets import RECIPES

    start = time.perf_counter()
    if variant.get("train_shards"):
        run, done = shared, shared.parent / "seconds.json"
        if not done.exists():
            train_run(variant, run, Path(variant["train_shards"]), seed)
            done.write_text(json.dumps({"seconds": time.perf_counter() - start}))
        seconds = json.loads(done.read_text())["seconds"]
    else:
        run, shards = work / "run", work / "shards"
        recipe = RECIPES[variant.get("preset", "real-flair")]
        spec = ShardSpec("flair", inputs=list(bench.inputs), target=TARGET)
        build_shards(bench.cohort.select(train_ids), spec.merged(recipe["shards"], variant.get("shards", {})),
                     shards, overwrite=True, progress=False)
        train_run(variant, run, shards, seed)
        shutil.rmtree(shards)  # the run keeps what predicting needs
        seconds = time.perf_counter() - start
    predictor, _ = predictor_from_run(run, tile=128)
    return (lambda test_id: predict_session(predictor, bench.sessions[test_id][0])[0]), seconds


def measures(truth, pred, patient):
    from msgan.evaluation.image_quality import brain_correlation, match_brain_moments, scale_free_ssim
    from msgan.evaluation.lesion_contrast import contrast_ratios, false_positive_lesion_volume

    brain = patient["brain"]
    matched = match_brain_moments(pred, truth, brain)
    ratio = contrast_ratios(matched, patient["lesions"], patient["wm"])["ratio1"]
    true_ratio = contrast_ratios(truth, patient["lesions"], patient["wm"])["ratio1"]
    return {"r": brain_correlation(truth, pred, brain), "ssim_scale_free": scale_free_ssim(truth, pred, brain),
            "contrast_vs_truth": ratio / true_ratio,
            "false_positive_ml": false_positive_lesion_volume(matched, truth, patient["wm"], patient["lesions"],
                                                              patient.get("voxel_ml", 0.001))}


COLUMNS = ("r", "ssim_scale_free", "contrast_vs_truth", "false_positive_ml", "seconds")


def mean_row(rows) -> dict:
    """The mean of each measure over ``rows``, leaving out the undefined (NaN) ones."""
    mean = {}
    for key in COLUMNS:
        values = [r[key] for r in rows if not math.isnan(r[key])]
        mean[key] = float(np.mean(values)) if values else float("nan")
    return mean


def markdown(rows, inputs, split) -> str:
    def short(ids):
        return ", ".join(p.removeprefix("patient") for p in ids)

    def cells(r):
        contrast = "n/a" if math.isnan(r["contrast_vs_truth"]) else f"{r['contrast_vs_truth']:.2f}x"
        return (f"{r['r']:.3f} | {r['ssim_scale_free']:.3f} | {contrast} | {r['false_positive_ml']:.1f} "
                f"| {r['seconds']:.0f} |")

    how = "leave-one-patient-out" if split == "patient" else "trained on one database, tested on the other"
    lines = [f"{', '.join(inputs)} -> FLAIR, {how}:", "",
             "| model | tested on | trained on | r (brain) | scale-free SSIM (brain) | lesion/NAWM contrast vs "
             "truth's | false-positive lesions (mL) | fit + predict (s) |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for model in dict.fromkeys(r["model"] for r in rows):
        part = [r for r in rows if r["model"] == model]
        lines += [f"| {model} | {short([r['test']])} | {r.get('trained_on') or short(r['train'])}"
                  f"{' (fine-tuned)' if r.get('pretrained') else ''} | {cells(r)}" for r in part]
        lines.append(f"| {model} | **mean** | | {cells(mean_row(part))}")
    return "\n".join(lines) + "\n"


def readme_markers(readme: Path, block: str) -> tuple[str, str]:
    """The begin and end markers of ``block``, both present in ``readme``."""
    BEGIN, END = f"<!-- {block}:begin -->", f"<!-- {block}:end -->"
    if not readme.is_file():
        raise BenchError(f"{readme}: README not found")
    text = readme.read_text()
    if BEGIN not in text or END not in text:
        raise BenchError(f"{readme}: no {BEGIN} ... {END} block to fill")
    return BEGIN, END


def write_readme(readme: Path, table: str, block: str) -> None:
    BEGIN, END = readme_markers(readme, block)
    text = readme.read_text()
    block = f"{BEGIN}\n{table}\n{END}"
    readme.write_text(re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S))


def slug(text: str) -> str:
    return re.sub(r"\W+", "_", text)


def with_run_references(variant, out: Path):
    """``variant`` with an ``init_weights`` of ``variant:NAME`` replaced by NAME's shared run."""
    init = variant.get("init_weights") if isinstance(variant, dict) else None
    if isinstance(init, str) and init.startswith("variant:"):
        return {**variant, "init_weights": str(shared_run(out, init.removeprefix("variant:")))}
    return variant


def check_variants(variants: dict, names, out: Path, where: str, inputs=None) -> None:
    """Every variant named in ``names`` well formed, its preset known, its paths present (an
    ``init_weights`` may be the shared run of a ``train_shards`` variant listed before it),
    its ``train_shards`` of ``inputs``."""
    from msgan.training.presets import RECIPES

    planned = set()
    for name in names:
        if name in CLASSIC:
            continue
        if name not in variants:
            raise BenchError(f"{where}: no model or variant {name!r} (classic: {', '.join(CLASSIC)})")
        variant = variants[name]
        unknown = set(variant) - VARIANT_KEYS if isinstance(variant, dict) else {"(not an object)"}
        if unknown or "model" not in variant:
            raise BenchError(f"{where}: variant {name!r} needs 'model' and only {sorted(VARIANT_KEYS)} "
                             f"(unknown: {', '.join(sorted(unknown)) or 'none'})")
        if variant.get("preset", "real-flair") not in RECIPES:
            raise BenchError(f"{where}: variant {name!r}: no preset {variant['preset']!r} ({', '.join(RECIPES)})")
        if variant.get("train_shards"):
            index = Path(variant["train_shards"]) / "index.json"
            if not index.is_file():
                raise BenchError(f"{where}: variant {name!r}: train_shards {index.parent} holds no shards")
            if inputs is not None and json.loads(index.read_text()).get("inputs") != list(inputs):
                raise BenchError(f"{index}: inputs are not {', '.join(inputs)} (variant {name!r})")
            planned.add(shared_run(out, name).resolve())
        init = variant.get("init_weights")
        if init and not Path(init).is_dir() and Path(init).resolve() not in planned:
            raise BenchError(f"{where}: variant {name!r}: init_weights {init} is not a run folder")


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--manifest", help="subject,session,name,path CSV (default: examples/open_ms_data.csv)")
    parser.add_argument("--root", default=str(REPO.parent / "shared" / "data" / "open_ms_data"),
                        help="folder the default manifest's paths are relative to")
    parser.add_argument("--inputs", default=",".join(DEFAULT_INPUTS), help="input sequences, comma-separated")
    parser.add_argument("--split", choices=("patient", "database"), default="patient")
    parser.add_argument("--out", default="benchmark_real_flair")
    parser.add_argument("--models", help="comma-separated subset of the classic models and variant names")
    parser.add_argument("--variants", help="JSON file: {name: {model, preset, shards, train, init_weights, "
                                           "train_shards}}")
    parser.add_argument("--folds", help="run the folds testing these patients (comma-separated; default all)")
    parser.add_argument("--readme", help="README to rewrite between the benchmark markers")
    parser.add_argument("--block", default="benchmark_real_flair",
                        help="name of the README block (<!-- NAME:begin --> ... <!-- NAME:end -->)")
    return parser.parse_args(argv)


def plan(args):
    """``(bench, folds, model names, variants)`` from the arguments, every input checked."""
    from data_tools.errors import MsganError
    from data_tools.io.cohort import open_cohort

    try:
        variants = json.loads(Path(args.variants).read_text()) if args.variants else DEFAULT_VARIANTS
    except (OSError, json.JSONDecodeError) as exc:
        raise BenchError(f"{args.variants}: not a readable JSON file ({exc})") from None
    names = args.models.split(",") if args.models else [*CLASSIC, *variants]
    variants = {name: with_run_references(v, Path(args.out)) for name, v in variants.items()}
    inputs = tuple(n.strip() for n in args.inputs.split(",") if n.strip())
    check_variants(variants, names, Path(args.out), args.variants or "--models", inputs)
    try:
        cohort = (open_cohort(manifest=args.manifest) if args.manifest
                  else open_cohort(manifest=REPO / "examples" / "open_ms_data.csv", root=args.root))
    except MsganError as exc:
        raise BenchError(exc.message) from None
    sessions = patient_sessions(cohort, inputs)
    if len(sessions) < 2:
        raise BenchError(f"{cohort.source}: {len(sessions)} patient(s) with {', '.join(inputs)} and {TARGET}; "
                         "a held-out benchmark needs two or more")
    folds = make_folds(list(sessions), args.split)
    if args.folds:
        wanted = set(args.folds.split(","))
        if wanted - set(sessions):
            raise BenchError(f"--folds: no patient {', '.join(sorted(wanted - set(sessions)))} in {cohort.source}")
        folds = [fold for fold in folds if wanted & set(fold[1])]
    return Bench(cohort, inputs, sessions), folds, names, variants


def trained_on(variant: dict) -> dict:
    """What a deep variant learned from besides (or instead of) the fold's patients, for the table."""
    if variant.get("train_shards"):
        shards = Path(variant["train_shards"])
        return {"trained_on": f"simulation only ({shards.parent.name}/{shards.name})"}
    if variant.get("init_weights"):
        return {"pretrained": str(variant["init_weights"])}
    return {}


def run_fold(name, variants, bench: Bench, fold, out: Path, done: list) -> list[dict]:
    """The rows of model ``name`` for one fold: kept from ``done``, else fitted and measured."""
    train_ids, test_ids = fold
    key = {"model": name, "inputs": list(bench.inputs), "train": list(train_ids)}
    kept = {r["test"]: r for r in done if all(r.get(k) == v for k, v in key.items())}
    if all(t in kept for t in test_ids):
        return [kept[t] for t in test_ids]
    [bench.patient(t) for t in test_ids]  # read before the clock starts (and the training
    if name in CLASSIC:  # patients, for a classic model; a deep one reads them as shards)
        bench.training(train_ids)
    start = time.perf_counter()
    if name in CLASSIC:
        predict = fit_classic(name, bench, train_ids)
        fit_seconds = time.perf_counter() - start
    else:
        folder = out / "runs" / slug(name) / ("test-" + "+".join(test_ids))
        predict, fit_seconds = fit_deep(variants[name], bench, train_ids, folder, shared_run(out, name))
    rows = []
    for test_id in test_ids:
        start = time.perf_counter()
        pred = predict(test_id)
        seconds = fit_seconds + time.perf_counter() - start
        patient = bench.patient(test_id)
        rows.append({**key, "test": test_id, **trained_on(variants.get(name, {})), "seconds": seconds,
                     **measures(patient["y"], pred, patient)})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def main(argv=None):
    args = parse_args(argv)
    try:
        bench, folds, names, variants = plan(args)
        if args.readme:
            readme_markers(Path(args.readme), args.block)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = out / "results.jsonl"
    done = [json.loads(line) for line in results.read_text().splitlines()] if results.exists() else []
    rows = []
    for fold in folds:
        for name in names:
            fold_rows = run_fold(name, variants, bench, fold, out, done)
            with results.open("a") as handle:
                handle.writelines(json.dumps(r) + "\n" for r in fold_rows if r not in done)
            rows += fold_rows
    rows.sort(key=lambda r: names.index(r["model"]))  # stable: each model's folds in order
    table = markdown(rows, bench.inputs, args.split)
    (out / "table.md").write_text(table)
    print(table)
    if args.readme:
        write_readme(Path(args.readme), table, args.block)


if __name__ == "__main__":
    main()
