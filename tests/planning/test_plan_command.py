"""``jepa plan`` end to end through its ``main(argv)``, and its one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from jepa_world.devices import describe_device, resolve_device
from jepa_world.planning import load_episodes, replay
from jepa_world.planning.cli import expand_planner_names, main

#: Small settings that keep a CI run to seconds; the benchmark settings are the defaults.
SMALL = [
    "--planner",
    "mppi",
    "--planner.samples",
    "48",
    "--planner.horizon",
    "50",
    "--replan_every",
    "10",
    "--figure_episodes",
    "2",
]


@pytest.mark.slow
def test_plan_on_the_released_model_beats_the_random_floor(weights, tmp_path, capsys) -> None:
    out = tmp_path / "plans"
    assert (
        main(["--ckpt", str(weights), "--episodes", "6", "--seed", "11", "--out", str(out), *SMALL])
        == 0
    )
    printed = capsys.readouterr().out
    assert "model" in printed and "random" in printed and "simulator" in printed
    summary = json.loads((out / "summary.json").read_text())
    model, floor = summary["model"]["summary"], summary["random"]["summary"]
    assert model["final"]["success"] >= 0.5 > floor["final"]["success"]
    assert model["final_distance"] < floor["final_distance"]
    for name in (
        "model.npz",
        "model.json",
        "random.npz",
        "simulator.npz",
        "episodes.png",
        "success_curve.png",
    ):
        assert (out / name).is_file(), name
    record = load_episodes(out / "model")
    assert np.array_equal(replay(record), record.positions)
    assert record.settings["seed"] == 11 and record.settings["planner"]["class_path"].endswith(
        "MPPI"
    )
    assert np.linalg.norm(record.actions, axis=-1).max() <= 2.45 + 1e-5


def test_out_dir_with_files_is_refused_unless_overwrite(weights, tmp_path, capsys) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(SystemExit, match="already holds files"):
        main(["--ckpt", str(weights), "--episodes", "1", "--out", str(tmp_path)])
    argv = [
        "--ckpt",
        str(weights),
        "--episodes",
        "1",
        "--out",
        str(tmp_path),
        "--overwrite",
        "true",
        "--references",
        "false",
        "--planner.samples",
        "8",
        "--planner.horizon",
        "10",
    ]
    assert main(argv) == 0
    assert (tmp_path / "notes.txt").read_text() == "mine"  # never touched
    assert "jepa plan [model]: 100 % done" in capsys.readouterr().err  # progress lines for logs
    assert (tmp_path / "model.npz").is_file()
    settings = json.loads((tmp_path / "summary.json").read_text())["model"]["settings"]
    assert settings["device"] == describe_device(resolve_device("auto"))  # timings say where


def test_unknown_planner_zero_episodes_and_bad_files_are_one_line_errors(weights, tmp_path) -> None:
    with pytest.raises(SystemExit, match="unknown planner 'simplex'"):
        main(["--ckpt", str(weights), "--planner", "simplex"])
    with pytest.raises(SystemExit, match="--episodes must be at least 1, got 0"):
        main(["--ckpt", str(weights), "--episodes", "0"])
    with pytest.raises(SystemExit, match="no such checkpoint"):
        main(["--ckpt", str(tmp_path / "missing.pth")])
    bare = tmp_path / "state_dict.pth"
    torch.save({"w": torch.zeros(2)}, bare)
    with pytest.raises(SystemExit, match="state_dict.pth"):
        main(["--ckpt", str(bare)])
    with pytest.raises(SystemExit, match="jepa plan: device 'tpu': not a torch device"):
        main(["--ckpt", str(weights), "--device", "tpu"])


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without a GPU")
def test_asking_for_a_gpu_without_one_is_a_one_line_error(weights) -> None:
    with pytest.raises(SystemExit, match="jepa plan: device 'cuda': torch sees no CUDA GPU"):
        main(["--ckpt", str(weights), "--device", "cuda", "--episodes", "1"])


def test_planner_short_names_expand_to_class_paths() -> None:
    assert expand_planner_names(["--planner", "CEM"])[1] == "jepa_world.planning.cem.CEM"
    assert expand_planner_names(["--planner=gradient"]) == [
        "--planner=jepa_world.planning.gradient.GradientPlanner"
    ]
    assert expand_planner_names(["--planner", "my.pkg.Planner"])[1] == "my.pkg.Planner"


@pytest.mark.parametrize("name", ["mppi", "cem", "gradient"])
def test_planner_configs_parse(name: str) -> None:
    from pathlib import Path

    from jepa_world.planning.cli import build_parser

    path = Path(__file__).resolve().parents[2] / "configs" / "planning" / f"{name}.yaml"
    config = build_parser().parse_args(["--config", str(path), "--ckpt", "model_weights.pth"])
    assert config.planner.class_path.rpartition(".")[2].lower().startswith(name[:3])
    # The last-step cost was measured better for MPPI only; CEM and gradient keep "weighted".
    expected_cost = "last" if name == "mppi" else "weighted"
    assert config.planner.init_args.horizon == 80 and config.cost == expected_cost


def test_defaults_are_the_mppi_config() -> None:
    """`jepa plan` on defaults runs the benchmark recipe that configs/planning/mppi.yaml spells out."""
    from pathlib import Path

    from jepa_world.planning.cli import build_parser

    path = Path(__file__).resolve().parents[2] / "configs" / "planning" / "mppi.yaml"
    parser = build_parser()
    spelled = parser.parse_args(["--config", str(path), "--ckpt", "model_weights.pth"])
    default = parser.parse_args(["--ckpt", "model_weights.pth"])
    for key in ("cost", "distance", "replan_every", "plan_norm"):
        assert default[key] == spelled[key], key
    built = parser.instantiate_classes(default).planner
    assert built.settings() == parser.instantiate_classes(spelled).planner.settings()
