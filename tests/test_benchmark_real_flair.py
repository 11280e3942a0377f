"""scripts/benchmark_real_flair.py on a tiny four-patient manifest: leave-one-patient-out and
cross-database folds, resume from results.jsonl, the mean row, bad variants refused, and
(slow) the deep training schemes of issue 26."""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import make_tiny_session

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import benchmark_real_flair as bench  # noqa: E402

#: the two databases' patients; 03 and 04 have no expert lesion mask, as in the shared data
PATIENTS = {"patient07": 0, "patient19": 1, "patient03": 2, "patient04": 3}


@pytest.fixture
def manifest(tmp_path) -> Path:
    rows = ["subject,session,name,path"]
    for pid, seed in PATIENTS.items():
        session = "t0" if pid in ("patient07", "patient19") else "study1"
        files = make_tiny_session(tmp_path / pid, seed=seed, lesions=pid in ("patient07", "patient19"))
        if pid in ("patient03", "patient04"):
            files.pop("lesions")
        rows += [f"{pid},{session},{name},{path}" for name, path in files.items()]
    path = tmp_path / "manifest.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def results(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


def test_leave_one_patient_out_trains_on_the_three_others_and_resumes(manifest, tmp_path, capsys):
    out = tmp_path / "bench"
    argv = ["--manifest", str(manifest), "--inputs", "T1,T2", "--models", "linear", "--out", str(out)]
    bench.main(argv)
    rows = results(out)
    assert [r["test"] for r in rows] == list(PATIENTS)
    for r in rows:
        assert sorted(r["train"]) == sorted(p for p in PATIENTS if p != r["test"])
        assert r["inputs"] == ["T1", "T2"] and 0 < r["r"] <= 1
        assert r["false_positive_ml"] >= 0
    contrast = {r["test"]: r["contrast_vs_truth"] for r in rows}
    assert math.isnan(contrast["patient03"]) and math.isnan(contrast["patient04"])
    assert not math.isnan(contrast["patient07"]) and not math.isnan(contrast["patient19"])
    table = (out / "table.md").read_text()
    mean_line = next(line for line in table.splitlines() if "**mean**" in line)
    cells = [c.strip() for c in mean_line.split("|")]
    assert float(cells[4]) == pytest.approx(np.mean([r["r"] for r in rows]), abs=5e-4)
    assert cells[6] == f"{np.mean([contrast['patient07'], contrast['patient19']]):.2f}x"  # NaNs left out
    assert table.count("| n/a |") == 2
    capsys.readouterr()
    bench.main(argv)  # everything kept: nothing refitted, nothing appended
    assert len(results(out)) == 4 and "{" not in capsys.readouterr().out


def test_database_split_trains_on_one_database_and_tests_the_other(manifest, tmp_path):
    out = tmp_path / "bench"
    bench.main(["--manifest", str(manifest), "--inputs", "T1,T2", "--models", "linear", "--split", "database",
                "--folds", "patient03", "--out", str(out)])
    rows = results(out)
    assert {r["test"]: sorted(r["train"]) for r in rows} == {"patient03": ["patient07", "patient19"],
                                                           "patient04": ["patient07", "patient19"]}


def test_folds_of_each_split():
    patients = ["patient07", "patient19", "patient03", "patient04"]
    assert bench.make_folds(patients, "patient")[2] == (["patient07", "patient19", "patient04"], ["patient03"])
    assert bench.make_folds(patients, "database") == [(["patient07", "patient19"], ["patient03", "patient04"]),
                                                     (["patient03", "patient04"], ["patient07", "patient19"])]
    with pytest.raises(bench.BenchError):
        bench.make_folds(["patient07", "patient19"], "database")  # one database only


