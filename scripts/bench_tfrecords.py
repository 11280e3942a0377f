"""Benchmark: time to write the open_ms_data shards, and the reader against a plain read.

    PYTHONPATH=. python scripts/bench_tfrecords.py --root ../shared/data/open_ms_data

Writes the README acceptance shards (flair task, T1,T1POST,T2 -> FLAIR, 64^3 patches at
50 % overlap) to ``--out``, then reads them twice, caches warm both times:
1. plain: every shard file read sequentially in 4 MiB blocks (the disk/page-cache ceiling);
2. reader: ``make_dataset`` (shuffled, parallel parse, batch 1, no sha256 check) iterated to
   the end, each patch's tensors touched.
Prints patches/s and MB/s of each and the ratio reader/plain (goal >= 0.5), plus write time
(goal < 60 s on 2 cores). One run, one figure: not a test.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from data_tools.io.cohort import open_cohort  # noqa: E402
from data_tools.shards.dataset import build_shards  # noqa: E402


def plain_read(files) -> int:
    total = 0
    for f in files:
        with open(f, "rb") as fh:
            while block := fh.read(1 << 22):
                total += len(block)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", default=str(REPO / "examples" / "open_ms_data.csv"))
    parser.add_argument("--root", default=str(REPO.parent / "shared" / "data" / "open_ms_data"))
    parser.add_argument("--out", default=None, help="shard folder (default: a temporary one)")
    parser.add_argument("--compress", action="store_true", help="GZIP shards")
    parser.add_argument("--repeats", type=int, default=2, help="timed passes of each reader (best kept)")
    args = parser.parse_args()

    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="bench-tfrecords-")) / "oms-flair"
    cohort = open_cohort(manifest=args.manifest, root=args.root)
    start = time.perf_counter()
    index = build_shards(cohort, "flair", out, inputs="T1,T1POST,T2", target="FLAIR", overwrite=True,
                         compression="GZIP" if args.compress else "", progress=False)
    write_s = time.perf_counter() - start  # includes the TensorFlow import on first use
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
          f"(goal < 60 s)")
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
