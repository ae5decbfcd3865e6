"""SIGReg: sketched isotropic Gaussian regularisation (LeJEPA).

Balestriero, LeCun, "LeJEPA: Provable and Scalable Self-Supervised Learning Without the
Heuristics", arXiv 2511.08544 (2025). The embeddings are projected on random unit directions
(fresh ones every optimizer step, seeded by the step number, so the same on every process and
after a resume) and each one-dimensional projection is compared with a standard normal by the
Epps-Pulley statistic: the weighted squared distance between its empirical characteristic
function and ``exp(-t²/2)``. By the Cramér-Wold theorem the projections of a distribution all
match a Gaussian only if the distribution is the isotropic Gaussian, which is neither collapsed
nor dimensionally collapsed.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from jepa_world.checks import check_non_negative, check_positive
from jepa_world.strategies.base import (
    LossStrategy,
    StrategyOutput,
    flatten_batch,
    prediction_mse,
)
from jepa_world.strategies.distributed import gather_batch, shared_seed


def epps_pulley(x: Tensor, t_max: float = 3.0, num_knots: int = 17) -> Tensor:
    """Epps-Pulley statistic of each column of ``x (N, M)`` against N(0, 1) → ``(M,)``.

    ``N · ∫ |φ_N(t) - e^{-t²/2}|² e^{-t²/2} dt`` with ``φ_N`` the empirical characteristic
    function, integrated by the trapezoidal rule on ``[0, t_max]`` and doubled (the integrand
    is even in ``t``). Multiplying by ``N`` makes it the test statistic, whose value under the
    null hypothesis does not depend on the batch size.
    """
    n = x.shape[0]
    t = torch.linspace(0.0, t_max, num_knots, device=x.device, dtype=x.dtype)
    gaussian = torch.exp(-0.5 * t.pow(2))
    xt = x.unsqueeze(-1) * t  # (N, M, K)
    real = torch.cos(xt).mean(dim=0)  # (M, K)
    imaginary = torch.sin(xt).mean(dim=0)
    error = (real - gaussian).pow(2) + imaginary.pow(2)
    weights = torch.full_like(t, t_max / (num_knots - 1))
    weights[0] = weights[-1] = weights[0] / 2
    return n * 2.0 * (error * (weights * gaussian)).sum(dim=-1)


def random_directions(dim: int, num: int, step: int, device: torch.device) -> Tensor:
    """``(dim, num)`` unit columns drawn from a generator seeded by ``step``."""
    directions = torch.randn(dim, num, generator=shared_seed(step))
    return (directions / directions.norm(dim=0, keepdim=True)).to(device)


def sigreg(
    z: Tensor, num_slices: int, step: int, t_max: float = 3.0, num_knots: int = 17
) -> Tensor:
    """Mean Epps-Pulley statistic of ``z (N, D)`` along ``num_slices`` random directions."""
    directions = random_directions(z.shape[1], num_slices, step, z.device)
    return epps_pulley(z @ directions, t_max, num_knots).mean()


class SIGReg(LossStrategy):
    """``prediction_weight·MSE + sigreg_weight·SIGReg(embeddings)``.

    LeJEPA writes the objective as ``(1-λ)·prediction + λ·SIGReg`` with λ around 0.05; here the
    two weights are separate so that every strategy shares the meaning of ``prediction_weight``.
    The statistic grows with the number of samples (``B·T`` frames here), and on two-rooms a
    weight of 0.05 lets it drown the prediction term (the representation turns into noise that
    is Gaussian but unpredictable); 0.01 trains well with batches of 32-64 windows of 17 frames.

    Args:
        prediction_weight: Weight of the prediction term.
        sigreg_weight: Weight of the SIGReg statistic.
        num_slices: Random directions per step.
        num_knots: Quadrature points of the characteristic-function integral.
        t_max: Upper end of the integration interval (the weight ``e^{-t²/2}`` is ≈ 0.011 at 3).
        seed: Offset of the per-step seeds of the random directions.

    The directions of a loss are drawn from ``seed + step``, ``step`` being the last value given
    to :meth:`set_step` (the training loop passes its global step before every loss; 0 until
    then). A validation loss uses the directions of the step the training has reached.
    """

    def __init__(
        self,
        prediction_weight: float = 1.0,
        sigreg_weight: float = 0.01,
        num_slices: int = 256,
        num_knots: int = 17,
        t_max: float = 3.0,
        seed: int = 0,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        check_non_negative(name, prediction_weight=prediction_weight, sigreg_weight=sigreg_weight)
        check_positive(name, num_slices=num_slices, t_max=t_max)
        if num_knots < 2:
            raise ValueError(f"{name}: num_knots must be >= 2, got {num_knots}")
        if not math.isfinite(t_max):
            raise ValueError(f"{name}: t_max must be finite, got {t_max}")
        self.prediction_weight = prediction_weight
        self.sigreg_weight = sigreg_weight
        self.num_slices = num_slices
        self.num_knots = num_knots
        self.t_max = t_max
        self.seed = seed
        self.step = 0

    def set_step(self, step: int) -> None:
        """Directions of optimizer step ``step``: the same on every process and after a resume,
        and shared by the micro-batches of one accumulated step."""
        self.step = int(step)

    def compute(
        self, predictions: Tensor, targets: Tensor, embeddings: Tensor, actions: Tensor
    ) -> StrategyOutput:
        prediction = prediction_mse(predictions, targets)
        z = flatten_batch(gather_batch(embeddings))
        statistic = sigreg(z, self.num_slices, self.seed + self.step, self.t_max, self.num_knots)
        loss = self.prediction_weight * prediction + self.sigreg_weight * statistic
        return StrategyOutput(loss, {"prediction": prediction, "sigreg": statistic})
