"""The early-stopping rule of sec. 2.2.3 (Prechelt's UP_p criterion).

"We stopped the training when the generalization error increased in p successive
q-length-strips": STOP_1 stops after the first end-of-strip epoch t with
E(t) > E(t - q); STOP_p stops after epoch t iff STOP_{p-1} stopped after t - q and
E(t) > E(t - q). The thesis used q = 5, p = 3 with the validation error as E.

Epochs count from 1 and end-of-strip epochs are q, 2q, 3q, ... . The error before any
training is not measured, so the first comparison is at epoch 2q (E(2q) vs E(q)).
"""
from __future__ import annotations

import math


class StripEarlyStopping:
    """Feed one validation error per epoch with :meth:`update`; it returns True to stop."""

    def __init__(self, strip_length: int = 5, strips: int = 3):
        if strip_length < 1 or strips < 1:
            raise ValueError("strip_length and strips must be >= 1")
        self.q, self.p = int(strip_length), int(strips)
        self.reset()

    def reset(self) -> None:
        self.errors: list[float] = []
        self.rising_strips = 0

    @property
    def epoch(self) -> int:
        return len(self.errors)

    def update(self, error: float) -> bool:
        """Record E(t) for the next epoch t; True when the rule says stop after t."""
        self.errors.append(float(error))
        t = self.epoch
        if t % self.q or t <= self.q:
            return False
        now, before = self.errors[t - 1], self.errors[t - 1 - self.q]
        # A NaN error never counts as an improvement.
        rose = math.isnan(now) or now > before
        self.rising_strips = self.rising_strips + 1 if rose else 0
        return self.rising_strips >= self.p

    def replay(self, errors) -> bool:
        """Feed a past run's errors (resume); returns whether the rule had already fired."""
        self.reset()
        stop = False
        for e in errors:
            stop = self.update(e)
        return stop
