"""Shared fixtures: one tiny generated data set, its config, and runs confined to a temporary directory."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from robustness_helpers import write_config

from jepa_world.data.generate import generate_dataset


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """24 training trajectories of 17 frames (float32) and 8 per probe split: 40 MB, 1 s."""
    out = tmp_path_factory.mktemp("robustness") / "tiny"
    return generate_dataset(
        str(out), preset="tiny", seed=0, train_size=24, probe_train_size=8, probe_val_size=8,
        wall_size=8, wall_other_size=8, expert_train_size=8, expert_val_size=8, expert_steps=17,
        dtype="float32", progress=False,
    )  # fmt: skip


@pytest.fixture(scope="session")
def tiny_config(tiny_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ``jepa fit`` config of a small model reading :func:`tiny_data` (2 epochs of 33 steps)."""
    return write_config(tmp_path_factory.mktemp("config") / "tiny.yaml", tiny_data)


@pytest.fixture(autouse=True)
def in_scratch_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs write ``runs/`` under the test's own directory; pytest's arguments never reach the CLI."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["jepa"])
