"""Benchmark: writing the open_ms_data shards (file reads, time), and the reader against a plain read.

    PYTHONPATH=. python scripts/bench_tfrecords.py --root ../shared/data/open_ms_data
    PYTHONPATH=. python scripts/bench_tfrecords.py --before 617993d   # writing only, two versions

Writes the README acceptance shards (``msgan make-tfrecords``, flair task, T1,T1POST,T2 ->
FLAIR, 64^3 patches at 50 % overlap) to ``--out``, counting NIfTI file reads: a call of
``nibabel.load`` or ``pathlib.Path.read_bytes`` on a ``.nii``/``.nii.gz`` path (the NIfTI
reader verifies a ``.nii.gz``'s gzip trailer from ``read_bytes``; both are wrapped here and
the call passed through). Then reads the shards twice, caches warm both times:
1. plain: every shard file read sequentially in 4 MiB blocks (the disk/page-cache ceiling);
2. reader: ``make_dataset`` (shuffled, parallel parse, batch 1, no sha256 check) iterated to
   the end, each patch's tensors touched.
Prints reads per session, patches/s and MB/s of each reader and the ratio reader/plain
(goal >= 0.5), plus write time (goal < 60 s on 2 cores). One run, one figure: not a test.

``--before REV`` measures writing only, with the code of git revision ``REV`` (exported by
``git archive``) and with this checkout's, each in a fresh process (TensorFlow imported
before the clock starts), alternating ``--repeats`` times; it prints reads per session of
each, the median wall and CPU time ratios before/after taken in this run, and whether both wrote
identical examples.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: the README's make-tfrecords command (section "msgan make-tfrecords")
COMMAND = ["make-tfrecords", "--task", "flair", "--inputs", "T1,T1POST,T2", "--target", "FLAIR"]


def plain_read(files) -> int:
    total = 0
    for f in files:
        with open(f, "rb") as fh:
            while block := fh.read(1 << 22):
                total += len(block)
    return total


def write_shards(manifest: str, root: str, out: Path, compress: bool = False) -> dict:
    """``msgan make-tfrecords`` in this process, counting NIfTI reads; the CLI, not a library
    path, so that ``--before`` can run older code. Returns seconds, reads per file, shards."""
    import nibabel

    reads = collections.Counter()
    original_load, original_read_bytes = nibabel.load, pathlib.Path.read_bytes

    def is_nifti(path) -> bool:
        return str(path).endswith((".nii", ".nii.gz"))

    def counting_load(filename, *args, **kwargs):
        if is_nifti(filename):
            reads[str(Path(filename).resolve())] += 1
        return original_load(filename, *args, **kwargs)

    def counting_read_bytes(self):
        if is_nifti(self):
            reads[str(self.resolve())] += 1
        return original_read_bytes(self)

    import tensorflow  # noqa: F401  (before the clock: make-tfrecords imports it lazily)

    import data_tools
    from msgan.cli import main

    nibabel.load, pathlib.Path.read_bytes = counting_load, counting_read_bytes
    try:
        start, cpu_start = time.perf_counter(), time.process_time()
        try:
            main(COMMAND + ["--manifest", manifest, "--root", root, "--out", str(out), "--overwrite"]
                 + (["--compress"] if compress else []))
        except SystemExit as exc:  # the console entry point always exits
            if exc.code:
                raise
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    finally:
        nibabel.load, pathlib.Path.read_bytes = original_load, original_read_bytes
    index = json.loads((out / "index.json").read_text())
    return {"seconds": seconds, "cpu": cpu, "reads": dict(reads), "code": str(Path(data_tools.__file__).parent),
            "examples": examples_digest(out, index), "n_examples": index["n_examples"]}


def examples_digest(out: Path, index: dict) -> str:
    """sha256 over every example's features (keys sorted), in writing order. Not the shard
    files' sha256: protobuf serialises an Example's feature map in an order that varies
    between processes, so equal examples need not give equal bytes."""
    import hashlib

    import tensorflow as tf

    digest = hashlib.sha256()
    for shard in index["shards"]:
        for record in tf.data.TFRecordDataset(str(out / shard["file"]), compression_type=index["compression"]):
            features = tf.train.Example.FromString(record.numpy()).features.feature
            for key in sorted(features):
                digest.update(key.encode() + features[key].SerializeToString())
    return digest.hexdigest()


def reads_per_session(reads: dict) -> list[str]:
    """One line per session folder: its files' reads (patient folders hold one session)."""
    grouped = collections.defaultdict(dict)
    for path, n in sorted(reads.items()):
        grouped[Path(path).parent.name][Path(path).name.split("_")[0].split(".")[0]] = n
    return [f"  {folder}: {sum(files.values())} reads of {len(files)} files "
            f"({', '.join(f'{name} {n}' for name, n in files.items())})" for folder, files in grouped.items()]


