"""Predictors: one step of the world model, ``(z_t (N, D), a_t (N, 2)) -> z_{t+1} (N, D)``.

Both predictors here are residual: they predict the change of the representation, and their
output layer starts at zero, so an untrained predictor is the identity. A long recurrent unroll
of an untrained model then stays where the encoder put it instead of drifting or exploding,
which keeps the first steps of training well conditioned.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from jepa_world.checks import check_positive


def check_step_inputs(
    z: Tensor, action: Tensor, repr_dim: int, action_dim: int, owner: str
) -> None:
    """Raise a ValueError naming ``owner`` unless ``z`` is ``(N, D)`` and ``action`` ``(N, A)``."""
    if z.ndim != 2 or z.shape[1] != repr_dim:
        raise ValueError(f"{owner}: expected z of shape (N, {repr_dim}), got {tuple(z.shape)}")
    if action.ndim != 2 or action.shape[1] != action_dim or action.shape[0] != z.shape[0]:
        raise ValueError(
            f"{owner}: expected action of shape ({z.shape[0]}, {action_dim}) to go with z of "
            f"shape {tuple(z.shape)}, got {tuple(action.shape)}"
        )


class MLPPredictor(nn.Module):
    """Residual MLP: ``z + MLP([LayerNorm(z), embed(a)])``.

    LayerNorm on the state and a learned action embedding put the two inputs on comparable
    scales, whatever scale the encoder's representation has (an action is two numbers near 1,
    a representation may have hundreds of dimensions).

    Args:
        repr_dim: Size ``D`` of the representation.
        hidden_dim: Width of the hidden layers.
        depth: Number of hidden layers (at least 1).
        action_dim: Size of an action (2 for ``(dx, dy)``).
        action_embed_dim: Width of the action embedding.

    Example:
        >>> import torch
        >>> pred = MLPPredictor(repr_dim=32)
        >>> pred(torch.zeros(4, 32), torch.zeros(4, 2)).shape
        torch.Size([4, 32])
    """

    def __init__(
        self,
        repr_dim: int = 64,
        hidden_dim: int = 256,
        depth: int = 2,
        action_dim: int = 2,
        action_embed_dim: int = 32,
    ) -> None:
        super().__init__()
        check_positive(
            type(self).__name__,
            repr_dim=repr_dim,
            hidden_dim=hidden_dim,
            depth=depth,
            action_dim=action_dim,
            action_embed_dim=action_embed_dim,
        )
        self.init_args = {
            "repr_dim": repr_dim,
            "hidden_dim": hidden_dim,
            "depth": depth,
            "action_dim": action_dim,
            "action_embed_dim": action_embed_dim,
        }
        self.repr_dim = repr_dim
        self.action_dim = action_dim
        self.state_norm = nn.LayerNorm(repr_dim)
        self.action_embed = nn.Sequential(nn.Linear(action_dim, action_embed_dim), nn.GELU())
        layers: list[nn.Module] = []
        width = repr_dim + action_embed_dim
        for _ in range(depth):
            layers += [nn.Linear(width, hidden_dim), nn.LayerNorm(hidden_dim), nn.GELU()]
            width = hidden_dim
        out = nn.Linear(width, repr_dim)
        nn.init.zeros_(out.weight)
        nn.init.zeros_(out.bias)
        layers.append(out)
        self.mlp = nn.Sequential(*layers)

    def forward(self, z: Tensor, action: Tensor) -> Tensor:
        check_step_inputs(z, action, self.repr_dim, self.action_dim, type(self).__name__)
        h = self.mlp(torch.cat([self.state_norm(z), self.action_embed(action)], dim=-1))
        return z + h


class GRUPredictor(nn.Module):
    """Gated recurrent step: a GRU cell reads the action and updates a state read from ``z``.

    ``h = GRUCell(embed(a), W_in z)``, ``z' = z + W_out h``. The GRU's gates let the predictor
    learn "nothing changes" (a blocked step) as easily as "move by a", which a plain MLP has to
    carve out of its weights.

    Args:
        repr_dim: Size ``D`` of the representation.
        hidden_dim: Size of the GRU cell's state.
        action_dim: Size of an action.
        action_embed_dim: Width of the action embedding (the GRU cell's input).
    """

    def __init__(
        self,
        repr_dim: int = 64,
        hidden_dim: int = 128,
        action_dim: int = 2,
        action_embed_dim: int = 32,
    ) -> None:
        super().__init__()
        check_positive(
            type(self).__name__,
            repr_dim=repr_dim,
            hidden_dim=hidden_dim,
            action_dim=action_dim,
            action_embed_dim=action_embed_dim,
        )
        self.init_args = {
            "repr_dim": repr_dim,
            "hidden_dim": hidden_dim,
            "action_dim": action_dim,
            "action_embed_dim": action_embed_dim,
        }
        self.repr_dim = repr_dim
        self.action_dim = action_dim
        self.action_embed = nn.Sequential(nn.Linear(action_dim, action_embed_dim), nn.GELU())
        self.to_hidden = nn.Sequential(
            nn.LayerNorm(repr_dim), nn.Linear(repr_dim, hidden_dim), nn.Tanh()
        )
        self.cell = nn.GRUCell(action_embed_dim, hidden_dim)
        self.from_hidden = nn.Linear(hidden_dim, repr_dim)
        nn.init.zeros_(self.from_hidden.weight)
        nn.init.zeros_(self.from_hidden.bias)

    def forward(self, z: Tensor, action: Tensor) -> Tensor:
        check_step_inputs(z, action, self.repr_dim, self.action_dim, type(self).__name__)
        h = self.cell(self.action_embed(action), self.to_hidden(z))
        return z + self.from_hidden(h)
