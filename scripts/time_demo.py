"""Time ``msgan demo`` and ``msgan demo --quick`` on this machine, each step and in all.

Runs the demo(s) into a temporary folder (deleted afterwards) through the library, as the
CLI does, and prints the steps' seconds from each run's own clock; ``--graph-optimizer``
also times the run with TensorFlow's grappler optimiser on (the demo turns it off for its
toy graphs: ``msgan.experiments.demo.toy_graphs``) and prints the ratio.

    PYTHONPATH=. python scripts/time_demo.py             # --quick and the full demo
    PYTHONPATH=. python scripts/time_demo.py --only quick --graph-optimizer
    PYTHONPATH=. python scripts/time_demo.py --only full --out /tmp/demos   # keep the reports
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from msgan.experiments.demo import QUICK, DemoSettings, run_demo  # noqa: E402


def timed_run(name: str, settings: DemoSettings, folder: Path) -> float:
    started = time.perf_counter()
    report = run_demo(folder / name, settings=settings, progress=False, echo=lambda line: print(f"  {line}"))
    seconds = time.perf_counter() - started
    total = re.search(r"Total time .*?\)", report.read_text())
    print(f"{name}: {seconds:.0f} s ({total.group(0) if total else 'no timing line'})")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("quick", "full"), help="time one demo only")
    parser.add_argument("--graph-optimizer", action="store_true",
                        help="also time each run with grappler on, and print the ratio")
    parser.add_argument("--out", type=Path, help="keep the demo folders here (default: deleted)")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPU(s) visible; load average {os.getloadavg()[0]:.1f} at the start")
    runs = {"quick": QUICK, "full": DemoSettings()}
    folder = args.out or Path(tempfile.mkdtemp(prefix="msgan-time-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        for name, settings in runs.items():
            if args.only and name != args.only:
                continue
            seconds = timed_run(name, settings, folder)
            if args.graph_optimizer:
                optimised = timed_run(f"{name}-grappler", dataclasses.replace(settings, optimize_graphs=True), folder)
                print(f"{name}: grappler on / off = {optimised / seconds:.2f}")
    finally:
        if args.out is None:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
