"""The world model of the course contract.

``WorldModel(encoder, predictor)`` is a plain ``nn.Module``: it is what ``model_weights.pth``
holds and what the evaluation loads, with no Lightning and no config file involved. Its
``forward(states, actions)`` is protocol §3: the first frame is encoded, every later
representation is predicted by unrolling the predictor on the actions. The weights file is
:mod:`jepa_world.models.weights_file`.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from jepa_world.models.encoders import FRAME_SHAPE


def encode_sequence(encoder: nn.Module, states: Tensor) -> Tensor:
    """Encode every frame of ``states (B, T, 2, 65, 65)`` with ``encoder`` → ``(B, T, D)``.

    All ``B·T`` frames go through the encoder as one batch. Shared by :class:`WorldModel` and by
    strategies that keep a target encoder of their own.
    """
    if states.ndim != 5 or tuple(states.shape[2:]) != FRAME_SHAPE:
        raise ValueError(
            f"encode: expected states of shape (B, T, {', '.join(map(str, FRAME_SHAPE))}), "
            f"got {tuple(states.shape)}"
        )
    b, t = states.shape[:2]
    return encoder(states.reshape(b * t, *FRAME_SHAPE)).reshape(b, t, -1)


class WorldModel(nn.Module):
    """Encoder + predictor honouring the course contract (protocol §3).

    Args:
        encoder: Maps frames ``(N, 2, 65, 65)`` to ``(N, D)``; exposes ``repr_dim``.
        predictor: Maps ``(z (N, D), a (N, 2))`` to the next ``z``; exposes ``repr_dim``.

    Example:
        >>> from jepa_world.models import ConvEncoder, MLPPredictor
        >>> model = WorldModel(ConvEncoder(repr_dim=32), MLPPredictor(repr_dim=32))
        >>> model(torch.zeros(3, 1, 2, 65, 65), torch.zeros(3, 16, 2)).shape
        torch.Size([3, 17, 32])
    """

    def __init__(self, encoder: nn.Module, predictor: nn.Module) -> None:
        super().__init__()
        for role, part in (("encoder", encoder), ("predictor", predictor)):
            if not isinstance(getattr(part, "repr_dim", None), int):
                raise TypeError(
                    f"WorldModel: the {role} {type(part).__name__} must expose an integer "
                    f"`repr_dim`, found {getattr(part, 'repr_dim', None)!r}"
                )
        if encoder.repr_dim != predictor.repr_dim:
            raise ValueError(
                f"WorldModel: encoder {type(encoder).__name__} has repr_dim={encoder.repr_dim} but "
                f"predictor {type(predictor).__name__} has repr_dim={predictor.repr_dim}; set both "
                "to the same value"
            )
        self.encoder = encoder
        self.predictor = predictor

    @property
    def repr_dim(self) -> int:
        return int(self.encoder.repr_dim)

    def encode(self, states: Tensor) -> Tensor:
        """Encode every frame: ``(B, T, 2, 65, 65)`` → ``(B, T, D)``."""
        return encode_sequence(self.encoder, states)

    def unroll(self, z0: Tensor, actions: Tensor) -> Tensor:
        """Recurrent prediction from ``z0 (B, D)`` along ``actions (B, T-1, 2)`` → ``(B, T, D)``.

        Each prediction is fed back as the next input, exactly as at evaluation; ``t = 0`` is
        ``z0`` itself.
        """
        self._check_actions(actions, z0.shape[0], "unroll")
        z = z0
        out = [z]
        for t in range(actions.shape[1]):
            z = self.predictor(z, actions[:, t])
            out.append(z)
        return torch.stack(out, dim=1)

    def predict_next(self, embeddings: Tensor, actions: Tensor) -> Tensor:
        """Teacher-forced predictions: each step from the encoding of the true previous frame.

        ``embeddings (B, T, D)``, ``actions (B, T-1, 2)`` → ``(B, T, D)`` with ``t = 0`` the
        first embedding. All ``B·(T-1)`` steps go through the predictor as one batch.
        """
        b, t, d = embeddings.shape
        self._check_actions(actions, b, "predict_next")
        if actions.shape[1] != t - 1:
            raise ValueError(
                f"predict_next: {t} embeddings need {t - 1} actions, got actions of shape "
                f"{tuple(actions.shape)} with embeddings of shape {tuple(embeddings.shape)}"
            )
        if t == 1:
            return embeddings
        nxt = self.predictor(
            embeddings[:, :-1].reshape(-1, d), actions.reshape(-1, actions.shape[-1])
        )
        return torch.cat([embeddings[:, :1], nxt.reshape(b, t - 1, d)], dim=1)

    def forward(self, states: Tensor, actions: Tensor, teacher_forcing: bool = False) -> Tensor:
        """The course contract: ``states (B, 1, 2, 65, 65)``, ``actions (B, T-1, 2)`` → ``(B, T, D)``.

        Recurrent mode (default) reads only the first frame, so ``states`` may also be the whole
        ``(B, T, ...)`` sequence. ``teacher_forcing=True`` needs all ``T`` frames and predicts
        each next representation from the encoding of the true current frame.
        """
        if states.ndim != 5 or tuple(states.shape[2:]) != FRAME_SHAPE:
            raise ValueError(
                f"WorldModel: expected states of shape (B, T, {', '.join(map(str, FRAME_SHAPE))}), "
                f"got {tuple(states.shape)}"
            )
        self._check_actions(actions, states.shape[0], "WorldModel")
        steps = actions.shape[1] + 1
        if teacher_forcing:
            if states.shape[1] != steps:
                raise ValueError(
                    f"WorldModel: teacher forcing needs every frame: actions of shape "
                    f"{tuple(actions.shape)} need states with {steps} frames, got {tuple(states.shape)}"
                )
            return self.predict_next(self.encode(states), actions)
        if states.shape[1] not in (1, steps):
            raise ValueError(
                f"WorldModel: expected states with 1 frame (or all {steps}) to go with actions of "
                f"shape {tuple(actions.shape)}, got {tuple(states.shape)}"
            )
        return self.unroll(self.encoder(states[:, 0]), actions)

    def _check_actions(self, actions: Tensor, batch: int, owner: str) -> None:
        action_dim = getattr(self.predictor, "action_dim", 2)
        if actions.ndim != 3 or actions.shape[0] != batch or actions.shape[2] != action_dim:
            raise ValueError(
                f"{owner}: expected actions of shape ({batch}, T-1, {action_dim}), "
                f"got {tuple(actions.shape)}"
            )


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters (the figure protocol §3 ranks models by)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
