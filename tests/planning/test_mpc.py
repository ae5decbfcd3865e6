"""The receding-horizon loop: clipping, replay, the model left as it was, easy goals reached."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from jepa_world.env.physics import simulate
from jepa_world.planning import (
    MPPI,
    Episodes,
    GradientPlanner,
    MPCSettings,
    RandomActions,
    plan_episode,
    plan_episodes,
    representation_cost,
    simulator_model,
    step_weights,
)
from jepa_world.planning.base import CPU_CODE_BUDGET, candidate_chunk
from jepa_world.planning.mpc import frames_at


def same_room(n: int) -> Episodes:
    """Start and goal 10 px apart in the left room of a wall at column 40: no door needed."""
    rng = np.random.default_rng(0)
    start = np.stack([rng.uniform(8, 20, n), rng.uniform(10, 50, n)], 1).astype(np.float32)
    goal = (start + np.array([10.0, 3.0])).astype(np.float32)
    return Episodes(np.full(n, 40), np.full(n, 30), start, goal)


def test_step_weights() -> None:
    assert step_weights(4, "sum").tolist() == [1, 1, 1, 1]
    assert step_weights(4, "last").tolist() == [0, 0, 0, 1]
    w = step_weights(4, "weighted")
    assert torch.isclose(w[-1], torch.tensor(1.025)) and torch.isclose(w[0], torch.tensor(0.025))
    with pytest.raises(ValueError, match="unknown cost mode"):
        step_weights(4, "max")  # type: ignore[arg-type]


def test_representation_cost_with_the_simulator_is_the_distance_in_pixels() -> None:
    e = same_room(1)
    model = simulator_model()
    z0 = model.encoder(frames_at(e.start, e))
    zg = model.encoder(frames_at(e.goal, e))
    towards = torch.tensor([10.0, 3.0]) / 4
    actions = towards.expand(1, 1, 4, 2)  # four steps that land on the goal
    last = representation_cost(model, z0, zg, "last")(actions)
    assert last.shape == (1, 1) and last.item() < 1e-2
    summed = representation_cost(model, z0, zg, "sum")(actions).item()
    d = float(np.hypot(10, 3))
    assert abs(summed - d * (0.75 + 0.5 + 0.25)) < 1e-2


def test_executed_actions_are_clipped_and_replay_to_the_recorded_positions() -> None:
    e = same_room(6)
    settings = MPCSettings(steps=20, replan_every=4, plan_norm=None)
    result = plan_episodes(simulator_model(), e, RandomActions(horizon=8), settings, seed=0)
    assert result.actions.shape == (6, 20, 2) and result.positions.shape == (6, 21, 2)
    assert np.linalg.norm(result.actions, axis=-1).max() <= 2.45 + 1e-5
    assert np.array_equal(simulate(e.start, result.actions, e.wall_x, e.door_y), result.positions)


def test_mppi_on_the_simulator_reaches_goals_in_the_same_room() -> None:
    e = same_room(8)
    settings = MPCSettings(steps=20, replan_every=5)
    result = plan_episodes(simulator_model(), e, MPPI(horizon=12, samples=32), settings, seed=0)
    final = np.linalg.norm(result.positions[:, -1] - e.goal, axis=-1)
    assert final.max() < 1.0
    assert np.linalg.norm(result.actions, axis=-1).max() <= 1.8 + 1e-5  # plan_norm


def test_progress_is_told_every_replan_across_batches() -> None:
    calls: list[tuple[int, int]] = []
    settings = MPCSettings(steps=20, replan_every=8, batch_size=2)
    plan_episodes(
        simulator_model(),
        same_room(5),
        RandomActions(horizon=8),
        settings,
        seed=0,
        progress=lambda done, total: calls.append((done, total)),
    )
    # Three batches (2, 2, 1 episodes), three replans each (8 + 8 + 4 steps).
    assert len(calls) == 9 and {total for _, total in calls} == {100}
    assert [done for done, _ in calls] == [16, 32, 40, 56, 72, 80, 88, 96, 100]


def test_plan_episode_runs_one_episode() -> None:
    result = plan_episode(
        simulator_model(),
        np.array([10.0, 20.0]),
        np.array([20.0, 20.0]),
        40,
        30,
        MPPI(horizon=10, samples=16),
        MPCSettings(steps=12, replan_every=6),
    )
    assert result.positions.shape == (1, 13, 2)
    assert abs(result.positions[0, -1, 0] - 20.0) < 1.5


def test_the_model_is_left_as_it_was(weights) -> None:
    from jepa_world.models import load_world_model

    model = load_world_model(weights).train()
    flags = [p.requires_grad for p in model.parameters()]
    e = same_room(2)
    plan_episodes(
        model,
        e,
        GradientPlanner(horizon=4, steps=2, restarts=2),
        MPCSettings(steps=4, replan_every=2),
    )
    assert model.training
    assert [p.requires_grad for p in model.parameters()] == flags
    assert all(p.grad is None for p in model.parameters())


def test_bad_inputs_name_the_culprit() -> None:
    with pytest.raises(TypeError, match="expected a world model"):
        plan_episodes(torch.nn.Linear(2, 2), same_room(1), MPPI())
    with pytest.raises(ValueError, match="plan_norm"):
        MPCSettings(plan_norm=3.0)
    with pytest.raises(ValueError, match="unknown cost"):
        MPCSettings(cost="max")  # type: ignore[arg-type]


class LargestBatch(torch.nn.Module):
    """Wraps a predictor and records the largest batch it was called with."""

    def __init__(self, predictor: torch.nn.Module) -> None:
        super().__init__()
        self.inner = predictor
        self.largest = 0

    def forward(self, z: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        self.largest = max(self.largest, len(z))
        return self.inner(z, action)


@pytest.mark.parametrize("chunk", [1, 5, 13, 14, 1000])
def test_candidates_unrolled_a_slice_at_a_time_cost_the_same(chunk: int) -> None:
    e = same_room(2)
    model = simulator_model()
    z0 = model.encoder(frames_at(e.start, e))
    zg = model.encoder(frames_at(e.goal, e))
    actions = torch.randn(2, 7, 6, 2, generator=torch.Generator().manual_seed(0))
    whole = representation_cost(model, z0, zg, "weighted")(actions)
    model.predictor = LargestBatch(model.predictor)
    sliced = representation_cost(model, z0, zg, "weighted", chunk=chunk)(actions)
    assert torch.equal(sliced, whole)
    # A slice holds every episode and at least one sample, so 2 is the least.
    assert model.predictor.largest == min(14, max(2, chunk - chunk % 2))


def test_the_automatic_chunk_depends_on_the_code_size_on_a_cpu_only() -> None:
    cpu, gpu = torch.device("cpu"), torch.device("cuda")
    assert (
        candidate_chunk(None, 130, cpu) == CPU_CODE_BUDGET // 130 > 200 * 128
    )  # compact: one call
    assert candidate_chunk(None, 9801, cpu) == CPU_CODE_BUDGET // 9801 < 512  # generic: sliced
    assert candidate_chunk(None, 9801, gpu) is None
    assert candidate_chunk(64, 9801, gpu) == 64
    assert candidate_chunk(0, 9801, cpu) is None
    with pytest.raises(ValueError, match="candidate_chunk"):
        candidate_chunk(-1, 10, cpu)
    with pytest.raises(ValueError, match="candidate_chunk"):
        MPCSettings(candidate_chunk=-1)


def test_the_loop_caps_the_predictor_batch_and_plans_the_same() -> None:
    e = same_room(3)
    runs = {}
    for chunk in (0, 8):
        model = simulator_model()
        model.predictor = LargestBatch(model.predictor)
        settings = MPCSettings(steps=10, replan_every=5, candidate_chunk=chunk)
        runs[chunk] = plan_episodes(model, e, MPPI(horizon=8, samples=16), settings, seed=0)
        assert model.predictor.largest == (48 if chunk == 0 else 6)
    assert np.array_equal(runs[0].actions, runs[8].actions)


def test_a_model_on_another_device_than_asked_is_one_clear_error() -> None:
    # "meta" stands in for a GPU: a device the model is not on, available on every machine.
    with pytest.raises(
        ValueError, match=r"world model is on cpu but planning was asked to run on meta"
    ):
        plan_episodes(simulator_model(), same_room(1), MPPI(horizon=4, samples=4), device="meta")


def test_plan_episode_takes_the_device_too() -> None:
    e = same_room(1)
    args = (e.start[0], e.goal[0], int(e.wall_x[0]), int(e.door_y[0]), MPPI(horizon=8, samples=16))
    settings = MPCSettings(steps=10, replan_every=5)
    on_cpu = plan_episode(simulator_model(), *args, settings=settings, seed=0, device="cpu")
    default = plan_episode(simulator_model(), *args, settings=settings, seed=0)
    assert np.array_equal(on_cpu.actions, default.actions)