def test_bad_variants_are_refused_before_any_output(manifest, tmp_path, capsys):
    variants = tmp_path / "variants.json"
    out = tmp_path / "bench"
    variants.write_text(json.dumps({"v": {"model": "unet_small", "epochs": 3}}))  # a train setting misplaced
    with pytest.raises(SystemExit) as exit_info:
        bench.main(["--manifest", str(manifest), "--variants", str(variants), "--models", "v", "--out", str(out)])
    assert exit_info.value.code == 2 and "epochs" in capsys.readouterr().err
    variants.write_text(json.dumps({"v": {"model": "unet_small", "init_weights": str(tmp_path / "nothing")}}))
    with pytest.raises(SystemExit):
        bench.main(["--manifest", str(manifest), "--variants", str(variants), "--models", "v", "--out", str(out)])
    assert not out.exists()
    # a fine-tuned variant may start from the shared run of a simulation-only variant listed before it
    shards = tmp_path / "sim-shards"
    shards.mkdir()
    (shards / "index.json").write_text(json.dumps({"inputs": ["T1", "T2"]}))
    plan = {"sim": {"model": "unet_small", "train_shards": str(shards)},
            "ft": {"model": "unet_small", "init_weights": str(bench.shared_run(out, "sim"))}}
    bench.check_variants(plan, ["sim", "ft"], out, "variants.json", ("T1", "T2"))
    with pytest.raises(bench.BenchError):
        bench.check_variants(plan, ["ft", "sim"], out, "variants.json", ("T1", "T2"))
    with pytest.raises(bench.BenchError):  # shards of other inputs than the benchmark's
        bench.check_variants(plan, ["sim"], out, "variants.json", ("T1", "T1POST", "T2"))
    with pytest.raises(bench.BenchError):
        bench.check_variants({"v": {"model": "unet_small", "preset": "no-such"}}, ["v"], out, "variants.json")


@pytest.mark.slow
def test_deep_schemes_real_only_simulation_only_and_fine_tuned(manifest, tmp_path):
    from data_tools.contracts import ShardSpec
    from data_tools.io.cohort import open_cohort
    from data_tools.shards.dataset import build_shards

    sim = tmp_path / "sim-shards"  # stands in for randomised simulation: any subject-all shards
    build_shards(open_cohort(manifest=manifest).select(["patient07", "patient19"]),
                 ShardSpec("flair", inputs=["T1", "T2"], target="FLAIR", patch=8, overlap=0.0, normalize="subject-all"),
                 sim, progress=False)
    out = tmp_path / "bench"
    tiny = {"epochs": 1, "steps_per_epoch": 2, "batch": 1, "model_kwargs": {"base_filters": 2}}
    small = {"patch": 8, "overlap": 0.0, "lesion_copies": 1, "min_brain": 0.0}
    variants = {"real": {"model": "unet_small", "shards": small, "train": {**tiny, "loss": "mse+grad"}},
                "sim": {"model": "unet_small", "train_shards": str(sim), "train": tiny},
                "ft": {"model": "unet_small", "shards": small, "init_weights": "variant:sim", "train": tiny}}
    (tmp_path / "v.json").write_text(json.dumps(variants))
    bench.main(["--manifest", str(manifest), "--inputs", "T1,T2", "--variants", str(tmp_path / "v.json"),
                "--models", "real,sim,ft", "--folds", "patient07,patient03", "--out", str(out)])
    rows = results(out)
    assert [(r["model"], r["test"]) for r in rows] == [(m, t) for t in ("patient07", "patient03")
                                                       for m in ("real", "sim", "ft")]
    fold_run = json.loads((out / "runs" / "real" / "test-patient07" / "run" / "config.json").read_text())
    assert "mse+grad" in json.dumps(fold_run) and not (out / "runs" / "real" / "test-patient07" / "shards").exists()
    assert len(list((out / "runs" / "sim").iterdir())) == 1  # one shared run, no per-fold training
    sim_seconds = json.loads((out / "runs" / "sim" / "shared" / "seconds.json").read_text())["seconds"]
    assert all(r["seconds"] >= sim_seconds for r in rows if r["model"] == "sim")
    assert all(r["trained_on"].startswith("simulation only") for r in rows if r["model"] == "sim")
    ft_run = json.loads((out / "runs" / "ft" / "test-patient03" / "run" / "config.json").read_text())
    assert ft_run["init_weights"] == str(bench.shared_run(out, "sim").resolve())
