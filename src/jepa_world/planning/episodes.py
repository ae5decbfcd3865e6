"""Goal-reaching episodes: sampling, success criteria, summary statistics and the episode file.

An episode is a layout, a start and a goal in opposite rooms (each direction half the time),
as in ``probe_expert``: start and goal uniform in their rooms, ``x`` in ``[4.01, wall_x - 1]``
or ``[wall_x + 1, 59.99]``, ``y`` in ``[4.01, 59.99]``. ``seen`` layouts are drawn from the
training wall range (every column but the excluded ``40..44``), ``unseen`` ones only from the
excluded range, exactly as ``data generate`` draws ``train`` and ``probe_wall_other``.

Success criteria (both reported):

- ``final``: the distance to the goal after the last step is below ``FINAL_RADIUS`` = 4.5 px;
- ``reach``: the agent comes within ``REACH_RADIUS`` = √2 px of the goal at some step.

The episode file (:func:`save_episodes`) is an ``.npz`` of arrays plus a ``.json`` of settings
and results, versioned, so an episode can be replayed in any implementation of the simulator:
``simulate(start, actions, wall_x, door_y)`` reproduces ``positions`` (:func:`replay`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from jepa_world.env.geometry import (
    DEFAULT_EXCLUDE_WALL,
    START_MAX,
    START_MIN,
    WALL_HALF_WIDTH,
    in_wall,
)
from jepa_world.env.physics import simulate
from jepa_world.env.trajectories import sample_layouts
from jepa_world.io import atomic_path

Layouts = Literal["seen", "unseen"]
LAYOUTS: tuple[str, ...] = ("seen", "unseen")

FINAL_RADIUS: float = 4.5
"""Criterion ``final``: distance to the goal after the last step below this, pixels."""
REACH_RADIUS: float = math.sqrt(2.0)
"""Criterion ``reach``: within this distance of the goal at some step, pixels."""
CRITERIA: dict[str, str] = {
    "final": f"final distance < {FINAL_RADIUS} px",
    "reach": "within √2 px at some step",
}

EPISODE_FORMAT = "jepa-world/planning-episodes"
EPISODE_FORMAT_VERSION = 1


@dataclass(frozen=True)
class Episodes:
    """Layouts, starts and goals of ``N`` episodes (all float32 / int64 numpy arrays).

    Attributes:
        wall_x: ``(N,)`` middle wall centre columns.
        door_y: ``(N,)`` door centre rows.
        start: ``(N, 2)`` start positions ``(x, y)``.
        goal: ``(N, 2)`` goal positions ``(x, y)``.
    """

    wall_x: np.ndarray
    door_y: np.ndarray
    start: np.ndarray
    goal: np.ndarray

    def __len__(self) -> int:
        return int(self.wall_x.shape[0])

    def take(self, index: slice | np.ndarray) -> Episodes:
        return Episodes(self.wall_x[index], self.door_y[index], self.start[index], self.goal[index])


def sample_episodes(rng: np.random.Generator, n: int, layouts: Layouts = "seen") -> Episodes:
    """Draw ``n`` episodes: start and goal uniform in opposite rooms of a ``seen``/``unseen`` layout."""
    if n < 1:
        raise ValueError(f"episodes: expected at least 1 episode, got {n}")
    if layouts == "seen":
        wall_x, door_y = sample_layouts(rng, n, exclude_wall=DEFAULT_EXCLUDE_WALL)
    elif layouts == "unseen":
        wall_x, door_y = sample_layouts(rng, n, exclude_wall=None, only_wall=DEFAULT_EXCLUDE_WALL)
    else:
        raise ValueError(f"layouts: expected one of {', '.join(LAYOUTS)}, got {layouts!r}")
    wx = wall_x.astype(np.float64)

    def room(left: bool) -> np.ndarray:
        lo = np.full(n, START_MIN) if left else wx + WALL_HALF_WIDTH
        hi = wx - WALL_HALF_WIDTH if left else np.full(n, START_MAX)
        points = np.stack([rng.uniform(lo, hi), rng.uniform(START_MIN, START_MAX, n)], axis=1)
        # A point exactly on a wall face has probability zero; nudge it inside all the same.
        on_face = in_wall(points, wall_x, door_y)
        points[on_face, 0] += -0.01 if left else 0.01
        return points

    left, right = room(True), room(False)
    rightwards = rng.random(n) < 0.5
    start = np.where(rightwards[:, None], left, right).astype(np.float32)
    goal = np.where(rightwards[:, None], right, left).astype(np.float32)
    return Episodes(wall_x.astype(np.int64), door_y.astype(np.int64), start, goal)


# ---------------------------------------------------------------------------------------------
# Criteria and summary
# ---------------------------------------------------------------------------------------------


def goal_distances(positions: np.ndarray, goal: np.ndarray) -> np.ndarray:
    """Distance to the goal at every step: ``positions (N, T, 2)``, ``goal (N, 2)`` → ``(N, T)``."""
    return np.linalg.norm(positions.astype(np.float64) - goal[:, None].astype(np.float64), axis=-1)


def success_final(positions: np.ndarray, goal: np.ndarray) -> np.ndarray:
    """Criterion ``final`` per episode ``(N,)`` bool: last position within 4.5 px of the goal."""
    return goal_distances(positions[:, -1:], goal)[:, 0] < FINAL_RADIUS


def success_reach(positions: np.ndarray, goal: np.ndarray) -> np.ndarray:
    """Criterion ``reach`` per episode ``(N,)`` bool: within √2 px of the goal at some step."""
    return (goal_distances(positions, goal) <= REACH_RADIUS).any(axis=1)


def first_within(positions: np.ndarray, goal: np.ndarray, radius: float) -> np.ndarray:
    """Steps until the agent is first within ``radius`` of the goal, ``(N,)``; -1 where never."""
    inside = goal_distances(positions, goal) < radius
    return np.where(inside.any(axis=1), inside.argmax(axis=1), -1)


def wilson_interval(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """95 % Wilson score interval of a success rate (sensible at 0 % and 100 % too)."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def summarise(positions: np.ndarray, goal: np.ndarray) -> dict[str, Any]:
    """Success rate with its interval, steps to the goal (successes only), per criterion."""
    n = positions.shape[0]
    final_distance = goal_distances(positions[:, -1:], goal)[:, 0]
    out: dict[str, Any] = {"episodes": n, "final_distance": float(final_distance.mean())}
    for name, ok, radius in (
        ("final", success_final(positions, goal), FINAL_RADIUS),
        ("reach", success_reach(positions, goal), REACH_RADIUS),
    ):
        steps = first_within(positions, goal, radius + (1e-9 if name == "reach" else 0.0))
        low, high = wilson_interval(int(ok.sum()), n)
        out[name] = {
            "success": float(ok.mean()),
            "ci95": [low, high],
            "steps": float(steps[ok].mean()) if ok.any() else float("nan"),
        }
    return out


