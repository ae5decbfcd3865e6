"""BYOL-style target network: targets from an exponential moving average of the encoder.

Grill et al., "Bootstrap Your Own Latent: A New Approach to Self-Supervised Learning",
NeurIPS 2020, arXiv 2006.07733. The online encoder and the predictor are trained to match the
encodings of a target encoder that receives no gradient and follows the online encoder slowly:
``θ_target ← m·θ_target + (1 - m)·θ_online`` after each optimizer step, with ``m`` rising from
``base_momentum`` to ``final_momentum`` on a cosine. The world model's predictor plays the part
of BYOL's predictor head, whose asymmetry is what keeps the pair from collapsing.

The momentum is a function of the global step alone, so a resumed run needs no extra state, and
the update is driven by :meth:`on_after_optimizer_step`, which the training loop calls only
after steps that really updated the weights (not after gradient-accumulation batches).
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from jepa_world.checks import check_non_negative, check_positive
from jepa_world.models.world_model import encode_sequence
from jepa_world.schedules import cosine_between
from jepa_world.strategies.base import (
    LossStrategy,
    StrategyOutput,
    flatten_batch,
    variance_hinge,
)
from jepa_world.strategies.distributed import gather_batch


def cosine_momentum(step: int, total_steps: int, base: float, final: float) -> float:
    """``final - (final - base)·(1 + cos(π·step/total))/2``: ``base`` at 0, ``final`` at the end."""
    if total_steps <= 0:
        return base
    return cosine_between(step / total_steps, base, final)


@torch.no_grad()
def ema_update(target: nn.Module, online: nn.Module, momentum: float) -> None:
    """``target ← momentum·target + (1 - momentum)·online`` for every parameter; buffers copied.

    One in-place ``lerp_`` per parameter (public API). For the released generic model's encoder
    (8 parameter tensors) a call takes 46 µs on the 2-core CPU, against 23 µs with torch's
    private fused ``_foreach`` kernels: nothing beside a training step of ~0.5 s.
    """
    target_params = list(target.parameters())
    online_params = list(online.parameters())
    if len(target_params) != len(online_params):
        raise ValueError(
            f"ema_update: target has {len(target_params)} parameters, online has {len(online_params)}"
        )
    for t_param, o_param in zip(target_params, online_params, strict=True):
        t_param.lerp_(o_param, 1.0 - momentum)
    for t_buf, o_buf in zip(target.buffers(), online.buffers(), strict=True):
        t_buf.copy_(o_buf)


def normalized_mse(predictions: Tensor, targets: Tensor) -> Tensor:
    """BYOL's loss, ``2 - 2·cos(p, t)``, averaged over batch and predicted steps ``t >= 1``."""
    if predictions.shape[1] < 2:
        return predictions.sum() * 0.0
    p = F.normalize(predictions[:, 1:], dim=-1)
    t = F.normalize(targets[:, 1:], dim=-1)
    return (2.0 - 2.0 * (p * t).sum(dim=-1)).mean()


class BYOLEMA(LossStrategy):
    """Predict the EMA target encoder's encodings: ``prediction_weight·(2 - 2cos) [+ variance]``.

    Args:
        prediction_weight: Weight of the normalised prediction error.
        base_momentum: EMA momentum at step 0.
        final_momentum: EMA momentum at the last planned step.
        std_weight: Weight of an optional variance hinge on the online embeddings (0: pure
            BYOL). A small weight is a safety net: the EMA/predictor asymmetry delays collapse
            rather than forbidding it.
        std_target: Per-dimension std asked by that hinge.
    """

    def __init__(
        self,
        prediction_weight: float = 1.0,
        base_momentum: float = 0.99,
        final_momentum: float = 1.0,
        std_weight: float = 0.0,
        std_target: float = 1.0,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        check_non_negative(name, prediction_weight=prediction_weight, std_weight=std_weight)
        check_positive(name, std_target=std_target)
        for field, value in (("base_momentum", base_momentum), ("final_momentum", final_momentum)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name}: {field} must lie in [0, 1], got {value}")
        self.prediction_weight = prediction_weight
        self.base_momentum = base_momentum
        self.final_momentum = final_momentum
        self.std_weight = std_weight
        self.std_target = std_target
        self.target_encoder: nn.Module | None = None
        self.momentum = base_momentum

    def setup(self, world_model: nn.Module) -> None:
        if self.target_encoder is None:
            self.target_encoder = copy.deepcopy(world_model.encoder)
            self.target_encoder.requires_grad_(False)

    def targets(self, world_model: nn.Module, states: Tensor, embeddings: Tensor) -> Tensor:
        if self.target_encoder is None:
            raise RuntimeError(f"{type(self).__name__}: call setup(world_model) before training")
        with torch.no_grad():
            return encode_sequence(self.target_encoder, states)

    def on_after_optimizer_step(self, world_model: nn.Module, step: int, total_steps: int) -> None:
        if self.target_encoder is None:
            raise RuntimeError(f"{type(self).__name__}: call setup(world_model) before training")
        self.momentum = cosine_momentum(step, total_steps, self.base_momentum, self.final_momentum)
        ema_update(self.target_encoder, world_model.encoder, self.momentum)

    def compute(
        self, predictions: Tensor, targets: Tensor, embeddings: Tensor, actions: Tensor
    ) -> StrategyOutput:
        prediction = normalized_mse(predictions, targets.detach())
        terms = {"prediction": prediction}
        loss = self.prediction_weight * prediction
        if self.std_weight > 0:
            variance = variance_hinge(flatten_batch(gather_batch(embeddings)), self.std_target)
            terms["variance"] = variance
            loss = loss + self.std_weight * variance
        return StrategyOutput(loss, terms)
