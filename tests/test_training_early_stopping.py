"""The stopping rule of sec. 2.2.3 (p successive q-strips of rising validation error), by hand."""
from __future__ import annotations

import pytest

from msgan.training.early_stopping import StripEarlyStopping


def first_stop(rule, errors):
    """1-based epoch after which the rule stops, or None."""
    for epoch, error in enumerate(errors, start=1):
        if rule.update(error):
            return epoch
    return None


def test_thesis_setting_stops_after_three_rising_strips():
    # E(t) = |t - 10| + 1: best at epoch 10. Strip ends 5, 10, 15, 20, 25:
    # E(10)=1 < E(5)=6 (no rise); E(15)=6 > 1, E(20)=11 > 6, E(25)=16 > 11 -> third rise at 25.
    errors = [abs(t - 10) + 1 for t in range(1, 40)]
    assert first_stop(StripEarlyStopping(strip_length=5, strips=3), errors) == 25


def test_two_strips_of_two_epochs():
    # Strip ends 2, 4, 6: E(4)=4.5 > E(2)=4 (1 rise), E(6)=5 > 4.5 (2 rises) -> stop after 6.
    errors = [5, 4, 3, 4.5, 3, 5, 2, 6]
    assert first_stop(StripEarlyStopping(2, 2), errors) == 6


def test_a_falling_strip_resets_the_count():
    # E(4)=4.5 > E(2)=4 (1); E(6)=4.0 < 4.5 (reset); E(8)=5 > 4 (1); E(10)=6 > 5 (2) -> 10.
    errors = [5, 4, 3, 4.5, 3, 4.0, 2, 5, 1, 6]
    assert first_stop(StripEarlyStopping(2, 2), errors) == 10


def test_rises_inside_a_strip_do_not_count():
    # Zig-zag that rises every other epoch but is lower at every strip end: never stops.
    errors = [10 - t + (3 if t % 2 else 0) for t in range(1, 10)]
    assert first_stop(StripEarlyStopping(2, 1), errors) is None


def test_first_comparison_needs_a_previous_strip_end():
    # With q=2, p=1, epoch 2 has no E(0) to compare with; epoch 4 compares with E(2).
    rule = StripEarlyStopping(2, 1)
    assert [rule.update(e) for e in [1, 9, 9, 10]] == [False, False, False, True]


def test_replay_restores_the_count_after_a_resume():
    rule = StripEarlyStopping(2, 2)
    assert rule.replay([5, 4, 3, 4.5]) is False and rule.rising_strips == 1
    assert rule.update(3) is False and rule.update(5) is True


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        StripEarlyStopping(0, 3)
