"""``scripts/planning_benchmark.sh``: four rows, one folder each, and a rerun skips finished rows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "planning_benchmark.sh"
TINY = ["--planner.samples", "4", "--planner.horizon", "6", "--references", "false"]


def run(out: Path) -> str:
    env = {
        **os.environ,
        "EPISODES": "1",
        "OMP_NUM_THREADS": "1",
        # the `jepa` of this interpreter's environment, whatever is active in the shell
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    done = subprocess.run(
        ["bash", str(SCRIPT), str(out), *TINY],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.slow
def test_the_benchmark_script_runs_every_row_once(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    first = run(out)
    rows = [f"{m}-{lay}" for m in ("compact", "generic") for lay in ("seen", "unseen")]
    for row in rows:
        summary = json.loads((out / row / "summary.json").read_text())
        settings = summary["model"]["settings"]
        assert settings["episodes"] == 1 and settings["layouts"] == row.split("-")[1]
        assert settings["device"].startswith(("cpu", "cuda", "mps"))
        assert "model" in (out / f"{row}.log").read_text()
    assert first.count("1 episodes ->") == 4
    second = run(out)
    assert second.count("done already") == 4 and "episodes ->" not in second
    # A row that died while writing (files there, no summary.json yet) is run again.
    (out / "generic-unseen" / "summary.json").unlink()
    third = run(out)
    assert third.count("done already") == 3 and "[generic, unseen] 1 episodes ->" in third
    assert (out / "generic-unseen" / "summary.json").is_file()


def test_the_script_without_an_output_folder_says_how_to_call_it() -> None:
    done = subprocess.run(["bash", str(SCRIPT)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2 and "usage: bash scripts/planning_benchmark.sh OUT" in done.stderr
