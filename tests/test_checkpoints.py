"""Opening checkpoints and weights files: clear errors for what cannot be loaded.

The security side (files crafted to run code) is in tests/robustness/test_untrusted_files.py.
"""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import torch
from torch import nn

from jepa_world.checkpoints import CheckpointError, load_model
from jepa_world.models import ConvEncoder, MLPPredictor, WorldModel


@pytest.fixture
def small_world_model() -> nn.Module:
    torch.manual_seed(0)
    return WorldModel(
        ConvEncoder(repr_dim=16, wall_dim=4, agent_channels=[4, 8], wall_channels=[2, 4]),
        MLPPredictor(repr_dim=16, hidden_dim=16),
    )


def test_bad_checkpoints_get_clear_errors(tmp_path: Path, small_world_model: nn.Module) -> None:
    from jepa_world.models import save_world_model

    with pytest.raises(FileNotFoundError, match="no such checkpoint"):
        load_model(tmp_path / "missing.ckpt")
    good = save_world_model(small_world_model, tmp_path / "good.pth").read_bytes()
    (tmp_path / "truncated.pth").write_bytes(good[: len(good) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        load_model(tmp_path / "truncated.pth")
    (tmp_path / "truncated.ckpt").write_bytes(good[: len(good) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        load_model(tmp_path / "truncated.ckpt")
    torch.save({"weight": torch.zeros(2)}, tmp_path / "foreign.pth")
    with pytest.raises(CheckpointError, match="not a jepa-world weights file"):
        load_model(tmp_path / "foreign.pth")
    torch.save({"weight": torch.zeros(2)}, tmp_path / "foreign.ckpt")
    with pytest.raises(CheckpointError, match="not a Lightning checkpoint"):
        load_model(tmp_path / "foreign.ckpt")
    torch.save({"state_dict": {"net.weight": torch.zeros(2)}}, tmp_path / "other.ckpt")
    with pytest.raises(CheckpointError, match="not of JEPAModule"):
        load_model(tmp_path / "other.ckpt")


def test_checkpoint_of_a_module_built_in_python_explains_itself(tmp_path: Path) -> None:
    from jepa_world.models import ConvEncoder, MLPPredictor
    from jepa_world.module import JEPAModule
    from jepa_world.strategies import VICReg

    module = JEPAModule(
        ConvEncoder(repr_dim=32), MLPPredictor(repr_dim=32, hidden_dim=32), VICReg()
    )
    trainer = L.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False)
    trainer.strategy.connect(module)
    trainer.save_checkpoint(tmp_path / "python.ckpt")
    with pytest.raises(CheckpointError, match="does not record how to build"):
        load_model(tmp_path / "python.ckpt")
