"""The folds of one cross-validation share the first fold's traced training steps.

Every fold builds the same network with the same seed, so every fold starts from the same
weights; only the subjects differ. Tracing the ``tf.function`` steps again for each fold
costs seconds to minutes on a CPU, more than a small fold's training. :class:`TracedFolds`
keeps the first fold's strategy, model, optimisers, step objects and evaluators, and hands
each later fold the same objects with every variable put back to its value before the
first fold's first step: weights, batch-norm statistics, seed-generator states, optimiser
slots, iteration counters and learning rates. A later fold therefore starts exactly where
a rebuilt one would (tests/test_traced_folds.py compares the two).
"""
from __future__ import annotations

from typing import Callable, TypeVar

T = TypeVar("T")


def _snapshot(variables) -> list:
    return [v.numpy() for v in variables]


def _restore(variables, values) -> None:
    for variable, value in zip(variables, values, strict=True):
        variable.assign(value)


def _optimizer_variables(step) -> list:
    return [v for optimizer in step.optimizers.values() for v in optimizer.variables]


class TracedFolds:
    """What the folds of one cross-validation reuse; pass one object to every fold's
    :func:`msgan.training.run.train_and_keep`."""

    def __init__(self):
        self.strategy = None
        self._model = None
        self._initial: list = []
        self._steps: dict[str, tuple[object, list]] = {}
        self._evaluators: dict[str, object] = {}

    def model(self, build: Callable[[], T]) -> T:
        """The first fold's model built by ``build()``; later folds get it back as built."""
        if self._model is None:
            self._model = build()
            self._initial = _snapshot(self._model.variables)
        else:
            _restore(self._model.variables, self._initial)
        return self._model

    def step(self, stage: str, make: Callable[[], T]) -> T:
        """Stage ``stage``'s step object made by ``make()`` (optimisers built, nothing traced
        yet); later folds get it back with its optimisers as made."""
        if stage in self._steps:
            step, initial = self._steps[stage]
            _restore(_optimizer_variables(step), initial)
            return step
        step = make()
        self._steps[stage] = (step, _snapshot(_optimizer_variables(step)))
        return step

    def evaluator(self, name: str, make: Callable[[], T]) -> T:
        """A traced evaluation function, made once."""
        if name not in self._evaluators:
            self._evaluators[name] = make()
        return self._evaluators[name]
