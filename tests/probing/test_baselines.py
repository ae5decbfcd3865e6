"""The reference models: noise (ceiling) and the simulator itself (floor)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from jepa_world.data.files import open_split
from jepa_world.env import render
from jepa_world.probing.baselines import MockModel, OracleModel, positions_from_frames
from jepa_world.probing.prober import normalise_locations


def test_positions_are_read_off_the_agent_channel_to_a_micro_pixel() -> None:
    rng = np.random.default_rng(0)
    # Near the borders too, where a plain centroid is pulled inwards.
    xy = np.concatenate([rng.uniform(4.01, 59.99, (200, 2)), [[4.01, 4.01], [59.99, 30.0]]])
    frames = render(xy[:, None], np.full(len(xy), 30), np.full(len(xy), 30))[:, 0]
    assert np.abs(positions_from_frames(frames[:, 0]) - xy).max() < 1e-4


def test_position_reader_rejects_an_empty_channel() -> None:
    with pytest.raises(ValueError, match="no Gaussian blob"):
        positions_from_frames(np.zeros((1, 65, 65), dtype=np.float32))


@pytest.mark.parametrize("split", ["probe_normal/val", "probe_wall/val", "probe_expert/val"])
def test_oracle_reproduces_the_recorded_locations(probe_data: Path, split: str) -> None:
    data = open_split(probe_data / split, need_locations=True)
    states = torch.from_numpy(data.states[:, :1])
    actions = torch.from_numpy(data.actions[:])
    oracle = OracleModel(repr_dim=6)
    located = oracle.locations(states, actions)
    assert torch.allclose(located, torch.from_numpy(data.locations[:]), atol=1e-4)
    reps = oracle(states, actions)
    assert reps.shape == (len(data), data.steps, 6)
    assert torch.allclose(reps[..., 4:], normalise_locations(located))


def test_oracle_needs_an_even_size() -> None:
    with pytest.raises(ValueError, match="even"):
        OracleModel(repr_dim=3)


def test_mock_model_honours_the_contract_and_is_seeded() -> None:
    states, actions = torch.zeros(5, 1, 2, 65, 65), torch.zeros(5, 16, 2)
    out = MockModel(repr_dim=32, seed=3)(states, actions)
    assert out.shape == (5, 17, 32) and out.device == states.device
    assert torch.equal(out, MockModel(repr_dim=32, seed=3)(states, actions))
    assert sum(p.numel() for p in MockModel().parameters()) == 0


@pytest.mark.slow
def test_a_briefly_trained_model_scores_between_the_oracle_and_the_mock(probe_data: Path) -> None:
    from jepa_world.models import ConvEncoder, MLPPredictor
    from jepa_world.module import JEPAModule
    from jepa_world.probing.evaluator import evaluate
    from jepa_world.strategies import VICReg

    torch.manual_seed(0)
    module = JEPAModule(
        ConvEncoder(repr_dim=32), MLPPredictor(repr_dim=32, hidden_dim=64), VICReg()
    )
    train = open_split(probe_data / "train")
    states, actions = torch.from_numpy(train.states[:, :9]), torch.from_numpy(train.actions[:, :8])
    optimizer = torch.optim.AdamW(module.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(0)
    for _ in range(30):
        index = torch.randint(0, len(states), (16,), generator=g)
        out, _ = module.compute_loss({"states": states[index], "actions": actions[index]})
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
    # 100 prober epochs: the default 20 give 256 trajectories too few steps to fit anything.
    scores = {
        name: evaluate(model, probe_data, sets=("normal",), epochs=100, progress=False).losses[
            "normal"
        ]
        for name, model in (
            ("oracle", OracleModel()),
            ("trained", module.world_model),
            ("mock", MockModel()),
        )
    }
    assert scores["oracle"] < 1.0 < scores["trained"] < 0.9 * scores["mock"], scores