def write_in_child(code: Path, args) -> dict:
    """:func:`write_shards` in a fresh interpreter importing msgan and data_tools from ``code``."""
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, PYTHONPATH=str(code), TF_CPP_MIN_LOG_LEVEL="3")
        done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", str(Path(tmp) / "shards"),
                               "--manifest", args.manifest, "--root", args.root], cwd=tmp, env=env,
                              capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"make-tfrecords failed with the code in {code}:\n{done.stderr[-3000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
    if Path(result["code"]).resolve() != (code / "data_tools").resolve():
        raise SystemExit(f"the child imported data_tools from {result['code']}, not {code}")
    return result


def compare_versions(args) -> None:
    """Writing with revision ``args.before`` against this checkout, alternating."""
    before, after = [], []
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "before"
        old.mkdir()
        archive = subprocess.run(["git", "-C", str(REPO), "archive", args.before, "msgan", "data_tools"],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
        for _ in range(args.repeats):
            before.append(write_in_child(old, args))
            after.append(write_in_child(REPO, args))
    for label, runs in ((f"before ({args.before})", before), ("after (this checkout)", after)):
        times, cpu = [r["seconds"] for r in runs], [r["cpu"] for r in runs]
        print(f"{label}: write {statistics.median(times):.1f} s (median of {', '.join(f'{t:.1f}' for t in times)}), "
              f"CPU {statistics.median(cpu):.1f} s, {runs[0]['n_examples']} examples, "
              f"{sum(runs[0]['reads'].values())} NIfTI reads")
        print("\n".join(reads_per_session(runs[0]["reads"])))
    ratio = statistics.median(r["seconds"] for r in before) / statistics.median(r["seconds"] for r in after)
    cpu_ratio = statistics.median(r["cpu"] for r in before) / statistics.median(r["cpu"] for r in after)
    same = all(r["examples"] == before[0]["examples"] for r in before + after)
    print(f"write time before/after: {ratio:.2f}x (CPU time {cpu_ratio:.2f}x); identical examples (every feature of every example, "
          f"in writing order): {same}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", default=str(REPO / "examples" / "open_ms_data.csv"))
    parser.add_argument("--root", default=str(REPO.parent / "shared" / "data" / "open_ms_data"))
    parser.add_argument("--out", default=None, help="shard folder (default: a temporary one)")
    parser.add_argument("--compress", action="store_true", help="GZIP shards")
    parser.add_argument("--repeats", type=int, default=2, help="timed passes of each reader (best kept); "
                        "with --before, writes by each version (median kept)")
    parser.add_argument("--before", help="git revision whose writing to compare with this checkout's")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(write_shards(args.manifest, args.root, args.child)))
        return
    if not Path(args.root).is_dir():
        raise SystemExit(f"{args.root}: the open_ms_data patients are not there (see the README)")
    if args.before:
        compare_versions(args)
        return

    sys.path.insert(0, str(REPO))
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="bench-tfrecords-")) / "oms-flair"
    written = write_shards(args.manifest, args.root, out, args.compress)
    write_s = written["seconds"]
    index = json.loads((out / "index.json").read_text())
    files = [out / s["file"] for s in index["shards"]]
    n = index["n_examples"]
    size_mb = sum(f.stat().st_size for f in files) / 1e6

    from data_tools.shards.tfrecords import make_dataset

    plain_read(files)  # warm the page cache so both readers see the same storage
    plain_s = min(_timed(lambda: plain_read(files)) for _ in range(args.repeats))

    def read_all():
        count = 0
        for batch in make_dataset(out, shuffle=True, verify=False, seed=0):
            count += int(batch["inputs"].shape[0])
            _ = (batch["target"].numpy().sum(), batch["roi"].numpy().max())
        assert count == n

    reader_s = min(_timed(read_all) for _ in range(args.repeats))

    import tensorflow as tf

    def raw_records():  # TensorFlow's record reader alone: no parsing, shuffling or batching
        assert sum(1 for _ in tf.data.TFRecordDataset([str(f) for f in files], buffer_size=8 << 20)) == n

    raw_s = min(_timed(raw_records) for _ in range(args.repeats))
    verify_s = _timed(lambda: make_dataset(out, verify=True))

    print(f"shards: {n} patches of 64^3 x (3 inputs + target + 2 masks), {len(files)} files, "
          f"{size_mb:.1f} MB{' (GZIP)' if args.compress else ''}")
    print(f"write (load, validate, fit, normalise, cut, serialise, hash): {write_s:.1f} s "
          f"(goal < 60 s), {sum(written['reads'].values())} NIfTI reads:")
    print("\n".join(reads_per_session(written["reads"])))
    print(f"plain sequential read: {n / plain_s:8.1f} patches/s {size_mb / plain_s:8.1f} MB/s")
    print(f"make_dataset reader  : {n / reader_s:8.1f} patches/s {size_mb / reader_s:8.1f} MB/s")
    print(f"bare TFRecordDataset : {n / raw_s:8.1f} patches/s {size_mb / raw_s:8.1f} MB/s")
    print(f"ratio reader/plain   : {plain_s / reader_s:.2f} (goal >= 0.5)")
    print(f"ratio reader/bare TFRecordDataset: {raw_s / reader_s:.2f} (what parsing, shuffling and "
          f"batching cost on top of TensorFlow's own record reader)")
    print(f"sha256 check before training (make_dataset verify=True): {verify_s:.2f} s")


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
