"""Gradient planning: Adam on the action sequence, through the differentiable world model."""

from __future__ import annotations

import torch
from torch import Tensor

from jepa_world.planning.base import CostFn, Planner, check_init, clip_actions


class GradientPlanner(Planner):
    """Minimise the cost by gradient descent on the actions themselves (the model is frozen).

    ``restarts`` plans are optimised side by side: the warm start and ``restarts - 1`` copies of
    it perturbed by ``init_std`` noise; the cheapest at the end is returned. Actions are clipped
    (differentiably) before every evaluation, so the optimiser works on unconstrained
    parameters and the cost always sees legal actions.

    Args:
        horizon: Actions per plan.
        steps: Adam steps per call.
        lr: Adam learning rate, pixels per step.
        restarts: Plans optimised in parallel per episode.
        init_std: Noise on the warm start of every restart but the first, pixels.

    Example:
        >>> planner = GradientPlanner(horizon=4, steps=100, lr=0.1)
        >>> target = torch.tensor([1.0, -0.5])
        >>> cost = lambda a: (a - target).pow(2).sum(dim=(-1, -2))
        >>> plan = planner.optimise(cost, torch.zeros(1, 4, 2), 2.45, torch.Generator().manual_seed(0))
        >>> bool((plan - target).abs().max() < 0.05)
        True
    """

    def __init__(
        self,
        horizon: int = 80,
        steps: int = 10,
        lr: float = 0.3,
        restarts: int = 8,
        init_std: float = 1.0,
    ) -> None:
        super().__init__(horizon)
        name = type(self).__name__
        if steps < 1 or restarts < 1:
            raise ValueError(f"{name}: steps and restarts must be >= 1, got {steps}, {restarts}")
        if not lr > 0 or not init_std >= 0:
            raise ValueError(f"{name}: expected lr > 0 and init_std >= 0, got {lr}, {init_std}")
        self.steps = steps
        self.lr = float(lr)
        self.restarts = restarts
        self.init_std = float(init_std)

    def optimise(
        self, cost: CostFn, init: Tensor, max_norm: float, generator: torch.Generator
    ) -> Tensor:
        check_init(type(self).__name__, init, self.horizon)
        b, h, _ = init.shape
        noise = torch.randn(b, self.restarts, h, 2, generator=generator, device=init.device)
        noise[:, 0] = 0.0
        params = (clip_actions(init, max_norm)[:, None] + self.init_std * noise).requires_grad_(
            True
        )
        optimiser = torch.optim.Adam([params], lr=self.lr)
        with torch.enable_grad():
            for _ in range(self.steps):
                optimiser.zero_grad(set_to_none=True)
                cost(clip_actions(params, max_norm)).sum().backward()
                optimiser.step()
        with torch.no_grad():
            plans = clip_actions(params.detach(), max_norm)
            best = cost(plans).argmin(dim=1)
            return plans[torch.arange(b, device=init.device), best]