def success_curve(positions: np.ndarray, goal: np.ndarray) -> dict[str, np.ndarray]:
    """Success against the step budget ``t = 0..T-1``: ``reach`` by ``t`` and distance < 4.5 at ``t``."""
    dist = goal_distances(positions, goal)
    return {
        "reach": np.maximum.accumulate(dist <= REACH_RADIUS, axis=1).mean(axis=0),
        "final": (dist < FINAL_RADIUS).mean(axis=0),
    }


# ---------------------------------------------------------------------------------------------
# The episode file
# ---------------------------------------------------------------------------------------------


@dataclass
class EpisodeRecord:
    """What a planning run did, with everything needed to replay it.

    Attributes:
        episodes: The layouts, starts and goals.
        actions: ``(N, steps, 2)`` float32 executed actions (already clipped).
        positions: ``(N, steps + 1, 2)`` float32 visited positions, ``positions[:, 0] == start``.
        settings: Planner, cost, horizon, seed, model and anything else that produced the run.
        summary: Output of :func:`summarise`.
    """

    episodes: Episodes
    actions: np.ndarray
    positions: np.ndarray
    settings: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)


def save_episodes(record: EpisodeRecord, stem: str | Path) -> tuple[Path, Path]:
    """Write ``<stem>.npz`` (arrays) and ``<stem>.json`` (format, settings, summary); atomic."""
    stem = Path(stem)
    npz, meta = stem.with_suffix(".npz"), stem.with_suffix(".json")
    e = record.episodes
    with atomic_path(npz) as tmp:
        with open(tmp, "wb") as handle:
            np.savez_compressed(
                handle,
                wall_x=e.wall_x,
                door_y=e.door_y,
                start=e.start,
                goal=e.goal,
                actions=record.actions.astype(np.float32),
                positions=record.positions.astype(np.float32),
            )
    header = {
        "format": EPISODE_FORMAT,
        "format_version": EPISODE_FORMAT_VERSION,
        "arrays": npz.name,
        "replay": "positions == simulate(start, actions, wall_x, door_y) (jepa_world.env.simulate)",
        "settings": record.settings,
        "summary": record.summary,
    }
    with atomic_path(meta) as tmp:
        Path(tmp).write_text(json.dumps(header, indent=2, default=_plain) + "\n")
    return npz, meta


def load_episodes(stem: str | Path) -> EpisodeRecord:
    """Read a record written by :func:`save_episodes` (``stem`` with or without a suffix)."""
    stem = Path(stem)
    npz, meta = stem.with_suffix(".npz"), stem.with_suffix(".json")
    for path in (npz, meta):
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such episode file (written by `jepa plan --out`)")
    header = json.loads(meta.read_text())
    if header.get("format") != EPISODE_FORMAT:
        raise ValueError(f"{meta}: not a planning episode file (format {header.get('format')!r})")
    if int(header.get("format_version", 0)) > EPISODE_FORMAT_VERSION:
        raise ValueError(
            f"{meta}: format version {header['format_version']} is newer than this code's "
            f"{EPISODE_FORMAT_VERSION}; update jepa_world"
        )
    with np.load(npz) as data:
        arrays = {key: data[key] for key in data.files}
    episodes = Episodes(arrays["wall_x"], arrays["door_y"], arrays["start"], arrays["goal"])
    return EpisodeRecord(
        episodes,
        arrays["actions"],
        arrays["positions"],
        header.get("settings", {}),
        header.get("summary", {}),
    )


def replay(record: EpisodeRecord) -> np.ndarray:
    """Positions obtained by running the recorded actions through the simulator again."""
    e = record.episodes
    return simulate(e.start, record.actions, e.wall_x, e.door_y)


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
