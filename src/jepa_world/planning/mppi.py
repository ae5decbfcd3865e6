"""Model-predictive path integral control (MPPI): a softmax-weighted average of noisy plans.

Williams et al., "Information theoretic MPC for model-based reinforcement learning", ICRA 2017.
"""

from __future__ import annotations

import torch
from torch import Tensor

from jepa_world.planning.base import CostFn, Planner, check_init, clip_actions, smooth_noise


class MPPI(Planner):
    """Perturb the plan, score every perturbation, average them weighted by ``exp(-cost / T)``.

    Costs are divided by their standard deviation over a plan's candidates before the
    softmax, so ``temperature`` is scale-free: the same value works for a model whose
    representations are pixels and for one whose representations are unit-variance codes.
    The current plan is always one of the candidates (zero noise), and the returned plan is the
    weighted average or the best candidate seen, whichever scores lower, so an iteration never
    makes a plan worse.

    Args:
        horizon: Actions per plan.
        samples: Candidates per plan and iteration.
        iterations: Refinements per call (each scores ``samples`` candidates).
        noise_std: Standard deviation of the perturbation of each action coordinate, pixels.
        temperature: Softmax temperature in units of the candidates' cost standard deviation.
        knots: Independent noise points along the horizon, linearly interpolated in between
            (:func:`~jepa_world.planning.base.smooth_noise`); ``knots >= horizon`` perturbs every
            action independently.
        explore: Fraction of the candidates drawn around "stand still" instead of around the
            current plan, with ``explore_std``: fresh paths that can leave a local minimum
            (pressed against the middle wall) which perturbations of the plan do not.
        explore_std: Standard deviation of the exploring candidates, pixels; above the action
            limit, so that clipped exploring actions are mostly full-length moves.

    Example:
        >>> planner = MPPI(horizon=4, samples=64, iterations=8)
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
        iterations: int = 2,
        noise_std: float = 1.5,
        temperature: float = 0.1,
        knots: int = 4,
        explore: float = 0.5,
        explore_std: float = 3.0,
    ) -> None:
        super().__init__(horizon)
        name = type(self).__name__
        if samples < 2 or iterations < 1:
            raise ValueError(
                f"{name}: samples must be >= 2 and iterations >= 1, got {samples}, {iterations}"
            )
        if not noise_std > 0 or not temperature > 0:
            raise ValueError(
                f"{name}: noise_std and temperature must be > 0, got {noise_std}, {temperature}"
            )
        if knots < 2:
            raise ValueError(f"{name}: knots must be >= 2, got {knots}")
        self.samples = samples
        self.iterations = iterations
        self.noise_std = float(noise_std)
        self.temperature = float(temperature)
        if not 0 <= explore < 1 or not explore_std > 0:
            raise ValueError(
                f"{name}: expected 0 <= explore < 1 and explore_std > 0, got {explore}, {explore_std}"
            )
        self.knots = knots
        self.explore = float(explore)
        self.explore_std = float(explore_std)

    @torch.no_grad()
    def optimise(
        self, cost: CostFn, init: Tensor, max_norm: float, generator: torch.Generator
    ) -> Tensor:
        check_init(type(self).__name__, init, self.horizon)
        b, h, _ = init.shape
        mean = clip_actions(init, max_norm)
        best = mean.clone()
        best_cost = torch.full((b,), float("inf"), device=init.device)
        rows = torch.arange(b, device=init.device)
        for _ in range(self.iterations):
            noise = smooth_noise((b, self.samples, h), self.knots, generator, init.device)
            noise[:, 0] = 0.0
            fresh = int(self.explore * self.samples)
            centre = mean[:, None].expand(b, self.samples, h, 2).clone()
            scale = torch.full((1, self.samples, 1, 1), self.noise_std, device=init.device)
            if fresh:
                centre[:, -fresh:] = 0.0
                scale[:, -fresh:] = self.explore_std
            candidates = clip_actions(centre + scale * noise, max_norm)
            costs = cost(candidates)
            low, arg = costs.min(dim=1)
            better = low < best_cost
            best = torch.where(better[:, None, None], candidates[rows, arg], best)
            best_cost = torch.where(better, low, best_cost)
            spread = costs.std(dim=1, keepdim=True).clamp_min(1e-8) * self.temperature
            weights = torch.softmax(-(costs - low[:, None]) / spread, dim=1)
            mean = clip_actions((weights[..., None, None] * candidates).sum(dim=1), max_norm)
        # The average of two good but different candidates (round the wall above and below
        # the door) can be a bad plan: keep it only if it scores at least as well as the best.
        mean_cost = cost(mean[:, None])[:, 0]
        return torch.where((mean_cost <= best_cost)[:, None, None], mean, best)
