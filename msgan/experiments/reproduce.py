"""``msgan reproduce CHAPTER``: each chapter's experiment as the thesis designed it, one report.

ch2 (:mod:`msgan.experiments.chapter2`), ch3 (:mod:`msgan.experiments.chapter3`) and ch4
(:mod:`msgan.experiments.chapter4`), each on the chapter's simulated cohort or a user's.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

from msgan.errors import ConfigError

#: chapter -> the module declaring it (its ``CHAPTER``, run by :func:`msgan.experiments.chapter.run_chapter`)
CHAPTERS = {name: f"msgan.experiments.chapter{name[-1]}" for name in ("ch2", "ch3", "ch4")}


def reproduce(chapter: str, out: str | Path, cohort: str | Path | None = None, check: bool = False,
              methods: Sequence[str] | None = None, overwrite: bool = False, progress: bool = True,
              echo: Callable[[str], None] = print, precision: str = "float32", jit_compile: bool = False,
              threshold_space: str = "mni") -> Path:
    """Run ``chapter``'s protocol into ``out`` (:func:`~msgan.experiments.chapter.run_chapter`);
    the path of its ``report.md``. ``precision``/``jit_compile``: of every training and
    prediction in it (:func:`msgan.training.precision.compute_settings`)."""
    import importlib

    from msgan.training.precision import check_precision, compute_settings

    if chapter not in CHAPTERS:
        raise ConfigError(f"unknown chapter {chapter!r}; choose one of {', '.join(CHAPTERS)}")
    from msgan.experiments.chapter import run_chapter

    declared = importlib.import_module(CHAPTERS[chapter]).CHAPTER
    with compute_settings(check_precision(precision, jit_compile), jit_compile):
        return run_chapter(declared, out, cohort=cohort, check=check, methods=methods, overwrite=overwrite,
                           progress=progress, echo=echo, threshold_space=threshold_space)
