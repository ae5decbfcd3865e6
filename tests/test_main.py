"""The course-compatible entry points at the top of the repository: main.py and evaluator.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from helpers import tiny_data_set

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_data_set(
        tmp_path_factory.mktemp("main") / "data", seed=1, train_size=8, expert_steps=33
    )


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from jepa_world.models import ConvEncoder, MLPPredictor, WorldModel, save_world_model

    torch.manual_seed(0)
    model = WorldModel(ConvEncoder(repr_dim=32), MLPPredictor(repr_dim=32, hidden_dim=32))
    return save_world_model(model, tmp_path_factory.mktemp("weights") / "model_weights.pth")


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args, "--no-progress"],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_main_prints_the_course_lines(tiny_data: Path, weights: Path) -> None:
    done = _run("--weights", str(weights), env={"JEPA_DATA_DIR": str(tiny_data)})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert [line.split(" loss: ")[0] for line in lines] == [
        "normal",
        "wall",
        "wall_other",
        "expert",
    ]
    assert all(float(line.split(" loss: ")[1]) > 0 for line in lines)


def test_main_in_process_with_flags(
    tiny_data: Path, weights: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sys.path.insert(0, str(ROOT))
    try:
        import main
    finally:
        sys.path.remove(str(ROOT))
    losses = main.main(["--data", str(tiny_data), "--weights", str(weights), "--no-progress"])
    printed = capsys.readouterr().out.splitlines()
    assert printed == [f"{name} loss: {value}" for name, value in losses.items()]


def test_main_explains_a_missing_weights_file(tiny_data: Path, tmp_path: Path) -> None:
    done = _run("--data", str(tiny_data), "--weights", str(tmp_path / "none.pth"))
    assert done.returncode == 1
    assert "none.pth: no such checkpoint" in done.stderr
    assert "Traceback" not in done.stderr


def test_main_explains_a_missing_data_directory(weights: Path, tmp_path: Path) -> None:
    done = _run("--data", str(tmp_path / "nodata"), "--weights", str(weights))
    assert done.returncode == 1
    assert "data directory not found" in done.stderr and "jepa data generate" in done.stderr


def test_evaluator_shim_exposes_the_course_names() -> None:
    sys.path.insert(0, str(ROOT))
    try:
        import evaluator
    finally:
        sys.path.remove(str(ROOT))
    from jepa_world.probing import course as implementation

    assert evaluator.ProbingEvaluator is implementation.ProbingEvaluator
    for name in ("Prober", "ProbingConfig", "location_losses", "Normalizer", "MockModel"):
        assert hasattr(evaluator, name), name


def test_main_explains_a_broken_split(tiny_data: Path, weights: Path, tmp_path: Path) -> None:
    broken = tmp_path / "data"
    broken.mkdir()
    for name in ("probe_normal", "probe_wall", "probe_wall_other", "probe_expert"):
        (broken / name).symlink_to(tiny_data / name)
    (broken / "probe_normal").unlink()
    (broken / "probe_normal" / "train").mkdir(parents=True)
    (broken / "probe_normal" / "val").symlink_to(tiny_data / "probe_normal" / "val")
    (broken / "probe_normal" / "train" / "states.npy").write_bytes(b"not an array")
    done = _run("--data", str(broken), "--weights", str(weights))
    assert done.returncode == 1
    assert "states.npy" in done.stderr and "Traceback" not in done.stderr
