"""Reports: the course metrics.txt both ways, the JSON, the table and the pictures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jepa_world.probing.report import (
    format_metrics,
    format_table,
    parse_metrics,
    read_metrics,
    write_metrics,
    write_report,
)
from jepa_world.probing.results import ProbeResult, SetResult, TrajectoryExamples


def _result() -> ProbeResult:
    path = [[10.0 + t, 20.0] for t in range(17)]
    examples = TrajectoryExamples(true=[path] * 3, predicted=[path] * 3, layouts=[[30, 25]] * 3)
    sets = {
        name: SetResult(
            name, mse, [mse] * 17, 256, 64, f"probe_{name}/train", f"probe_{name}/val", examples
        )
        for name, mse in (("normal", 0.325), ("wall", 0.742), ("wall_other", 2.8), ("expert", 1.67))
    }
    return ProbeResult(sets=sets, param_count=20_000, repr_dim=16)


def test_metrics_file_has_the_course_format() -> None:
    text = format_metrics({"wall": 2.0, "normal": 1.5}, 1234, "jepa fit --config configs/x.yaml")
    assert text.splitlines() == [
        "probe_normal val loss: 1.5",
        "probe_wall val loss: 2.0",
        "# 1234",
        "# jepa fit --config configs/x.yaml",
    ]


def test_metrics_round_trip(tmp_path: Path) -> None:
    losses = {"normal": 0.3251234567, "wall": 0.742, "wall_other": 2.8, "expert": 1.67}
    path = write_metrics(
        tmp_path / "metrics.txt", losses, 19_876, "jepa fit --config configs/best.yaml"
    )
    parsed = read_metrics(path)
    assert parsed.losses == losses  # repr() keeps every digit
    assert list(parsed.losses) == ["normal", "wall", "wall_other", "expert"]
    assert parsed.param_count == 19_876
    assert parsed.command == "jepa fit --config configs/best.yaml"
    assert not [p for p in tmp_path.iterdir() if p.name != "metrics.txt"]  # no temporary left


def test_metrics_parser_names_the_bad_line() -> None:
    with pytest.raises(ValueError, match="line 2"):
        parse_metrics("probe_normal val loss: 1.0\nnormal loss 2\n")
    with pytest.raises(ValueError, match="not a number"):
        parse_metrics("probe_normal val loss: abc\n")
    with pytest.raises(ValueError, match="one line"):
        format_metrics({"normal": 1.0}, 1, "two\nlines")


def test_table_lists_every_set_and_skips() -> None:
    result = _result()
    result.skipped = {"extra": "missing /x/probe_extra/val"}
    table = format_table(result)
    for name in ("normal", "wall", "wall_other", "expert", "skipped", "20,000"):
        assert name in table


def test_report_writes_metrics_json_and_pictures(tmp_path: Path) -> None:
    written = write_report(_result(), tmp_path / "out", "python train.py")
    assert set(written) == {"metrics", "json", "curves", "trajectories"}
    assert read_metrics(written["metrics"]).losses["wall_other"] == 2.8
    payload = json.loads(written["json"].read_text())
    assert payload["losses"]["expert"] == 1.67
    assert len(payload["sets"]["normal"]["per_timestep"]) == 17
    assert payload["command"] == "python train.py"
    for key in ("curves", "trajectories"):
        assert written[key].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
