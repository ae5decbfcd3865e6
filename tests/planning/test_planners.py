"""Each planner finds the minimum of a known toy cost, within the action limit, reproducibly."""

from __future__ import annotations

import pytest
import torch

from jepa_world.planning import CEM, MPPI, GradientPlanner, Planner, RandomActions, clip_actions

TARGET = torch.tensor([[1.0, -0.5], [0.3, 0.8]])  # one optimum per episode (B = 2)


def quadratic(actions: torch.Tensor) -> torch.Tensor:
    """Squared distance of every action to its episode's target action: (B, S, H, 2) -> (B, S)."""
    return (actions - TARGET[:, None, None]).pow(2).sum(dim=(-1, -2))


PLANNERS = {
    "mppi": lambda: MPPI(
        horizon=5, samples=128, iterations=15, noise_std=0.5, knots=5, explore=0.1
    ),
    "cem": lambda: CEM(horizon=5, samples=128, elites=10, iterations=15, knots=5),
    "gradient": lambda: GradientPlanner(horizon=5, steps=150, lr=0.05, restarts=2),
}


@pytest.mark.parametrize("name", sorted(PLANNERS))
def test_planner_finds_the_minimum_of_a_quadratic(name: str) -> None:
    planner: Planner = PLANNERS[name]()
    plan = planner.optimise(quadratic, torch.zeros(2, 5, 2), 2.45, torch.Generator().manual_seed(0))
    assert plan.shape == (2, 5, 2)
    # Sampling planners average noisy candidates; gradient descent converges exactly.
    tolerance = {"mppi": 0.15, "cem": 0.15, "gradient": 0.05}[name]
    assert (plan - TARGET[:, None]).abs().max() < tolerance


@pytest.mark.parametrize("name", sorted(PLANNERS))
def test_planner_respects_the_action_limit(name: str) -> None:
    """The optimum lies outside the disc: the plan ends on its edge, never beyond."""
    far = torch.tensor([3.0, 4.0])  # norm 5

    def cost(actions: torch.Tensor) -> torch.Tensor:
        return (actions - far).pow(2).sum(dim=(-1, -2))

    plan = PLANNERS[name]().optimise(
        cost, torch.zeros(1, 5, 2), 1.5, torch.Generator().manual_seed(1)
    )
    norms = plan.norm(dim=-1)
    assert norms.max() <= 1.5 + 1e-5
    assert norms.min() > 1.4  # pushed to the edge, towards the optimum
    cosine = (plan / norms[..., None] * far / 5).sum(dim=-1)
    assert cosine.min() > 0.9


@pytest.mark.parametrize("name", sorted(PLANNERS))
def test_planner_is_reproducible_with_its_generator(name: str) -> None:
    runs = [
        PLANNERS[name]().optimise(
            quadratic, torch.zeros(2, 5, 2), 2.45, torch.Generator().manual_seed(7)
        )
        for _ in range(2)
    ]
    assert torch.equal(runs[0], runs[1])


def test_mppi_never_returns_a_worse_plan_than_its_warm_start() -> None:
    start = TARGET[:, None].expand(2, 5, 2).clone()  # already optimal
    plan = MPPI(horizon=5, samples=16, iterations=1, noise_std=2.0).optimise(
        quadratic, start, 2.45, torch.Generator().manual_seed(0)
    )
    assert quadratic(plan[:, None]).max() <= quadratic(start[:, None]).max() + 1e-6


def test_random_actions_are_inside_the_disc_and_ignore_the_cost() -> None:
    plan = RandomActions(horizon=500).optimise(
        quadratic, torch.zeros(2, 500, 2), 2.45, torch.Generator().manual_seed(0)
    )
    norms = plan.norm(dim=-1)
    assert norms.max() <= 2.45 + 1e-6 and norms.mean() > 1.3  # uniform in the disc: mean 2/3 r


def test_clip_actions_scales_only_long_actions() -> None:
    actions = torch.tensor([[3.0, 4.0], [0.3, 0.4], [0.0, 0.0]])
    clipped = clip_actions(actions, 2.45)
    assert torch.allclose(clipped[0], torch.tensor([3.0, 4.0]) * 2.45 / 5)
    assert torch.equal(clipped[1:], actions[1:])
    with pytest.raises(ValueError, match="max_norm"):
        clip_actions(actions, 0.0)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: MPPI(samples=1), "samples"),
        (lambda: MPPI(explore=1.0), "explore"),
        (lambda: CEM(samples=8, elites=8), "elites"),
        (lambda: GradientPlanner(lr=0.0), "lr"),
        (lambda: RandomActions(horizon=0), "horizon"),
    ],
)
def test_bad_planner_settings_name_the_culprit(make, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make()


def test_wrong_initial_plan_shape_is_refused() -> None:
    with pytest.raises(ValueError, match=r"\(B, 5, 2\)"):
        MPPI(horizon=5).optimise(quadratic, torch.zeros(2, 4, 2), 2.45, torch.Generator())
