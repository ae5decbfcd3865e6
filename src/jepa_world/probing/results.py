"""What a probing evaluation produces: the course's sets, one set's score, a whole result.

Plain data only (no torch, no files), shared by the evaluator, the report, the callback and
``jepa probe``.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class ProbeSet:
    """One evaluation set: the split its prober is trained on and the split it is scored on."""

    name: str
    train: str
    val: str


#: The four course sets. ``normal``, ``wall`` and ``wall_other`` share the prober trained on
#: ``probe_normal/train``; ``expert`` has its own.
PROBE_SETS: dict[str, ProbeSet] = {
    "normal": ProbeSet("normal", "probe_normal/train", "probe_normal/val"),
    "wall": ProbeSet("wall", "probe_normal/train", "probe_wall/val"),
    "wall_other": ProbeSet("wall_other", "probe_normal/train", "probe_wall_other/val"),
    "expert": ProbeSet("expert", "probe_expert/train", "probe_expert/val"),
}
ALL_SETS: tuple[str, ...] = tuple(PROBE_SETS)

#: How many validation trajectories per set keep their decoded path for the plots.
N_EXAMPLES: int = 6


@dataclass
class TrajectoryExamples:
    """A few validation trajectories with the prober's decoded path, for pictures."""

    true: list[list[list[float]]]  # (K, T, 2) pixels
    predicted: list[list[list[float]]]  # (K, T, 2) pixels
    layouts: list[list[int]] | None  # (K, 2) = (wall_x, door_y), when known


@dataclass
class SetResult:
    """The score of one probe set.

    Attributes:
        name: Set name (``normal``, ``wall``, ...).
        mse: The protocol's number in pixels²: MSE per coordinate, averaged over x/y and all T.
        per_timestep: The same, before averaging over time: one value per prediction step,
            ``t = 0`` (the encoded first frame) included.
        n_train: Trajectories the prober was trained on.
        n_val: Trajectories scored (after ``drop_last``).
        train_split: Relative path of the training split.
        val_split: Relative path of the scored split.
    """

    name: str
    mse: float
    per_timestep: list[float]
    n_train: int
    n_val: int
    train_split: str
    val_split: str
    examples: TrajectoryExamples | None = None


@dataclass
class ProbeResult:
    """Everything one evaluation produced; ``losses`` gives the course's four numbers."""

    sets: dict[str, SetResult]
    skipped: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    param_count: int = 0
    repr_dim: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def losses(self) -> dict[str, float]:
        """``{set name: MSE in pixels²}`` for every set that was evaluated, in protocol order."""
        return {name: result.mse for name, result in self.sets.items()}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RepeatedResult:
    """The same evaluation with several prober seeds: the prober's own noise, measured.

    ``runs[i]`` is the result with prober seed ``seeds[i]``; the model and its representations
    are the same in every run.
    """

    runs: list[ProbeResult]
    seeds: list[int]

    @property
    def first(self) -> ProbeResult:
        return self.runs[0]

    def values(self, name: str) -> list[float]:
        """The MSE of set ``name`` in each run."""
        return [run.sets[name].mse for run in self.runs if name in run.sets]

    @property
    def means(self) -> dict[str, float]:
        """``{set: mean MSE over the runs}``: the single numbers written to metrics.txt."""
        return {name: statistics.fmean(self.values(name)) for name in self.first.sets}

    @property
    def stdevs(self) -> dict[str, float]:
        """``{set: sample standard deviation over the runs}`` (0 for a single run)."""
        return {
            name: statistics.stdev(self.values(name)) if len(self.runs) > 1 else 0.0
            for name in self.first.sets
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "seeds": list(self.seeds),
            "mean": self.means,
            "sd": self.stdevs,
            "runs": [run.to_dict() for run in self.runs],
        }
