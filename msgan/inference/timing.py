"""Seconds spent in each stage of a prediction (load, normalise, predict, write), for the
one line ``msgan predict --verbose`` logs per session."""
from __future__ import annotations

import contextlib
import time
from typing import Iterator

#: the stages of one session's prediction, in the order they run
STAGES = ("load", "normalise", "predict", "write")


@contextlib.contextmanager
def timed(timings: dict | None, stage: str) -> Iterator[None]:
    """Add the block's wall-clock seconds to ``timings[stage]`` (nothing when ``timings`` is None)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        if timings is not None:
            timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - start


def describe(timings: dict) -> str:
    """``"load 1.2 s, normalise 0.3 s, predict 9.8 s, write 0.7 s (total 12.0 s)"``."""
    order = [s for s in STAGES if s in timings] + [s for s in timings if s not in STAGES]
    parts = ", ".join(f"{stage} {timings[stage]:.1f} s" for stage in order)
    return f"{parts} (total {sum(timings.values()):.1f} s)"
