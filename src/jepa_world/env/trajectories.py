"""Samplers of layouts and trajectories for every split of the task (protocol §1-§2).

Every sampler takes a ``numpy.random.Generator`` first and returns :class:`Trajectories`.
Work is vectorised over trajectories; the only Python loops run over time steps or over the
rare redraws. Actions are drawn in float64 and stored as float32, and locations come from
:func:`~jepa_world.env.physics.simulate` on those float32 actions, so the stored arrays obey the
transition rule exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from jepa_world.env.geometry import (
    BORDER_HIGH,
    BORDER_LOW,
    DEFAULT_EXCLUDE_WALL,
    DOOR_HALF_HEIGHT,
    DOOR_Y_RANGE,
    START_MAX,
    START_MIN,
    WALL_HALF_WIDTH,
    allowed_wall_columns,
    in_wall,
)
from jepa_world.env.physics import simulate

WallRange = tuple[int, int] | str | None


@dataclass(frozen=True)
class Trajectories:
    """A batch of trajectories and their layouts.

    Attributes:
        locations: ``(N, T, 2)`` float32 agent positions ``(x, y)``.
        actions: ``(N, T-1, 2)`` float32 actions (a blocked action is still recorded).
        wall_x: ``(N,)`` int64 middle wall centre columns.
        door_y: ``(N,)`` int64 door centre rows.
    """

    locations: np.ndarray
    actions: np.ndarray
    wall_x: np.ndarray
    door_y: np.ndarray

    def __post_init__(self) -> None:
        n = self.locations.shape[0]
        if self.locations.ndim != 3 or self.locations.shape[2] != 2:
            raise ValueError(f"locations: expected (N, T, 2), got {self.locations.shape}")
        expected = (n, self.locations.shape[1] - 1, 2)
        if self.actions.shape != expected:
            raise ValueError(f"actions: expected {expected}, got {self.actions.shape}")
        for name in ("wall_x", "door_y"):
            if getattr(self, name).shape != (n,):
                raise ValueError(f"{name}: expected ({n},), got {getattr(self, name).shape}")

    def __len__(self) -> int:
        return self.locations.shape[0]

    @property
    def steps(self) -> int:
        """Number of frames ``T`` per trajectory."""
        return self.locations.shape[1]

    @property
    def layouts(self) -> np.ndarray:
        """``(N, 2)`` int64 ``(wall_x, door_y)``, the ``layouts.npy`` format."""
        return np.stack([self.wall_x, self.door_y], axis=1).astype(np.int64)

    @property
    def blocked(self) -> np.ndarray:
        """``(N, T-1)`` bool: a non-zero action after which the agent did not move."""
        stayed = np.all(self.locations[:, 1:] == self.locations[:, :-1], axis=-1)
        return stayed & np.any(self.actions != 0, axis=-1)

    def take(self, index: np.ndarray | slice) -> Trajectories:
        """The trajectories at ``index`` (an index array, mask or slice)."""
        return Trajectories(
            self.locations[index], self.actions[index], self.wall_x[index], self.door_y[index]
        )

    @staticmethod
    def concatenate(parts: Sequence[Trajectories]) -> Trajectories:
        """Join batches of the same length ``T`` along the trajectory axis."""
        return Trajectories(
            np.concatenate([p.locations for p in parts]),
            np.concatenate([p.actions for p in parts]),
            np.concatenate([p.wall_x for p in parts]),
            np.concatenate([p.door_y for p in parts]),
        )


def sample_layouts(
    rng: np.random.Generator,
    n: int,
    exclude_wall: WallRange = DEFAULT_EXCLUDE_WALL,
    only_wall: WallRange = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` layouts: ``wall_x`` uniform over the allowed columns, ``door_y`` uniform in 10..54.

    Args:
        rng: random generator.
        n: number of layouts.
        exclude_wall: inclusive wall-column range never drawn (training layouts), or ``None``.
        only_wall: inclusive wall-column range to draw from exclusively (``probe_wall_other``).

    Returns:
        ``(wall_x, door_y)``, each ``(n,)`` int64.
    """
    columns = allowed_wall_columns(exclude_wall, only_wall)
    wall_x = rng.choice(columns, size=n).astype(np.int64)
    door_y = rng.integers(DOOR_Y_RANGE[0], DOOR_Y_RANGE[1] + 1, size=n).astype(np.int64)
    return wall_x, door_y


def truncated_normal(
    rng: np.random.Generator,
    mean: float | np.ndarray,
    sd: float,
    low: float | np.ndarray,
    high: float | np.ndarray,
    size: int | tuple[int, ...],
) -> np.ndarray:
    """Normal draws restricted to ``[low, high]`` by redrawing the ones that fall outside."""
    shape = (size,) if isinstance(size, int) else tuple(size)
    mean = np.broadcast_to(np.asarray(mean, dtype=np.float64), shape)
    low = np.broadcast_to(np.asarray(low, dtype=np.float64), shape)
    high = np.broadcast_to(np.asarray(high, dtype=np.float64), shape)
    out = rng.normal(mean, sd)
    bad = (out < low) | (out > high)
    while bad.any():
        out[bad] = rng.normal(mean[bad], sd)
        bad = (out < low) | (out > high)
    return out


