"""The collapse-prevention contract, and the batch statistics several strategies share.

A JEPA world model minimises the distance between predicted and target representations. Alone,
that objective is solved by a constant encoder; a :class:`LossStrategy` adds whatever keeps the
representation informative (a variance hinge, negatives, an EMA target, a distribution test)
and returns the total loss with its named terms for logging.

Conventions, shared by every strategy:

- ``predictions (B, T, D)``: the world model's unroll (or teacher-forced predictions); ``t = 0``
  is the encoding of the first frame, so the prediction term uses ``t >= 1``.
- ``targets (B, T, D)``: encodings of the true frames from :meth:`LossStrategy.targets`, by
  default the online embeddings themselves (gradients flow into both sides); a strategy with a
  target network returns its own, computed without gradient.
- ``embeddings (B, T, D)``: the online encoder's encodings of the true frames, the tensor whose
  batch statistics the regularisers act on.
- ``actions (B, T-1, A)``.
- Losses and terms are computed in float32 with autocast disabled, over the global batch when
  several processes train together (:mod:`jepa_world.strategies.distributed`). Terms are
  reported unweighted; ``loss`` is their weighted sum.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn


@dataclass
class StrategyOutput:
    """The total loss to back-propagate and its named, unweighted terms (for logging)."""

    loss: Tensor
    terms: dict[str, Tensor] = field(default_factory=dict)


class LossStrategy(nn.Module):
    """Base class of collapse-prevention strategies (one subclass per file, one job each).

    Subclasses implement :meth:`compute`; :meth:`forward` validates shapes and runs it in
    float32 with autocast disabled, because batch statistics (standard deviations, covariances,
    characteristic functions) lose too much precision in bf16/fp16.
    """

    def setup(self, world_model: nn.Module) -> None:
        """Called once with the world model before training, e.g. to copy a target encoder or
        build a head whose size depends on ``world_model.repr_dim``. Must be idempotent."""

    def set_step(self, step: int) -> None:
        """Called before every loss, in training and in validation, with the number of optimizer
        steps done so far (the trainer's ``global_step``; 0 outside a trainer).

        A strategy whose random draws change from step to step seeds them from ``step`` rather
        than from a count of its own calls: a run resumed from a checkpoint then draws exactly
        what an uninterrupted run draws, and validation batches leave the training draws alone.
        """

    def targets(self, world_model: nn.Module, states: Tensor, embeddings: Tensor) -> Tensor:
        """Encodings of the true frames to predict; default: the online ``embeddings``."""
        return embeddings

    def on_after_optimizer_step(self, world_model: nn.Module, step: int, total_steps: int) -> None:
        """Called after every optimizer step that actually happened (not after accumulation-only
        batches), with the global step count after it and the planned total."""

    def compute(
        self, predictions: Tensor, targets: Tensor, embeddings: Tensor, actions: Tensor
    ) -> StrategyOutput:
        raise NotImplementedError(f"{type(self).__name__} must implement compute()")

    def forward(
        self, predictions: Tensor, targets: Tensor, embeddings: Tensor, actions: Tensor
    ) -> StrategyOutput:
        check_strategy_inputs(type(self).__name__, predictions, targets, embeddings, actions)
        with torch.autocast(device_type=predictions.device.type, enabled=False):
            return self.compute(
                predictions.float(), targets.float(), embeddings.float(), actions.float()
            )


def check_strategy_inputs(
    owner: str, predictions: Tensor, targets: Tensor, embeddings: Tensor, actions: Tensor
) -> None:
    """Raise a ValueError that prints every shape unless they fit the conventions above."""
    shapes = (
        f"predictions {tuple(predictions.shape)}, targets {tuple(targets.shape)}, "
        f"embeddings {tuple(embeddings.shape)}, actions {tuple(actions.shape)}"
    )
    if (
        predictions.ndim != 3
        or predictions.shape != targets.shape
        or predictions.shape != embeddings.shape
    ):
        raise ValueError(
            f"{owner}: expected predictions, targets and embeddings of one shape (B, T, D), got {shapes}"
        )
    b, t, _ = predictions.shape
    if actions.ndim != 3 or actions.shape[0] != b or actions.shape[1] != t - 1:
        raise ValueError(f"{owner}: expected actions of shape ({b}, {t - 1}, A), got {shapes}")


# ---------------------------------------------------------------------------------------------
# Shared maths (plain functions, testable without a model)
# ---------------------------------------------------------------------------------------------


def prediction_mse(predictions: Tensor, targets: Tensor) -> Tensor:
    """Mean squared error over batch, predicted steps ``t >= 1`` and dimensions."""
    if predictions.shape[1] < 2:
        return predictions.sum() * 0.0
    return (predictions[:, 1:] - targets[:, 1:]).pow(2).mean()


def flatten_batch(x: Tensor) -> Tensor:
    """``(B, T, D)`` → ``(B·T, D)``: every frame is one sample of the batch statistics."""
    return x.reshape(-1, x.shape[-1])


def per_dim_std(z: Tensor, eps: float = 1e-4) -> Tensor:
    """Per-dimension standard deviation over the batch of ``z (N, D)``, kept away from 0 by
    ``eps`` so its gradient is finite for a collapsed dimension."""
    return torch.sqrt(z.var(dim=0) + eps)


def variance_hinge(z: Tensor, std_target: float = 1.0, eps: float = 1e-4) -> Tensor:
    """VICReg's variance term: mean over dimensions of ``max(0, std_target - std_d)``.

    The hinge is clamped on both sides: a dimension is pushed up only while its std is below
    the target (no reward for blowing the scale up) and its penalty never exceeds
    ``std_target``, so a collapsed start cannot dominate the loss by orders of magnitude.
    """
    return torch.relu(std_target - per_dim_std(z, eps)).mean()


def covariance_penalty(z: Tensor) -> Tensor:
    """VICReg's covariance term: sum of squared off-diagonal covariances of ``z (N, D)``, / D.

    When the code is wider than the batch (``D > N``, e.g. a code of feature maps), the ``D × D``
    covariance is never built: its squared Frobenius norm equals that of the ``N × N`` Gram
    matrix of the centred batch, so the cost is ``O(N² D)`` instead of ``O(N D²)``.
    """
    n, d = z.shape
    centred = z - z.mean(dim=0)
    scale = max(n - 1, 1)
    if d <= n:
        cov = centred.T @ centred / scale
        off_diagonal = cov - torch.diag(torch.diagonal(cov))
        return off_diagonal.pow(2).sum() / d
    gram = centred @ centred.T / scale
    diagonal = centred.pow(2).sum(dim=0) / scale
    return (gram.pow(2).sum() - diagonal.pow(2).sum()) / d
