"""FLAIR on real patients (issue 19): leave-one-patient-out, deep models against classic ones.

    python scripts/benchmark_real_flair.py [--root DIR] [--out DIR] [--models a,b,...]
        [--variants FILE.json] [--readme docs/real-flair.md]

On the two patients of ../shared/data/open_ms_data (T1, T1POST, T2 -> FLAIR), each fold
trains on one patient and predicts the other. Every model sees the same per-subject
z-scored inputs (brain mean/SD), is fitted on the training patient's per-subject z-scored
FLAIR, and its prediction is written back with the training FLAIR's brain mean and SD:
the rule of ``--normalize subject-all`` (data_tools/shards/normalize.py). The measures do not
depend on that choice: inside the test patient's brain, the Pearson correlation r, the
SSIM after matching the prediction's brain mean/SD to the truth's (scale-free), and the
lesion/NAWM contrast (eq. 2.4, ratio 1) of the moment-matched prediction over the truth's.

Models: ``linear`` (voxel-wise linear regression, scikit-learn), ``random_forest`` (60
trees on 3x3x3 patches, thesis sec. 2.2.3), ``gradient_boosting`` (msgan.classic), and the
deep variants of ``--variants`` (default: unet_small with the ``real-flair`` preset;
scripts/real_flair_recipe_search.json holds the variants the preset was chosen from).
``--readme`` rewrites the block of that markdown file (docs/real-flair.md) between the ``--block`` markers
(``<!-- benchmark_real_flair:begin -->`` by default).
Rows already in ``OUT/results.jsonl`` (model and test patient) are kept, not recomputed:
rerun the same command to continue an interrupted benchmark (delete the file to start over).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
INPUTS, TARGET = ["T1", "T1POST", "T2"], "FLAIR"
PATIENTS = ("patient07", "patient19")
CLASSIC = ("linear", "random_forest", "gradient_boosting")
#: deep variants: name -> model and the named preset (msgan.training.presets.RECIPES)
DEFAULT_VARIANTS = {"unet_small (real-flair)": {"model": "unet_small", "preset": "real-flair"}}


def load_patient(session):
    """Raw inputs (D,H,W,C), raw FLAIR, brain, lesion and white-matter masks."""
    from data_tools.io.masks import brain_mask, lesion_mask, white_matter_mask

    x, reference = session.stack(INPUTS)
    brain = brain_mask(session, INPUTS)
    lesions = lesion_mask(session, reference.shape) & brain
    wm = white_matter_mask(session, brain, lesions) & brain
    return {"x": x, "y": session.load(TARGET).data, "brain": brain, "lesions": lesions, "wm": wm}


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


def fit_classic(name, train, test):
    x, y, (mean, std) = per_subject(train)
    model = classic_model(name).fit(x[None], y[None, ..., None], mask=train["brain"][None])
    x_test, _, _ = per_subject(test)
    z = model.predict(x_test[None], mask=test["brain"][None])[0, ..., 0]
    return (z * std + mean) * test["brain"]


def fit_deep(variant, cohort, train_id, test_session, work: Path, seed=0):
    """Shards of the training patient with the recipe, one training run, the prediction."""
    from data_tools.contracts import ShardSpec
    from data_tools.shards.dataset import build_shards
    from msgan.inference.predict import predict_session, predictor_from_run
    from msgan.training.presets import RECIPES, TrainOptions
    from msgan.training.run import train

    recipe = RECIPES[variant["preset"]]
    shards = work / "shards"
    spec = ShardSpec("flair", inputs=INPUTS, target=TARGET, subjects=[train_id], session="t0")
    build_shards(cohort, spec.merged(recipe["shards"], variant.get("shards", {})), shards, overwrite=True,
                 progress=False)
    options = TrainOptions(variant["model"], str(shards), str(work / "run"), preset=variant["preset"],
                           seed=seed, overwrite=True, progress=False, **variant.get("train", {}))
    train(options)
    predictor, _ = predictor_from_run(work / "run", tile=128)
    return predict_session(predictor, test_session)[0]


def measures(truth, pred, patient):
    from msgan.evaluation.image_quality import brain_correlation, match_brain_moments, scale_free_ssim
    from msgan.evaluation.lesion_contrast import contrast_ratios

    brain = patient["brain"]
    matched = match_brain_moments(pred, truth, brain)
    ratio = contrast_ratios(matched, patient["lesions"], patient["wm"])["ratio1"]
    true_ratio = contrast_ratios(truth, patient["lesions"], patient["wm"])["ratio1"]
    return {"r": brain_correlation(truth, pred, brain), "ssim_scale_free": scale_free_ssim(truth, pred, brain),
            "contrast_vs_truth": ratio / true_ratio}


def markdown(rows) -> str:
    lines = []
    for test_id in dict.fromkeys(r["test"] for r in rows):
        part = [r for r in rows if r["test"] == test_id]
        lines += [f"Trained on {part[0]['train']}, tested on {test_id}:", "",
                  "| model | r (brain) | scale-free SSIM (brain) | lesion/NAWM contrast vs truth's | fit + predict (s) |",
                  "| --- | ---: | ---: | ---: | ---: |"]
        lines += [f"| {r['model']} | {r['r']:.3f} | {r['ssim_scale_free']:.3f} | {r['contrast_vs_truth']:.2f}x "
                  f"| {r['seconds']:.0f} |" for r in part]
        lines.append("")
    return "\n".join(lines)


def write_readme(readme: Path, table: str, block: str) -> None:
    BEGIN, END = f"<!-- {block}:begin -->", f"<!-- {block}:end -->"
    text = readme.read_text()
    if BEGIN not in text or END not in text:
        sys.exit(f"error: {readme}: no {BEGIN} ... {END} block to fill")
    block = f"{BEGIN}\n{table}\n{END}"
    readme.write_text(re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=str(REPO.parent / "shared" / "data" / "open_ms_data"))
    parser.add_argument("--out", default="benchmark_real_flair")
    parser.add_argument("--models", help="comma-separated subset of the classic models and variant names")
    parser.add_argument("--variants", help="JSON file: {name: {model, preset, shards?, train?}}")
    parser.add_argument("--folds", default=",".join(PATIENTS), help="test patients, comma-separated")
    parser.add_argument("--readme", help="README to rewrite between the benchmark markers")
    parser.add_argument("--block", default="benchmark_real_flair",
                        help="name of the README block (<!-- NAME:begin --> ... <!-- NAME:end -->)")
    args = parser.parse_args(argv)

    from data_tools.io.cohort import open_cohort

    variants = json.loads(Path(args.variants).read_text()) if args.variants else DEFAULT_VARIANTS
    names = args.models.split(",") if args.models else [*CLASSIC, *variants]
    cohort = open_cohort(manifest=REPO / "examples" / "open_ms_data.csv", root=args.root)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = out / "results.jsonl"
    done = [json.loads(line) for line in results.read_text().splitlines()] if results.exists() else []
    patients = {}  # loaded on first need: kept rows need no image

    def patient(pid):
        if pid not in patients:
            patients[pid] = load_patient(cohort.select([pid]).sessions("t0")[0])
        return patients[pid]

    rows = []
    for test_id in args.folds.split(","):
        train_id = next(p for p in PATIENTS if p != test_id)
        test_session = cohort.select([test_id]).sessions("t0")[0]
        for name in names:
            kept = [r for r in done if r["model"] == name and r["test"] == test_id]
            if kept:
                rows.append(kept[-1])
                continue
            start = time.perf_counter()
            if name in CLASSIC:
                pred = fit_classic(name, patient(train_id), patient(test_id))
            else:
                pred = fit_deep(variants[name], cohort, train_id, test_session,
                                out / "runs" / re.sub(r"\W+", "_", name) / test_id)
            row = {"model": name, "train": train_id, "test": test_id,
                   "seconds": time.perf_counter() - start,
                   **measures(patient(test_id)["y"], pred, patient(test_id))}
            rows.append(row)
            print(json.dumps(row), flush=True)
            with results.open("a") as handle:
                handle.write(json.dumps(row) + "\n")
    table = markdown(rows)
    (out / "table.md").write_text(table + "\n")
    print(table)
    if args.readme:
        write_readme(Path(args.readme), table, args.block)


if __name__ == "__main__":
    main()
