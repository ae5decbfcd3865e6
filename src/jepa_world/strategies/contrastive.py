"""Contrastive margin loss: matched pairs pulled together, mismatched pairs pushed apart.

Hadsell, Chopra, LeCun, "Dimensionality Reduction by Learning an Invariant Mapping", CVPR 2006.
At each predicted step the prediction for trajectory ``i`` is a positive pair with the target of
trajectory ``i`` and a negative pair with the target of every other trajectory ``j`` of the
(global) batch. Positives pay their squared distance; negatives pay ``max(0, margin - d)²``, so
a negative already farther than the margin costs nothing. Distances are root-mean-square over
dimensions, so the margin means the same thing whatever ``D`` is.
"""

from __future__ import annotations

import torch
from torch import Tensor

from jepa_world.checks import check_non_negative, check_positive
from jepa_world.strategies.base import (
    LossStrategy,
    StrategyOutput,
    prediction_mse,
)
from jepa_world.strategies.distributed import gather_batch


def pairwise_rms_distance(a: Tensor, b: Tensor, eps: float = 1e-6) -> Tensor:
    """``a (T, N, D)``, ``b (T, M, D)`` → ``(T, N, M)`` distances ``sqrt(mean_d (a - b)² + eps)``.

    ``eps`` keeps the gradient finite at distance 0, where a collapsed batch sits.
    """
    squared = (
        a.pow(2).sum(-1).unsqueeze(-1)
        + b.pow(2).sum(-1).unsqueeze(-2)
        - 2.0 * a @ b.transpose(-1, -2)
    )
    return torch.sqrt(squared.clamp_min(0.0) / a.shape[-1] + eps)


def margin_negatives(predictions: Tensor, targets: Tensor, margin: float) -> Tensor:
    """Mean of ``max(0, margin - d_ij)²`` over steps and ordered pairs ``i != j``.

    ``predictions``, ``targets``: ``(T, N, D)``. Returns 0 for a batch of one trajectory.
    """
    n = predictions.shape[1]
    if n < 2:
        return predictions.sum() * 0.0
    distance = pairwise_rms_distance(predictions, targets)
    off_diagonal = ~torch.eye(n, dtype=torch.bool, device=distance.device)
    return torch.relu(margin - distance[:, off_diagonal]).pow(2).mean()


class ContrastiveMargin(LossStrategy):
    """``prediction_weight·MSE(matched) + negative_weight·mean max(0, margin - d(mismatched))²``.

    Args:
        prediction_weight: Weight of the matched-pair (prediction) term.
        negative_weight: Weight of the mismatched-pair margin term.
        margin: RMS distance beyond which a mismatched pair costs nothing.
    """

    def __init__(
        self, prediction_weight: float = 1.0, negative_weight: float = 1.0, margin: float = 1.0
    ) -> None:
        super().__init__()
        name = type(self).__name__
        check_non_negative(
            name, prediction_weight=prediction_weight, negative_weight=negative_weight
        )
        check_positive(name, margin=margin)
        self.prediction_weight = prediction_weight
        self.negative_weight = negative_weight
        self.margin = margin

    def compute(
        self, predictions: Tensor, targets: Tensor, embeddings: Tensor, actions: Tensor
    ) -> StrategyOutput:
        prediction = prediction_mse(predictions, targets)
        if predictions.shape[1] < 2:
            negatives = predictions.sum() * 0.0
        else:
            p = gather_batch(predictions[:, 1:]).transpose(0, 1)
            t = gather_batch(targets[:, 1:]).transpose(0, 1)
            negatives = margin_negatives(p, t, self.margin)
        loss = self.prediction_weight * prediction + self.negative_weight * negatives
        return StrategyOutput(loss, {"prediction": prediction, "negatives": negatives})
