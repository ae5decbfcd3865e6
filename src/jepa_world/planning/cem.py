"""The cross-entropy method (CEM): refit a Gaussian over plans to the best-scoring candidates.

Rubinstein, "The cross-entropy method for combinatorial and continuous optimization", 1999;
as a planner for learned models: Chua et al., PETS, NeurIPS 2018.
"""

from __future__ import annotations

import torch
from torch import Tensor

from jepa_world.planning.base import CostFn, Planner, check_init, clip_actions, smooth_noise


class CEM(Planner):
    """Sample plans from a diagonal Gaussian, keep the ``elites`` cheapest, refit, repeat.

    The Gaussian starts at the warm-start plan with standard deviation ``init_std``; its mean
    and deviation are moved towards the elites' by ``1 - momentum`` each iteration, and the
    deviation never falls below ``min_std``. The best candidate seen is returned.

    Args:
        horizon: Actions per plan.
        samples: Candidates per plan and iteration.
        elites: Candidates kept to refit the Gaussian.
        iterations: Refits per call.
        init_std: Initial standard deviation of each action coordinate, pixels.
        min_std: Floor of the standard deviation.
        momentum: Weight of the old mean and deviation in each refit.
        knots: Independent noise points along the horizon (see
            :func:`~jepa_world.planning.base.smooth_noise`).

    Example:
        >>> planner = CEM(horizon=4, samples=64, elites=8, iterations=8)
        >>> target = torch.tensor([1.0, -0.5])
        >>> cost = lambda a: (a - target).pow(2).sum(dim=(-1, -2))
        >>> plan = planner.optimise(cost, torch.zeros(1, 4, 2), 2.45, torch.Generator().manual_seed(0))
        >>> bool((plan - target).abs().max() < 0.3)
        True
    """

    def __init__(
        self,
        horizon: int = 80,
        samples: int = 128,
        elites: int = 12,
        iterations: int = 2,
        init_std: float = 1.5,
        min_std: float = 0.05,
        momentum: float = 0.1,
        knots: int = 4,
    ) -> None:
        super().__init__(horizon)
        name = type(self).__name__
        if not 1 <= elites < samples:
            raise ValueError(
                f"{name}: expected 1 <= elites < samples, got elites={elites}, samples={samples}"
            )
        if iterations < 1:
            raise ValueError(f"{name}: iterations must be >= 1, got {iterations}")
        if not init_std > 0 or not min_std >= 0 or not 0 <= momentum < 1:
            raise ValueError(
                f"{name}: expected init_std > 0, min_std >= 0, 0 <= momentum < 1, got "
                f"{init_std}, {min_std}, {momentum}"
            )
        if knots < 2:
            raise ValueError(f"{name}: knots must be >= 2, got {knots}")
        self.samples = samples
        self.elites = elites
        self.iterations = iterations
        self.init_std = float(init_std)
        self.min_std = float(min_std)
        self.momentum = float(momentum)
        self.knots = knots

    @torch.no_grad()
    def optimise(
        self, cost: CostFn, init: Tensor, max_norm: float, generator: torch.Generator
    ) -> Tensor:
        check_init(type(self).__name__, init, self.horizon)
        b, h, _ = init.shape
        mean = clip_actions(init, max_norm)
        std = torch.full_like(mean, self.init_std)
        best = mean.clone()
        best_cost = torch.full((b,), float("inf"), device=init.device)
        rows = torch.arange(b, device=init.device)[:, None]
        for _ in range(self.iterations):
            noise = smooth_noise((b, self.samples, h), self.knots, generator, init.device)
            noise[:, 0] = 0.0  # the current mean is always a candidate
            candidates = clip_actions(mean[:, None] + std[:, None] * noise, max_norm)
            costs = cost(candidates)
            order = costs.argsort(dim=1)[:, : self.elites]
            elite = candidates[rows, order]  # (B, elites, H, 2)
            better = costs[rows, order[:, :1]][:, 0] < best_cost
            best = torch.where(better[:, None, None], elite[:, 0], best)
            best_cost = torch.where(better, costs[rows, order[:, :1]][:, 0], best_cost)
            mean = self.momentum * mean + (1 - self.momentum) * elite.mean(dim=1)
            std = self.momentum * std + (1 - self.momentum) * elite.std(dim=1)
            std = std.clamp_min(self.min_std)
        return best
