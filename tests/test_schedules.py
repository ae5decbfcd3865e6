"""The shared half-cosine schedule."""

from __future__ import annotations

import math

import pytest

from jepa_world.schedules import cosine_between


def test_cosine_runs_from_start_to_end_through_the_midpoint() -> None:
    assert cosine_between(0.0, 2.0, 0.5) == 2.0
    assert cosine_between(1.0, 2.0, 0.5) == pytest.approx(0.5)
    assert cosine_between(0.5, 2.0, 0.5) == pytest.approx(1.25)
    assert cosine_between(0.25, 1.0, 0.0) == pytest.approx(0.5 * (1 + math.cos(math.pi / 4)))


def test_progress_outside_the_schedule_is_clipped() -> None:
    assert cosine_between(-3.0, 1.0, 0.0) == 1.0
    assert cosine_between(7.0, 1.0, 0.0) == pytest.approx(0.0)
