"""``benchmarks/embedding_stats.py`` tells a healthy code from a collapsed and a static one."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import embedding_stats  # noqa: E402

from jepa_world.callbacks import CollapseMonitor  # noqa: E402


def test_the_verdict_follows_the_monitor_thresholds() -> None:
    monitor = CollapseMonitor()
    healthy = {"std": 0.6, "effective_rank": 150.0, "step_change": 0.25}
    assert embedding_stats.verdict(healthy, monitor) == "healthy"
    assert embedding_stats.verdict({**healthy, "step_change": 0.002}, monitor) == "static"
    assert embedding_stats.verdict({**healthy, "std": 0.001}, monitor) == "collapsed"
    assert embedding_stats.verdict({**healthy, "effective_rank": 1.0}, monitor) == "collapsed"


def test_the_released_models_read_as_healthy(
    tiny_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = [ROOT / "model_weights.pth", ROOT / "releases/generic/model_weights.pth"]
    present = [str(p) for p in paths if p.is_file()]
    if not present:
        pytest.skip("no released weights present")
    embedding_stats.main([*present, "--split", str(tiny_data / "train"), "--n", "16"])
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| /")]
    assert len(rows) == len(present)
    for row in rows:
        change = float(row.split("|")[4])
        assert change > 0.03 and row.rstrip(" |").endswith("healthy")


def test_it_refuses_a_window_of_one_frame() -> None:
    with pytest.raises(SystemExit):
        embedding_stats.main(["model_weights.pth", "--window", "1"])
