"""Planning during training: the success rate of goal-reaching episodes, every few epochs.

Every ``every_n_epochs`` epochs (and after the last one) :class:`PlanningCallback` runs a small
fixed set of episodes (the same ones each time, drawn from ``seed``) with the module's world
model and logs ``plan/success_final``, ``plan/success_reach``, ``plan/final_distance`` and
``plan/seconds``. It is a monitor: a few dozen episodes give a coarse rate, ``jepa plan`` gives
the figures with their intervals.

The world model is frozen for the episodes and its train/eval mode and ``requires_grad`` flags
are restored; the planner draws from its own generator, so the training run's random streams
are untouched. Under DDP only rank 0 plans and the numbers are broadcast, so every rank logs the
same values and no rank waits on a collective the others skip.
"""

from __future__ import annotations

import time
from typing import Literal

import lightning.pytorch as pl
import numpy as np
from lightning.pytorch.callbacks import Callback

from jepa_world.planning.base import CostMode, Planner
from jepa_world.planning.distance import DistanceMode
from jepa_world.planning.episodes import Episodes, sample_episodes, summarise
from jepa_world.planning.mpc import MPCSettings, check_world_model, plan_episodes
from jepa_world.planning.mppi import MPPI
from jepa_world.rank_zero import log_on_every_rank, run_on_rank_zero


class PlanningCallback(Callback):
    """Log the planning success rate of the world model every few epochs.

    Args:
        every_n_epochs: Plan after every this many training epochs (and after the last).
        episodes: Episodes per evaluation (fixed across evaluations).
        layouts: ``seen`` (training wall range) or ``unseen`` (the excluded range).
        planner: The planner (default: :class:`~jepa_world.planning.mppi.MPPI` with its defaults).
        cost: How distances along the horizon are combined.
        replan_every: Actions executed between two plans.
        plan_norm: Largest action norm the planner proposes (``None``: the environment's 2.45).
        steps: Environment steps per episode.
        distance: How far an imagined representation is from the goal's (``auto``, ``plain``,
            ``pyramid``; :mod:`jepa_world.planning.distance`).
        seed: Seeds the episodes and the planner.
        model_attribute: Attribute of the LightningModule holding the world model.
    """

    def __init__(
        self,
        every_n_epochs: int = 5,
        episodes: int = 32,
        layouts: Literal["seen", "unseen"] = "seen",
        planner: Planner | None = None,
        cost: CostMode = "last",
        replan_every: int = 5,
        plan_norm: float | None = 1.8,
        steps: int = 200,
        distance: DistanceMode = "auto",
        seed: int = 0,
        model_attribute: str = "world_model",
    ) -> None:
        super().__init__()
        if every_n_epochs < 1:
            raise ValueError(f"PlanningCallback: every_n_epochs must be >= 1, got {every_n_epochs}")
        if episodes < 1:
            raise ValueError(f"PlanningCallback: episodes must be >= 1, got {episodes}")
        self.every_n_epochs = every_n_epochs
        self.planner = planner if planner is not None else MPPI()
        self.settings = MPCSettings(
            steps=steps,
            replan_every=replan_every,
            cost=cost,
            plan_norm=plan_norm,
            distance=distance,
        )
        self.episodes: Episodes = sample_episodes(np.random.default_rng(seed), episodes, layouts)
        self.seed = seed
        self.model_attribute = model_attribute
        self.last_summary: dict[str, object] | None = None

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if stage == "fit":
            check_world_model(
                getattr(pl_module, self.model_attribute, None),
                owner=f"PlanningCallback: {type(pl_module).__name__}.{self.model_attribute}",
            )

    def _due(self, trainer: pl.Trainer) -> bool:
        epoch = trainer.current_epoch + 1
        last = trainer.max_epochs is not None and epoch >= trainer.max_epochs
        return epoch % self.every_n_epochs == 0 or last

    def evaluate(self, pl_module: pl.LightningModule) -> dict[str, float]:
        """Run the episodes on the module's world model; the numbers that get logged."""
        model = getattr(pl_module, self.model_attribute)
        tic = time.perf_counter()
        result = plan_episodes(
            model, self.episodes, self.planner, self.settings, self.seed, pl_module.device
        )
        summary = summarise(result.positions, self.episodes.goal)
        self.last_summary = summary
        return {
            "plan/success_final": summary["final"]["success"],
            "plan/success_reach": summary["reach"]["success"],
            "plan/final_distance": summary["final_distance"],
            "plan/seconds": time.perf_counter() - tic,
        }

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not self._due(trainer):
            return
        values = run_on_rank_zero(trainer, lambda: self.evaluate(pl_module), "PlanningCallback")
        log_on_every_rank(pl_module, values)
