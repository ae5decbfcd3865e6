"""Inverse dynamics: predict the action from two consecutive embeddings, added to any strategy.

The auxiliary task of Pathak et al., "Curiosity-driven Exploration by Self-supervised
Prediction", ICML 2017, arXiv 1705.05363, used against collapse in JEPA world models (Sobal
et al., arXiv 2502.14819). On two-rooms, a representation can satisfy its anti-collapse term by
describing the wall layout alone (it varies a lot between trajectories) and ignore the small
agent blob; asking it to tell which action led from ``z_t`` to ``z_{t+1}`` forces the agent's
motion into the representation.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from jepa_world.checks import check_non_negative
from jepa_world.strategies.base import LossStrategy, StrategyOutput


class InverseDynamics(LossStrategy):
    """Wraps ``base`` and adds ``weight·MSE(head([z_t, z_{t+1}]), a_t)`` on the online embeddings.

    The head (``Linear(2D, hidden) → GELU → Linear(hidden, A)``) is training-only: it lives in
    the strategy, not in the world model, so it is not saved with the model nor counted in its
    parameters. Setup, targets and optimizer-step hooks are passed on to ``base``.

    Args:
        base: The strategy to add the term to.
        weight: Weight of the inverse-dynamics term.
        hidden_dim: Width of the head's hidden layer.
    """

    def __init__(self, base: LossStrategy, weight: float = 1.0, hidden_dim: int = 64) -> None:
        super().__init__()
        name = type(self).__name__
        if not isinstance(base, LossStrategy):
            raise TypeError(f"{name}: base must be a LossStrategy, got {type(base).__name__}")
        check_non_negative(name, weight=weight)
        if hidden_dim < 1:
            raise ValueError(f"{name}: hidden_dim must be a positive integer, got {hidden_dim}")
        self.base = base
        self.weight = weight
        self.hidden_dim = hidden_dim
        self.head: nn.Module | None = None

    def setup(self, world_model: nn.Module) -> None:
        self.base.setup(world_model)
        if self.head is None:
            d = int(world_model.repr_dim)
            action_dim = int(getattr(world_model.predictor, "action_dim", 2))
            self.head = nn.Sequential(
                nn.Linear(2 * d, self.hidden_dim), nn.GELU(), nn.Linear(self.hidden_dim, action_dim)
            )

    def targets(self, world_model: nn.Module, states: Tensor, embeddings: Tensor) -> Tensor:
        return self.base.targets(world_model, states, embeddings)

    def set_step(self, step: int) -> None:
        self.base.set_step(step)

    def on_after_optimizer_step(self, world_model: nn.Module, step: int, total_steps: int) -> None:
        self.base.on_after_optimizer_step(world_model, step, total_steps)

    def compute(
        self, predictions: Tensor, targets: Tensor, embeddings: Tensor, actions: Tensor
    ) -> StrategyOutput:
        if self.head is None:
            raise RuntimeError(f"{type(self).__name__}: call setup(world_model) before training")
        out = self.base.compute(predictions, targets, embeddings, actions)
        if embeddings.shape[1] < 2:
            term = embeddings.sum() * 0.0
        else:
            pairs = torch.cat([embeddings[:, :-1], embeddings[:, 1:]], dim=-1)
            term = (self.head(pairs) - actions).pow(2).mean()
        terms = {**out.terms, "inverse_dynamics": term}
        return StrategyOutput(out.loss + self.weight * term, terms)
