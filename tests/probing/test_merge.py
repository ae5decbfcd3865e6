"""Joining `jepa probe` reports made one group of sets at a time (``jepa_world.probing.merge``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from torch import nn

from jepa_world.models import save_world_model
from jepa_world.probing.cli import probe_checkpoint
from jepa_world.probing.evaluator import ProbeSettings
from jepa_world.probing.merge import main, merge_results, read_result
from jepa_world.probing.report import read_metrics

QUICK = ProbeSettings(epochs=1, progress=False)


@pytest.fixture
def reports(probe_data: Path, tmp_path: Path, small_world_model: nn.Module) -> dict[str, Path]:
    """The same model probed three ways: all at once, then normal+wall and expert apart."""
    weights = save_world_model(small_world_model, tmp_path / "model_weights.pth")
    out = {}
    for name, sets in {
        "all": ["normal", "wall", "expert"],
        "rooms": ["normal", "wall"],
        "expert": ["expert"],
    }.items():
        out[name] = tmp_path / name
        probe_checkpoint(
            str(weights),
            data=str(probe_data),
            sets=sets,
            out=str(out[name]),
            command="jepa fit",
            settings=QUICK,
        )
    return out


def test_reports_probed_apart_join_into_the_report_of_one_run(
    reports: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    joined = tmp_path / "joined"
    args = [str(reports["rooms"]), str(reports["expert"]), "--out", str(joined)]
    assert main([*args, "--command", "bash reproduce.sh"]) == 0
    assert "expert" in capsys.readouterr().out
    merged, single = (
        read_metrics(joined / "metrics.txt"),
        read_metrics(reports["all"] / "metrics.txt"),
    )
    assert list(merged.losses) == ["normal", "wall", "expert"]
    assert merged.losses == pytest.approx(single.losses, rel=1e-6)
    assert merged.param_count == single.param_count
    assert merged.command == "bash reproduce.sh"
    for name in ("probe_results.json", "probe_curves.png", "probe_trajectories.png"):
        assert (joined / name).is_file()
    with pytest.raises(SystemExit):  # an existing report is never replaced silently
        main([*args, "--command", "x"])
    assert read_metrics(joined / "metrics.txt").command == "bash reproduce.sh"
    release = tmp_path / "release"  # a folder holding only a released metrics.txt
    release.mkdir()
    (release / "metrics.txt").write_text("probe_normal val loss: 1.0\n")
    with pytest.raises(SystemExit):
        main([*args[:2], "--out", str(release), "--command", "x"])
    assert (release / "metrics.txt").read_text() == "probe_normal val loss: 1.0\n"


def test_reports_that_do_not_belong_together_are_refused(
    reports: dict[str, Path], tmp_path: Path
) -> None:
    rooms, expert = read_result(reports["rooms"]), read_result(reports["expert"])
    with pytest.raises(ValueError, match="set 'normal' is already"):
        merge_results([rooms, read_result(reports["all"])])
    expert.repr_dim += 1
    with pytest.raises(ValueError, match="repr_dim differ"):
        merge_results([rooms, expert])
    expert.repr_dim -= 1
    expert.config["seed"] = 7
    with pytest.raises(ValueError, match="seed differ"):
        merge_results([rooms, expert])
    with pytest.raises(ValueError, match="at least two"):
        merge_results([rooms])

    repeated = tmp_path / "repeated.json"
    payload = json.loads((reports["expert"] / "probe_results.json").read_text())
    repeated.write_text(json.dumps({**payload, "repeats": {}}))
    with pytest.raises(ValueError, match="several prober seeds"):
        read_result(repeated)
    (tmp_path / "junk.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="not a jepa probe report"):
        read_result(tmp_path / "junk.json")
    with pytest.raises(FileNotFoundError, match="no such report"):
        read_result(tmp_path / "missing")