def heading_walks(
    rng: np.random.Generator,
    heading0: np.ndarray,
    n_actions: int,
    *,
    kappa: float = 5.0,
    step_mean: float = 1.0,
    step_sd: float = 0.4,
    step_min: float = 0.2,
    step_max: float = 1.8,
) -> np.ndarray:
    """Random-walk actions ``(n, n_actions, 2)`` float64 starting with heading ``heading0`` ``(n,)``.

    The heading turns by a von Mises(0, ``kappa``) angle between actions; step lengths are
    i.i.d. normal(``step_mean``, ``step_sd``) truncated to ``[step_min, step_max]``.
    """
    heading0 = np.asarray(heading0, dtype=np.float64)
    n = heading0.shape[0]
    turns = rng.vonmises(0.0, kappa, size=(n, max(n_actions - 1, 0)))
    headings = heading0[:, None] + np.concatenate([np.zeros((n, 1)), np.cumsum(turns, axis=1)], 1)
    headings = headings[:, :n_actions]
    lengths = truncated_normal(rng, step_mean, step_sd, step_min, step_max, (n, n_actions))
    return np.stack([np.cos(headings), np.sin(headings)], axis=-1) * lengths[..., None]


def random_starts(rng: np.random.Generator, wall_x: np.ndarray, door_y: np.ndarray) -> np.ndarray:
    """Starts uniform in ``[4, 60]^2``; one inside the middle wall gets x redrawn on a random side."""
    n = wall_x.shape[0]
    start = rng.uniform(BORDER_LOW, BORDER_HIGH, size=(n, 2))
    left = wall_x - WALL_HALF_WIDTH
    right = wall_x + WALL_HALF_WIDTH
    inside = (start[:, 0] >= left) & (start[:, 0] <= right)
    inside &= np.abs(start[:, 1] - door_y) > DOOR_HALF_HEIGHT
    go_left = rng.random(n) < 0.5
    new_left = rng.uniform(BORDER_LOW, left)
    new_right = rng.uniform(right, BORDER_HIGH)
    start[:, 0] = np.where(inside, np.where(go_left, new_left, new_right), start[:, 0])
    return start


