"""The planner contract: optimise batches of action sequences against a cost.

A planner sees nothing of the world model. It receives a cost function that scores candidate
action sequences ``(B, S, H, 2)`` (``B`` episodes, ``S`` candidates each, horizon ``H``) with
one number per candidate ``(B, S)``, an initial plan ``(B, H, 2)`` (the warm start), and
returns an improved plan ``(B, H, 2)``. Every candidate it scores and every plan it returns has
each action's norm clipped to ``max_norm`` by :func:`clip_actions`, the same rule the episode
loop applies before an action reaches the simulator, so no planner can win by taking larger
steps than another.

The representation-space cost itself (:func:`representation_cost`) lives here too, since it is
what every planner is asked to minimise.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Literal

import torch
from torch import Tensor, nn

from jepa_world.planning.distance import DistanceMode, GoalDistance, map_shape_of

#: Scores candidate sequences ``(B, S, H, 2)`` → ``(B, S)``; lower is better.
CostFn = Callable[[Tensor], Tensor]

#: How the distances along an imagined trajectory are combined (see :func:`step_weights`).
CostMode = Literal["sum", "last", "weighted"]
COST_MODES: tuple[str, ...] = ("sum", "last", "weighted")
#: Weight of the mean distance over the horizon in the ``weighted`` cost (the final one has 1).
WEIGHTED_MEAN: float = 0.1


def clip_actions(actions: Tensor, max_norm: float) -> Tensor:
    """Scale every action ``(..., 2)`` whose Euclidean norm exceeds ``max_norm`` back onto it.

    Direction is kept; shorter actions are untouched. Differentiable (the gradient planner
    optimises through it).
    """
    if not max_norm > 0:
        raise ValueError(f"clip_actions: max_norm must be > 0, got {max_norm}")
    norm = actions.norm(dim=-1, keepdim=True)
    return actions * torch.clamp(max_norm / norm.clamp_min(1e-12), max=1.0)


def step_weights(horizon: int, mode: CostMode) -> Tensor:
    """Weights ``(H,)`` of the distance at each imagined step ``1..H``.

    ``sum``: all ones (every step should be close to the goal: fast, direct plans).
    ``last``: only the final step (reach the goal by the end, however: plans may detour).
    ``weighted``: the final step with weight 1 plus every step with weight ``0.1 / H`` (reach
    the goal by the end, detours allowed; among plans that get there, the ones that stay
    close on the way win, so an agent at the goal does not wander off and come back).
    """
    if horizon < 1:
        raise ValueError(f"step_weights: horizon must be >= 1, got {horizon}")
    if mode == "sum":
        return torch.ones(horizon)
    if mode == "last":
        weights = torch.zeros(horizon)
        weights[-1] = 1.0
        return weights
    if mode == "weighted":
        weights = torch.full((horizon,), WEIGHTED_MEAN / horizon)
        weights[-1] += 1.0
        return weights
    raise ValueError(f"unknown cost mode {mode!r}; expected one of {', '.join(COST_MODES)}")


def representation_cost(
    model: nn.Module,
    z0: Tensor,
    z_goal: Tensor,
    mode: CostMode = "sum",
    steps: int | None = None,
    distance: DistanceMode = "auto",
    chunk: int | None = None,
) -> CostFn:
    """The planning cost in representation space, for a world model with ``encoder``/``predictor``.

    ``z0 (B, D)`` are the current encodings, ``z_goal (B, D)`` the encodings of the goal frames.
    A candidate ``(B, S, H, 2)`` is unrolled by ``model.predictor`` from ``z0`` and scored by the
    distance of each imagined representation to ``z_goal`` (:class:`~jepa_world.planning.distance.GoalDistance`:
    Euclidean, on blurred feature maps at several scales for a code made of maps), combined
    over the horizon with :func:`step_weights`. Distances are accumulated step by step, so
    memory does not grow with the horizon. ``steps``, when given, scores only the first
    ``steps`` actions (the episode ends before the plan does: what would happen after the end
    does not count). ``chunk``, when given, caps the candidates of one predictor call: the
    samples are unrolled a slice at a time (every episode in each slice), which changes the
    time; the costs are the same up to floating-point rounding (see :func:`candidate_chunk`).
    """
    predictor = model.predictor
    to_goal = GoalDistance(z_goal, distance, map_shape_of(model))
    if chunk is not None and chunk < 1:
        raise ValueError(f"representation_cost: chunk must be >= 1 or None, got {chunk}")

    def unroll(actions: Tensor) -> Tensor:
        b, s, h, _ = actions.shape
        weights = step_weights(h, mode).tolist()  # plain floats: no device sync per step
        z = z0[:, None].expand(b, s, z0.shape[-1]).reshape(b * s, -1)
        flat = actions.reshape(b * s, h, 2)
        total = torch.zeros(b, s, dtype=actions.dtype, device=actions.device)
        for t in range(h):
            z = predictor(z, flat[:, t])
            if weights[t] != 0:
                total = total + weights[t] * to_goal(z.reshape(b, s, -1))
        return total

    def cost(actions: Tensor) -> Tensor:
        if steps is not None:
            actions = actions[:, :, :steps]
        b, s = actions.shape[:2]
        if chunk is None or b * s <= chunk:
            return unroll(actions)
        per_call = max(1, chunk // b)
        return torch.cat(
            [unroll(actions[:, lo : lo + per_call]) for lo in range(0, s, per_call)], dim=1
        )

    return cost


#: Numbers of imagined codes a CPU predictor call holds at most under the automatic
#: ``candidate_chunk`` (16 MiB of float32): beyond it the generic model's 9,801-number codes
#: fall out of the caches and each candidate-step costs about 3x more
#: (``benchmarks/planning_batch.py``), while the compact model's 200 x 128 candidates stay one call.
CPU_CODE_BUDGET: int = 1 << 22


def candidate_chunk(setting: int | None, repr_dim: int, device: torch.device) -> int | None:
    """Candidates per predictor call: ``setting`` if given (0: all at once), else automatic.

    Automatic: on a CPU, as many as keep ``candidates x repr_dim`` within
    :data:`CPU_CODE_BUDGET`; elsewhere all at once.
    """
    if setting is not None:
        if setting < 0:
            raise ValueError(f"candidate_chunk must be >= 0 or None, got {setting}")
        return setting or None
    if device.type != "cpu":
        return None
    return max(1, CPU_CODE_BUDGET // max(1, repr_dim))


class Planner(ABC):
    """Optimises action sequences of length ``horizon`` against a :data:`CostFn`.

    Subclasses take their whole configuration as typed constructor arguments (so they are
    chosen and configured from YAML by class path) and implement :meth:`optimise`.

    Args:
        horizon: Number of actions in a plan.
    """

    def __init__(self, horizon: int) -> None:
        if horizon < 1:
            raise ValueError(f"{type(self).__name__}: horizon must be >= 1, got {horizon}")
        self.horizon = horizon

    @abstractmethod
    def optimise(
        self, cost: CostFn, init: Tensor, max_norm: float, generator: torch.Generator
    ) -> Tensor:
        """Improve the plans ``init (B, H, 2)``; returns ``(B, H, 2)`` with clipped actions.

        ``generator`` is the only source of randomness a planner may use, so that a run is
        reproducible and leaves the global random streams untouched.
        """

    def settings(self) -> dict[str, object]:
        """Class path and constructor arguments, as written to episode files and reports."""
        cls = type(self)
        return {"class_path": f"{cls.__module__}.{cls.__qualname__}", "init_args": dict(vars(self))}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


def smooth_noise(
    shape: tuple[int, int, int], knots: int, generator: torch.Generator, device: torch.device
) -> Tensor:
    """Standard normal noise ``(B, S, H, 2)`` drawn at ``knots`` points and linearly interpolated.

    With ``knots == H`` every action is perturbed independently. Fewer knots give smooth
    perturbations, whose sum over the horizon moves the imagined agent far (a random walk of
    independent steps barely leaves its start): that is what lets a sampling planner discover a
    path around the middle wall through the door.
    """
    b, s, h = shape
    k = max(2, min(knots, h))
    points = torch.randn(b * s, 2, k, generator=generator, device=device)
    if k == h:
        return points.transpose(1, 2).reshape(b, s, h, 2)
    dense = torch.nn.functional.interpolate(points, size=h, mode="linear", align_corners=True)
    return dense.transpose(1, 2).reshape(b, s, h, 2)


def check_init(owner: str, init: Tensor, horizon: int) -> None:
    """``init`` must be ``(B, horizon, 2)``."""
    if init.ndim != 3 or init.shape[1] != horizon or init.shape[2] != 2:
        raise ValueError(
            f"{owner}: expected an initial plan of shape (B, {horizon}, 2), got {tuple(init.shape)}"
        )
