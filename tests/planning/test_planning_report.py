"""The planning report: progress lines for logs."""

from __future__ import annotations

import io

import pytest

from jepa_world.planning.report import ProgressLines


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_lines_print_every_tenth_with_time_left() -> None:
    clock, out = FakeClock(), io.StringIO()
    lines = ProgressLines("jepa plan [model]", stream=out, clock=clock)
    for done in range(5, 101, 5):  # 5 % of the work per minute
        clock.now += 60
        lines(done, 100)
    printed = out.getvalue().splitlines()
    assert len(printed) == 10
    assert printed[0] == "jepa plan [model]:  10 % done, 2.0 min, about 18.0 min left"
    assert printed[4] == "jepa plan [model]:  50 % done, 10.0 min, about 10.0 min left"
    assert printed[-1] == "jepa plan [model]: 100 % done, 20.0 min"
    assert printed[2].startswith("jepa plan [model]:  30 % done, 6.0 min")  # at 30 %, not 35 %


def test_progress_lines_skip_shares_already_passed() -> None:
    out = io.StringIO()
    lines = ProgressLines("run", every=0.25, stream=out, clock=FakeClock())
    lines(60, 100)  # past 25 % and 50 % at once: one line
    lines(70, 100)  # below 75 %: nothing
    lines(100, 100)
    assert [line.split(":")[1].split("%")[0].strip() for line in out.getvalue().splitlines()] == [
        "60",
        "100",
    ]


@pytest.mark.parametrize("every", [0.0, -0.1, 1.5])
def test_progress_lines_reject_a_bad_step(every: float) -> None:
    with pytest.raises(ValueError, match="every must be in"):
        ProgressLines("run", every=every)
