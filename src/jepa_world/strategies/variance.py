"""Variance-only regularisation: prediction + a clamped hinge on per-dimension std.

The variance term of VICReg on its own (Bardes, Ponce, LeCun, ICLR 2022, arXiv 2105.04906),
as used against collapse in JEPA world models without a covariance term (e.g. Sobal et al.,
"Learning from Reward-Free Offline Data: A Case for Planning with Latent Dynamics Models",
arXiv 2502.14819). It is the smallest working anti-collapse term: it stops every dimension
from shrinking to a constant, but not dimensions from copying each other.
"""

from __future__ import annotations

from torch import Tensor

from jepa_world.checks import check_non_negative, check_positive
from jepa_world.strategies.base import (
    LossStrategy,
    StrategyOutput,
    flatten_batch,
    prediction_mse,
    variance_hinge,
)
from jepa_world.strategies.distributed import gather_batch


class VarianceOnly(LossStrategy):
    """``prediction_weight·MSE + std_weight·mean_d max(0, std_target - std_d)``.

    Args:
        prediction_weight: Weight of the prediction term.
        std_weight: Weight of the variance hinge.
        std_target: Per-dimension standard deviation the hinge asks for; the penalty of one
            dimension lies in ``[0, std_target]``.
        eps: Added to the variance before the square root.
    """

    def __init__(
        self,
        prediction_weight: float = 1.0,
        std_weight: float = 1.0,
        std_target: float = 1.0,
        eps: float = 1e-4,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        check_non_negative(name, prediction_weight=prediction_weight, std_weight=std_weight)
        check_positive(name, std_target=std_target, eps=eps)
        self.prediction_weight = prediction_weight
        self.std_weight = std_weight
        self.std_target = std_target
        self.eps = eps

    def compute(
        self, predictions: Tensor, targets: Tensor, embeddings: Tensor, actions: Tensor
    ) -> StrategyOutput:
        prediction = prediction_mse(predictions, targets)
        variance = variance_hinge(
            flatten_batch(gather_batch(embeddings)), self.std_target, self.eps
        )
        loss = self.prediction_weight * prediction + self.std_weight * variance
        return StrategyOutput(loss, {"prediction": prediction, "variance": variance})
