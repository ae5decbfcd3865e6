"""VICReg for a JEPA world model: prediction + variance + covariance.

Bardes, Ponce, LeCun, "VICReg: Variance-Invariance-Covariance Regularization for
Self-Supervised Learning", ICLR 2022, arXiv 2105.04906. The invariance term becomes the
prediction error between the unrolled predictions and the encodings of the true frames; the
variance hinge and the covariance penalty act on the online embeddings of the global batch.
"""

from __future__ import annotations

from torch import Tensor

from jepa_world.checks import check_non_negative, check_positive
from jepa_world.strategies.base import (
    LossStrategy,
    StrategyOutput,
    covariance_penalty,
    flatten_batch,
    prediction_mse,
    variance_hinge,
)
from jepa_world.strategies.distributed import gather_batch


class VICReg(LossStrategy):
    """``prediction_weight·MSE + std_weight·variance hinge + cov_weight·covariance``.

    Args:
        prediction_weight: Weight of the prediction (invariance) term.
        std_weight: Weight of the variance hinge.
        cov_weight: Weight of the covariance penalty.
        std_target: Per-dimension standard deviation the hinge asks for.
        eps: Added to the variance before the square root.

    Example:
        >>> import torch
        >>> z = torch.randn(8, 17, 16)
        >>> out = VICReg()(z, z, z, torch.zeros(8, 16, 2))
        >>> sorted(out.terms)
        ['covariance', 'prediction', 'variance']
    """

    def __init__(
        self,
        prediction_weight: float = 1.0,
        std_weight: float = 1.0,
        cov_weight: float = 0.04,
        std_target: float = 1.0,
        eps: float = 1e-4,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        check_non_negative(
            name, prediction_weight=prediction_weight, std_weight=std_weight, cov_weight=cov_weight
        )
        check_positive(name, std_target=std_target, eps=eps)
        self.prediction_weight = prediction_weight
        self.std_weight = std_weight
        self.cov_weight = cov_weight
        self.std_target = std_target
        self.eps = eps

    def compute(
        self, predictions: Tensor, targets: Tensor, embeddings: Tensor, actions: Tensor
    ) -> StrategyOutput:
        prediction = prediction_mse(predictions, targets)
        z = flatten_batch(gather_batch(embeddings))
        variance = variance_hinge(z, self.std_target, self.eps)
        covariance = covariance_penalty(z)
        loss = (
            self.prediction_weight * prediction
            + self.std_weight * variance
            + self.cov_weight * covariance
        )
        return StrategyOutput(
            loss, {"prediction": prediction, "variance": variance, "covariance": covariance}
        )
