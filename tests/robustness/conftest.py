"""Shared fixtures: one tiny generated data set, its config, and runs confined to a temporary directory."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from helpers import tiny_data_set
from robustness_helpers import write_config


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """24 training trajectories of 17 frames (float32) and 8 per probe split: 40 MB, 1 s."""
    return tiny_data_set(
        tmp_path_factory.mktemp("robustness") / "tiny",
        train_size=24,
        probe_train_size=8,
        probe_val_size=8,
        wall_size=8,
        wall_other_size=8,
        expert_train_size=8,
        expert_val_size=8,
        expert_steps=17,
        dtype="float32",
    )


@pytest.fixture(scope="session")
def tiny_config(tiny_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ``jepa fit`` config of a small model reading :func:`tiny_data` (2 epochs of 33 steps)."""
    return write_config(tmp_path_factory.mktemp("config") / "tiny.yaml", tiny_data)


@pytest.fixture(scope="session", autouse=True)
def one_thread() -> Iterator[None]:
    """One intra-op thread: on a shared 2-core machine, more threads only wait on each other, and
    the kill tests' child processes use one too (bitwise comparisons need the same arithmetic)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def in_scratch_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs write ``runs/`` under the test's own directory; pytest's arguments never reach the CLI."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["jepa"])


@pytest.fixture(scope="session")
def trained_checkpoint(tiny_config: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``last.ckpt`` of a 4-step ``jepa fit`` run of the tiny model."""
    from jepa_world import cli

    runs = tmp_path_factory.mktemp("trained") / "runs"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "argv", ["jepa"])
        cli.run_lightning(
            [
                "fit",
                "--config",
                str(tiny_config),
                "--trainer.max_steps",
                "4",
                "--trainer.logger.init_args.save_dir",
                str(runs),
            ]
        )
    return runs / "tiny" / "version_0" / "checkpoints" / "last.ckpt"


@pytest.fixture(scope="session")
def trained_weights(trained_checkpoint: Path) -> Path:
    """``model_weights.pth`` exported from :func:`trained_checkpoint`."""
    from jepa_world import cli

    out = trained_checkpoint.parent / "model_weights.pth"
    cli.main(["export", str(trained_checkpoint), "--out", str(out)])
    return out