def _cross_wall(
    rng: np.random.Generator,
    wall_x: np.ndarray,
    door_y: np.ndarray,
    n_actions: int,
    walk: dict[str, float],
    door_sd: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Starts ``(n, 2)`` and actions ``(n, S, 2)`` of walks built to pass through a door point.

    Two walks leave a door point in roughly opposite directions (one heading left within
    +-45 degrees, the other its opposite); the first ``k`` actions of the left walk, reversed
    and negated, lead into the door point and the right walk carries on. Half the sequences are
    then reversed and negated to cross the other way.
    """
    n, s = wall_x.shape[0], n_actions
    door_point = np.stack(
        [
            rng.uniform(wall_x - WALL_HALF_WIDTH, wall_x + WALL_HALF_WIDTH),
            truncated_normal(
                rng, door_y, door_sd, door_y - DOOR_HALF_HEIGHT, door_y + DOOR_HALF_HEIGHT, n
            ),
        ],
        axis=1,
    )
    k = rng.integers(1, s + 1, size=n)
    phi = np.pi + rng.uniform(-np.pi / 4, np.pi / 4, size=n)
    into = heading_walks(rng, phi, s, **walk)
    onwards = heading_walks(rng, phi + np.pi, s, **walk)
    t = np.arange(s)[None, :]
    before = t < k[:, None]
    first = np.take_along_axis(into, np.clip(k[:, None] - 1 - t, 0, s - 1)[..., None], axis=1)
    second = np.take_along_axis(onwards, np.clip(t - k[:, None] + 1, 0, s - 1)[..., None], axis=1)
    actions = np.where(before[..., None], -first, second)
    reverse = rng.random(n) < 0.5
    actions = np.where(reverse[:, None, None], -actions[:, ::-1], actions)
    reached_after = np.where(reverse, s - k, k)
    partial = np.concatenate([np.zeros((n, 1, 2)), np.cumsum(actions, axis=1)], axis=1)
    start = door_point - partial[np.arange(n), reached_after]
    return np.clip(start, START_MIN, START_MAX), actions


def check_probability(name: str, value: float) -> None:
    """Raise a ``ValueError`` naming ``name`` unless ``0 <= value <= 1``."""
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name}: expected a probability in [0, 1], got {value}")


#: A door-edge contact start lies this far (px) beyond the door's edge at most.
CONTACT_EDGE_RANGE = 4.0
#: ... and this far (px) from the wall face at most (at least 0.2 px).
CONTACT_FACE_RANGE = 3.0


def _door_edge_contacts(
    rng: np.random.Generator,
    wall_x: np.ndarray,
    door_y: np.ndarray,
    n_actions: int,
    walk: dict[str, float],
) -> tuple[np.ndarray, np.ndarray]:
    """Starts ``(n, 2)`` and actions ``(n, S, 2)`` of walks that run into the wall beside the door.

    The start is 0.2 to :data:`CONTACT_FACE_RANGE` px in front of a random face of the middle
    wall and 0 to :data:`CONTACT_EDGE_RANGE` px beyond a random edge of the door (kept inside
    the room); the walk's first heading points at the wall within +-60 degrees. Most such walks
    are stopped by the wall within a few steps; those that start at the very edge and head
    towards the door slip through it: the two cases a model must tell apart there.
    """
    n = wall_x.shape[0]
    side = np.where(rng.random(n) < 0.5, -1.0, 1.0)  # -1: left of the wall
    x = wall_x + side * (WALL_HALF_WIDTH + rng.uniform(0.2, CONTACT_FACE_RANGE, n))
    beyond = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    y = door_y + beyond * (DOOR_HALF_HEIGHT + rng.uniform(0.0, CONTACT_EDGE_RANGE, n))
    start = np.clip(np.stack([x, y], axis=1), START_MIN, START_MAX)
    heading = np.where(side < 0, 0.0, np.pi) + rng.uniform(-np.pi / 3, np.pi / 3, n)
    return start, heading_walks(rng, heading, n_actions, **walk)


def random_trajectories(
    rng: np.random.Generator,
    n: int,
    T: int = 17,
    *,
    exclude_wall: WallRange = DEFAULT_EXCLUDE_WALL,
    only_wall: WallRange = None,
    cross_wall_rate: float = 0.1,
    kappa: float = 5.0,
    step_mean: float = 1.0,
    step_sd: float = 0.4,
    step_min: float = 0.2,
    step_max: float = 1.8,
    door_sd: float = 1.4,
    door_edge_rate: float = 0.0,
) -> Trajectories:
    """Exploratory random walks (``train``, ``probe_normal``, ``probe_wall_other``).

    Args:
        rng: random generator.
        n: number of trajectories.
        T: frames per trajectory (``T - 1`` actions).
        exclude_wall: inclusive wall-column range never drawn, or ``None``.
        only_wall: inclusive wall-column range to draw from exclusively, or ``None``.
        cross_wall_rate: probability that a trajectory is built to pass through the door.
        kappa: von Mises concentration of the heading change per step.
        step_mean: mean of the step length before truncation.
        step_sd: standard deviation of the step length before truncation.
        step_min: shortest step length.
        step_max: longest step length.
        door_sd: standard deviation of a cross-wall trajectory's door point around the door centre.
        door_edge_rate: probability that a trajectory is instead a walk into the wall beside
            the door (:func:`_door_edge_contacts`): extra examples of the wall stopping the
            agent just beyond the door's edge, which the random walks rarely give (about 1 %
            of their steps). 0 (the course data's distribution) leaves the draws unchanged.

    A constructed cross-wall start that lands inside the middle wall is drawn again (rare;
    the protocol leaves the case open), so that no location is ever inside a wall.
    """
    if T < 2:
        raise ValueError(f"T: expected at least 2 frames, got {T}")
    check_probability("cross_wall_rate", cross_wall_rate)
    check_probability("door_edge_rate", door_edge_rate)
    walk = dict(
        kappa=kappa, step_mean=step_mean, step_sd=step_sd, step_min=step_min, step_max=step_max
    )
    wall_x, door_y = sample_layouts(rng, n, exclude_wall, only_wall)
    start = random_starts(rng, wall_x, door_y)
    actions = heading_walks(rng, rng.uniform(0.0, 2 * np.pi, size=n), T - 1, **walk)
    todo = np.flatnonzero(rng.random(n) < cross_wall_rate)
    while todo.size:
        s, a = _cross_wall(rng, wall_x[todo], door_y[todo], T - 1, walk, door_sd)
        start[todo], actions[todo] = s, a
        todo = todo[in_wall(start[todo].astype(np.float32), wall_x[todo], door_y[todo])]
    if door_edge_rate > 0.0:
        edge = np.flatnonzero(rng.random(n) < door_edge_rate)
        start[edge], actions[edge] = _door_edge_contacts(
            rng, wall_x[edge], door_y[edge], T - 1, walk
        )
    actions = actions.astype(np.float32)
    locations = simulate(start.astype(np.float32), actions, wall_x, door_y)
    return Trajectories(locations, actions, wall_x, door_y)
