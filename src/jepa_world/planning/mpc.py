"""The receding-horizon loop: plan in representation space, execute a few actions, replan.

For a batch of episodes at once: render the current frames, encode them, let the planner
optimise ``H`` actions against the goal frames' encodings (warm-started from the previous plan
shifted by the executed steps), execute the first ``replan_every`` actions (each clipped to
``max_norm``) in the simulator, and repeat until ``steps`` actions have been taken. The world
model is only ever shown frames: the goal is a rendered frame, and the true positions are used
by the simulator and for scoring, never by the planner.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from jepa_world.env.geometry import AGENT_PEAK
from jepa_world.env.physics import simulate
from jepa_world.env.render import render
from jepa_world.planning.base import (
    COST_MODES,
    CostMode,
    Planner,
    candidate_chunk,
    clip_actions,
    representation_cost,
)
from jepa_world.planning.distance import DISTANCE_MODES, DistanceMode
from jepa_world.planning.episodes import EpisodeRecord, Episodes, summarise

#: Largest norm of an executed (and imagined) action, pixels; the same for every planner.
MAX_ACTION_NORM: float = 2.45
#: Environment steps per episode.
EPISODE_STEPS: int = 200

#: Called as ``progress(done, total)`` after every replan, in executed episode-steps
#: (``total`` = episodes x steps per episode).
ProgressFn = Callable[[int, int], None]


@dataclass(frozen=True)
class MPCSettings:
    """How the loop runs a planner.

    Attributes:
        steps: Actions executed per episode.
        replan_every: Actions executed between two calls of the planner.
        cost: How distances along the horizon are combined (``sum``, ``last``, ``weighted``).
        max_norm: Largest action norm the environment accepts, pixels; every executed action is
            clipped to it.
        plan_norm: Largest action norm the planner may propose (``None``: ``max_norm``). A
            learned model is only trustworthy on the moves it was trained on: the course data's
            steps are at most 1.8 px long, and a step longer than the 2-px middle wall slab can
            jump it, which a model that never saw such a jump may let through.
        batch_size: Episodes planned together (``None``: all at once).
        distance: How far an imagined representation is from the goal's
            (:mod:`jepa_world.planning.distance`): ``auto`` (``pyramid`` for a code made of
            feature maps, else ``plain``), ``plain`` (Euclidean) or ``pyramid``.
        candidate_chunk: Most candidates (episodes x samples) unrolled in one predictor call;
            ``None``: automatic (:func:`~jepa_world.planning.base.candidate_chunk`: on a CPU,
            16 MiB of codes per call; on a GPU, all at once); ``0``: all at once. It changes
            the time; the costs are the same up to floating-point rounding.
    """

    steps: int = EPISODE_STEPS
    replan_every: int = 5
    cost: CostMode = "last"
    max_norm: float = MAX_ACTION_NORM
    plan_norm: float | None = 1.8
    batch_size: int | None = None
    distance: DistanceMode = "auto"
    candidate_chunk: int | None = None

    @property
    def planning_norm(self) -> float:
        """The norm limit the planner works with."""
        return self.max_norm if self.plan_norm is None else self.plan_norm

    def __post_init__(self) -> None:
        if self.steps < 1 or self.replan_every < 1:
            raise ValueError(
                f"MPCSettings: steps and replan_every must be >= 1, got {self.steps}, {self.replan_every}"
            )
        if self.cost not in COST_MODES:
            raise ValueError(
                f"MPCSettings: unknown cost {self.cost!r}; expected one of {', '.join(COST_MODES)}"
            )
        if not self.max_norm > 0:
            raise ValueError(f"MPCSettings: max_norm must be > 0, got {self.max_norm}")
        if self.plan_norm is not None and not 0 < self.plan_norm <= self.max_norm:
            raise ValueError(
                f"MPCSettings: plan_norm must be in (0, max_norm={self.max_norm}], got {self.plan_norm}"
            )
        if self.distance not in DISTANCE_MODES:
            raise ValueError(
                f"MPCSettings: unknown distance {self.distance!r}; expected one of "
                f"{', '.join(DISTANCE_MODES)}"
            )
        if self.batch_size is not None and self.batch_size < 1:
            raise ValueError(f"MPCSettings: batch_size must be >= 1, got {self.batch_size}")
        if self.candidate_chunk is not None and self.candidate_chunk < 0:
            raise ValueError(
                f"MPCSettings: candidate_chunk must be >= 0 or None, got {self.candidate_chunk}"
            )


def check_world_model(model: object, owner: str = "planning") -> nn.Module:
    """``model`` must be a module with an ``encoder`` (frames → z) and a ``predictor`` ((z, a) → z)."""
    ok = isinstance(model, nn.Module) and all(
        isinstance(getattr(model, part, None), nn.Module) for part in ("encoder", "predictor")
    )
    if not ok or not isinstance(getattr(model, "repr_dim", None), int):
        raise TypeError(
            f"{owner}: expected a world model (a module with `encoder`, `predictor` and an integer "
            f"`repr_dim`, e.g. jepa_world.models.WorldModel), got {type(model).__name__}"
        )
    return model  # type: ignore[return-value]


def check_model_device(model: nn.Module, device: torch.device) -> None:
    """Raise unless every parameter and buffer of ``model`` is on ``device`` (by type and index)."""
    for tensor in (*model.parameters(), *model.buffers()):
        here = tensor.device
        index = device.index
        if index is None and device.type == "cuda" and here.type == "cuda":
            index = torch.cuda.current_device()  # where a bare "cuda" puts new tensors
        if here.type != device.type or (index is not None and here.index != index):
            raise ValueError(
                f"planning: the world model is on {here} but planning was asked to run on "
                f"{device}; move it first (model.to({str(device)!r})) or pass device={str(here)!r}"
            )


@contextmanager
def frozen_for_planning(model: nn.Module) -> Iterator[nn.Module]:
    """Eval mode and no parameter gradients inside the block; both restored afterwards.

    The gradient planner differentiates through the model with respect to the actions only;
    without this, it would also leave gradients in the model's parameters (in the middle of a
    training run, when called from the callback).
    """
    modes = {m: m.training for m in model.modules()}
    flags = {p: p.requires_grad for p in model.parameters()}
    model.eval()
    for p in flags:
        p.requires_grad_(False)
    try:
        yield model
    finally:
        for m, mode in modes.items():
            m.train(mode)
        for p, flag in flags.items():
            p.requires_grad_(flag)


def frames_at(positions: np.ndarray, episodes: Episodes) -> Tensor:
    """Rendered frames ``(N, 2, 65, 65)`` of the agent at ``positions (N, 2)`` in each layout."""
    frames = render(positions[:, None], episodes.wall_x, episodes.door_y, wall_value=AGENT_PEAK)
    return torch.from_numpy(frames[:, 0])


@dataclass
class PlanResult:
    """Executed actions ``(N, steps, 2)``, visited positions ``(N, steps + 1, 2)``, seconds taken.

    ``first_plans`` ``(N, H, 2)`` is the plan the planner made from each start, before anything
    was executed (what :func:`~jepa_world.planning.readout.imagined_paths` draws).
    """

    actions: np.ndarray
    positions: np.ndarray
    seconds: float
    first_plans: np.ndarray


def _run_batch(
    model: nn.Module,
    episodes: Episodes,
    planner: Planner,
    settings: MPCSettings,
    generator: torch.Generator,
    device: torch.device,
    on_executed: Callable[[int], None],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n, h, k = len(episodes), planner.horizon, settings.replan_every
    chunk = candidate_chunk(settings.candidate_chunk, model.repr_dim, device)
    with torch.no_grad():
        z_goal = model.encoder(frames_at(episodes.goal, episodes).to(device))
    positions = np.empty((n, settings.steps + 1, 2), dtype=np.float32)
    actions = np.zeros((n, settings.steps, 2), dtype=np.float32)
    positions[:, 0] = episodes.start
    plan = torch.zeros(n, h, 2, device=device)
    first_plans = np.zeros((n, h, 2), dtype=np.float32)
    t = 0
    while t < settings.steps:
        with torch.no_grad():
            z0 = model.encoder(frames_at(positions[:, t], episodes).to(device))
        cost = representation_cost(
            model,
            z0,
            z_goal,
            settings.cost,
            steps=min(h, settings.steps - t),
            distance=settings.distance,
            chunk=chunk,
        )
        plan = planner.optimise(cost, plan, settings.planning_norm, generator)
        if t == 0:
            first_plans = plan.detach().cpu().numpy().astype(np.float32)
        todo = min(k, settings.steps - t, h)
        executed = clip_actions(plan[:, :todo], settings.max_norm).cpu().numpy().astype(np.float32)
        moved = simulate(positions[:, t], executed, episodes.wall_x, episodes.door_y)
        actions[:, t : t + todo] = executed
        positions[:, t + 1 : t + todo + 1] = moved[:, 1:]
        t += todo
        on_executed(n * todo)
        # Warm start: the rest of the plan, padded with zeros ("stay") at the far end.
        plan = torch.cat([plan[:, todo:], torch.zeros(n, todo, 2, device=device)], dim=1)
    return actions, positions, first_plans


def plan_episodes(
    world_model: nn.Module,
    episodes: Episodes,
    planner: Planner,
    settings: MPCSettings | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
    progress: ProgressFn | None = None,
) -> PlanResult:
    """Run every episode with ``planner`` on ``world_model``, batched; returns what was done.

    Args:
        world_model: A module with ``encoder`` and ``predictor`` (a :class:`~jepa_world.models.WorldModel`,
            or :func:`~jepa_world.planning.reference.simulator_model`). Frozen during the call;
            its train/eval mode and ``requires_grad`` flags are restored afterwards.
        episodes: Layouts, starts and goals (:func:`~jepa_world.planning.episodes.sample_episodes`).
        planner: Any :class:`~jepa_world.planning.base.Planner`.
        settings: The loop's settings (default :class:`MPCSettings`).
        seed: Seeds the planner's own generator; the global random streams are not touched.
        device: Where the model is (it is not moved: put it there first, e.g.
            ``world_model.to("cuda")``); the planner's candidates are drawn there too. The
            simulator that executes the chosen actions always runs on the CPU.
        progress: Told ``(done, total)`` executed episode-steps after every replan (for a
            progress display; :class:`~jepa_world.planning.report.ProgressLines` prints lines).
    """
    model = check_world_model(world_model)
    settings = settings or MPCSettings()
    if len(episodes) < 1:
        raise ValueError("plan_episodes: expected at least 1 episode, got 0")
    device = torch.device(device)
    check_model_device(model, device)
    generator = torch.Generator(device=device).manual_seed(seed)
    size = settings.batch_size or len(episodes)
    total = len(episodes) * settings.steps
    done = 0

    def on_executed(count: int) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress(done, total)

    tic = time.perf_counter()
    parts = []
    with frozen_for_planning(model):
        for lo in range(0, len(episodes), size):
            batch = episodes.take(slice(lo, lo + size))
            parts.append(
                _run_batch(model, batch, planner, settings, generator, device, on_executed)
            )
    seconds = time.perf_counter() - tic
    actions, positions, first_plans = (
        np.concatenate(arrays) for arrays in zip(*parts, strict=True)
    )
    return PlanResult(actions, positions, seconds, first_plans)


def plan_episode(
    world_model: nn.Module,
    start: np.ndarray,
    goal: np.ndarray,
    wall_x: int,
    door_y: int,
    planner: Planner,
    settings: MPCSettings | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
) -> PlanResult:
    """One episode: ``start``/``goal`` ``(2,)`` in the layout ``(wall_x, door_y)``, on ``device``."""
    episodes = Episodes(
        np.array([wall_x], dtype=np.int64),
        np.array([door_y], dtype=np.int64),
        np.asarray(start, dtype=np.float32).reshape(1, 2),
        np.asarray(goal, dtype=np.float32).reshape(1, 2),
    )
    return plan_episodes(world_model, episodes, planner, settings, seed, device)


def record(episodes: Episodes, result: PlanResult, settings: dict[str, object]) -> EpisodeRecord:
    """Bundle a run into an :class:`~jepa_world.planning.episodes.EpisodeRecord` with its summary."""
    summary = summarise(result.positions, episodes.goal)
    summary["seconds_per_episode"] = result.seconds / len(episodes)
    return EpisodeRecord(episodes, result.actions, result.positions, settings, summary)
