"""Time the default simulated cohort (18 MS + 10 HC, two visits for patients).

Goals (issue 3): 2 mm in under 2 minutes, 1 mm in under 15 minutes on a 2-core machine.
Prints wall and CPU time and the ratio to the goal from one run; the cohort is written
to a temporary folder and deleted afterwards.

    PYTHONPATH=. python scripts/bench_simulate.py --resolution 2
    PYTHONPATH=. python scripts/bench_simulate.py --resolution 1 --jobs 2
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from data_tools.simulation.cohort import default_jobs, simulate_cohort  # noqa: E402

GOAL_SECONDS = {1.0: 15 * 60.0, 2.0: 2 * 60.0}


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolution", type=float, default=2.0)
    parser.add_argument("--n-ms", type=int, default=18)
    parser.add_argument("--n-hc", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=default_jobs())
    parser.add_argument("--keep", type=Path, default=None, help="write the cohort here and keep it")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench_simulate_"))
    out = args.keep or workdir / "cohort"
    try:
        load = os.getloadavg()[0]
        wall0, cpu0 = time.perf_counter(), _cpu_seconds()
        simulate_cohort(out, n_ms=args.n_ms, n_hc=args.n_hc, resolution=args.resolution, seed=0,
                        overwrite=args.keep is not None, jobs=args.jobs)
        wall, cpu = time.perf_counter() - wall0, _cpu_seconds() - cpu0
        size_mb = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 1e6
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    sessions = 2 * args.n_ms + args.n_hc
    goal = GOAL_SECONDS.get(args.resolution)
    print(f"resolution {args.resolution:g} mm, {args.n_ms} MS + {args.n_hc} HC, {sessions} sessions, "
          f"jobs {args.jobs}, cores {os.cpu_count()}, load average before {load:.1f}")
    print(f"wall {wall:.1f} s ({wall / sessions:.2f} s/session), CPU {cpu:.1f} s, written {size_mb:.0f} MB")
    if goal:
        print(f"goal {goal:.0f} s: wall/goal = {wall / goal:.2f}")


if __name__ == "__main__":
    main()
