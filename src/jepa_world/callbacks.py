"""Training-time monitors (representation collapse, non-finite losses, frame rate) and crash-safe
checkpoint writing.

The monitors watch what :class:`jepa_world.module.JEPAModule` reports (logged embedding
statistics, the loss terms of ``training_step``) and say in plain words what went wrong, at which
step, and what to try, instead of letting a run silently produce a useless or NaN model. Their
stop decisions are shared by every process of a multi-process run, so no process is left waiting
on a collective the others abandoned.

:class:`AtomicCheckpointIO` writes each checkpoint under a temporary name and renames it into
place, so a job killed while saving leaves the previous ``last.ckpt`` intact, and
:class:`ResumableCheckpoint` writes ``last.ckpt`` on schedule even before the first validation
(both live in :mod:`jepa_world.checkpoint_writing` and are re-exported here).
"""

from __future__ import annotations

import math
import time
from typing import Any

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn

from jepa_world.checkpoint_writing import (
    AtomicCheckpointIO,
    ResumableCheckpoint,
    use_atomic_checkpoints,
)
from jepa_world.module import RANK_METRIC, STD_METRIC, STEP_CHANGE_METRIC

__all__ = [
    "AtomicCheckpointIO",
    "CollapseMonitor",
    "FrameRate",
    "NaNGuard",
    "ResumableCheckpoint",
    "use_atomic_checkpoints",
]


class CollapseMonitor(L.Callback):
    """Warn when the embeddings collapse; optionally stop after ``patience`` collapsed checks.

    Every ``check_every_n_steps`` optimizer steps it reads the embedding statistics of the
    training batch logged by ``JEPAModule``. Three failures are told apart:

    - complete collapse: the mean per-dimension std near zero (every frame gets one code);
    - dimensional collapse: the effective rank near 1 (every code on a line), whatever the scale;
    - a static code: the code differs between trajectories but hardly changes along each one
      (``train/embedding_step_change`` near zero). It holds the layout and not the agent, the
      predictor has nothing to do, and the probe error is that of a model that learned nothing,
      while std and rank look healthy. The contrastive margin without inverse dynamics ends
      there on the generic model (docs/results.md).

    Args:
        min_std: Mean per-dimension std below which the embeddings count as collapsed.
        min_effective_rank: Effective rank below which they count as collapsed.
        min_step_change: Step change (:func:`jepa_world.module.step_change`) below which the
            code counts as static. Healthy codes measure 0.04 to 0.25 on the generated data;
            ``0`` turns the check off (data where the agent does not move).
        check_every_n_steps: Optimizer steps between checks.
        patience: Stop training after this many consecutive collapsed checks; ``None``
            (default) only warns.
    """

    def __init__(
        self,
        min_std: float = 1e-2,
        min_effective_rank: float = 1.5,
        min_step_change: float = 1e-2,
        check_every_n_steps: int = 50,
        patience: int | None = None,
    ) -> None:
        super().__init__()
        if min_std < 0 or min_effective_rank < 0 or min_step_change < 0:
            raise ValueError(
                "CollapseMonitor: min_std, min_effective_rank and min_step_change must be >= 0, "
                f"got {min_std}, {min_effective_rank} and {min_step_change}"
            )
        if check_every_n_steps < 1:
            raise ValueError(
                f"CollapseMonitor: check_every_n_steps must be >= 1, got {check_every_n_steps}"
            )
        if patience is not None and patience < 1:
            raise ValueError(f"CollapseMonitor: patience must be >= 1 or None, got {patience}")
        self.min_std = min_std
        self.min_effective_rank = min_effective_rank
        self.min_step_change = min_step_change
        self.check_every_n_steps = check_every_n_steps
        self.patience = patience
        self.strikes = 0
        self._last_checked = -1

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        step = trainer.global_step
        if step == self._last_checked or step % self.check_every_n_steps != 0:
            return
        self._last_checked = step
        problem = self._problem(trainer)
        if problem is None:
            self.strikes = 0
            return
        self.strikes += 1
        rank_zero_warn(
            f"Representation collapse at step {step}: {problem} (check {self.strikes}"
            + (f" of {self.patience}" if self.patience else "")
            + ")."
        )
        stop = self.patience is not None and self.strikes >= self.patience
        if _any_process(trainer, stop):  # every process stops at the same step
            rank_zero_warn(
                f"CollapseMonitor: stopping training after {self.strikes} collapsed checks."
            )
            trainer.should_stop = True

    def _problem(self, trainer: L.Trainer) -> str | None:
        """What is wrong with the logged statistics, with what to try; ``None`` when healthy."""
        stats = {
            "std": _metric(trainer, STD_METRIC),
            "effective_rank": _metric(trainer, RANK_METRIC),
            "step_change": _metric(trainer, STEP_CHANGE_METRIC),
        }
        found = self.diagnose(stats)
        return None if found is None else found[1]

    def diagnose(self, stats: dict[str, float | None]) -> tuple[str, str] | None:
        """``("collapsed" | "static", what is wrong and what to try)``, or ``None`` when healthy.

        ``stats`` holds ``std``, ``effective_rank`` and ``step_change`` as
        :func:`jepa_world.module.embedding_stats` names them; a missing or ``None`` value is not
        checked. A collapsed code is reported as such, not also as static. Used on the logged
        statistics during training, and by the benchmarks on trained models.
        """
        std, rank = stats.get("std"), stats.get("effective_rank")
        problems = []
        if std is not None and std < self.min_std:
            problems.append(f"mean per-dimension std {std:.3g} < {self.min_std:g}")
        if rank is not None and rank < self.min_effective_rank:
            problems.append(f"effective rank {rank:.3g} < {self.min_effective_rank:g}")
        if problems:
            return "collapsed", (
                f"{' and '.join(problems)}. The embeddings no longer tell frames apart; "
                "strengthen the anti-collapse term (e.g. std_weight, negative_weight, "
                "sigreg_weight), lower the learning rate, or add InverseDynamics"
            )
        change = stats.get("step_change")
        if change is not None and change < self.min_step_change:
            return "static", (
                f"the code is static along each trajectory (step change {change:.3g} < "
                f"{self.min_step_change:g}) while it differs between trajectories: it holds the "
                "layout, not the agent, and predicting it is trivial. Add InverseDynamics "
                "(model.strategy: class_path jepa_world.strategies.InverseDynamics, with this "
                "strategy as its base), which needs the code to show what each action did"
            )
        return None


class NaNGuard(L.Callback):
    """Stop training at the first non-finite loss, naming the step and the guilty term.

    The loss is checked before its backward pass (``on_before_backward``), so the bad step is
    never applied: the weights in memory, and any checkpoint written afterwards (for example by
    ``ModelCheckpoint(save_on_exception=True)``), are those of the last good step, and the
    checkpoints already on disk are untouched. The terms are those ``JEPAModule`` keeps in
    ``loss_terms``; when the batch itself holds NaN or Inf the message says so. Every process
    takes the same decision, so a multi-process run stops as a whole. ``on_train_batch_end``
    checks the returned outputs as well (modules that step their optimizers themselves).

    Raises:
        FloatingPointError: at the first step whose loss or loss term is NaN or infinite.
    """

    def __init__(self) -> None:
        super().__init__()
        self._batch: Any = None
        self._batch_idx = 0

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        self._batch, self._batch_idx = batch, batch_idx  # a reference, read only if the loss is bad

    def on_before_backward(
        self, trainer: L.Trainer, pl_module: L.LightningModule, loss: torch.Tensor
    ) -> None:
        values: dict[str, Any] = {"loss": loss, **(getattr(pl_module, "loss_terms", None) or {})}
        bad = _non_finite(values)
        if _any_process(trainer, bool(bad)):
            raise FloatingPointError(self._message(trainer, bad, self._batch_idx, self._batch))

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        self._batch = None
        if not isinstance(outputs, dict):
            return
        values: dict[str, Any] = {"loss": outputs.get("loss")}
        values.update(outputs.get("terms", {}) or {})
        bad = _non_finite(values)
        if _any_process(trainer, bool(bad)):
            raise FloatingPointError(self._message(trainer, bad, batch_idx, batch))

    @staticmethod
    def _message(trainer: L.Trainer, bad: dict[str, float], batch_idx: int, batch: Any) -> str:
        where = (
            f"global step {trainer.global_step} (epoch {trainer.current_epoch}, batch {batch_idx})"
        )
        if not bad:
            return f"Non-finite loss in another process at {where}; see its message."
        listed = ", ".join(f"{name} = {value}" for name, value in bad.items())
        data = _non_finite_inputs(batch)
        if data:
            return (
                f"Non-finite loss at {where}: {listed}. The batch itself holds NaN or Inf in "
                f"{data}: the data is damaged; check it with `jepa data` or regenerate it."
            )
        return (
            f"Non-finite loss at {where}: {listed}. Lower the learning rate, keep gradient clipping "
            "on (trainer.gradient_clip_val), or train in fp32 to find the first bad step."
        )


def _non_finite(values: dict[str, Any]) -> dict[str, float]:
    """The tensors among ``values`` holding NaN or Inf, as floats (one device sync when all are fine)."""
    tensors = {k: v for k, v in values.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        return {}
    flat = torch.cat([v.detach().float().reshape(-1) for v in tensors.values()])
    if bool(torch.isfinite(flat).all()):
        return {}
    return {
        name: float(value.detach().float().sum())
        for name, value in tensors.items()
        if not bool(torch.isfinite(value).all())
    }


def _non_finite_inputs(batch: Any) -> str:
    """Which keys (and the first window) of a batch dict hold NaN or Inf; empty when none."""
    if not isinstance(batch, dict):
        return ""
    found = []
    for key, value in batch.items():
        if isinstance(value, torch.Tensor) and value.is_floating_point():
            rows = (~torch.isfinite(value)).reshape(value.shape[0], -1).any(dim=1)
            if bool(rows.any()):
                found.append(f"'{key}' (window {int(rows.nonzero()[0])} of the batch)")
    return ", ".join(found)


def _any_process(trainer: Any, decision: bool) -> bool:
    """True if ``decision`` holds in any process of the run (itself when there is one process)."""
    strategy = getattr(trainer, "strategy", None)
    if strategy is None:
        return decision
    return bool(strategy.reduce_boolean_decision(decision, all=False))


class FrameRate(L.Callback):
    """Log training throughput in frames per second (``batch × window`` frames per batch).

    Measured as wall time between the ends of consecutive training batches, so it includes
    data loading, the forward and backward passes and the optimizer step, and excludes
    validation. The first ``warmup_batches`` batches (and the first after each validation) are
    not counted. Logs ``train/frames_per_s`` and prints the average when training ends.

    Why not Lightning's ``ThroughputMonitor``: it reports rolling per-window rates per device and
    nothing at the end of the run, while the benchmarks and the docs quote one run-average of
    frames (not samples) per second with the warm-up and the batches after each validation left
    out, which this callback prints. Use ``ThroughputMonitor`` as well when you want FLOPs or
    per-device figures; the two do not interfere.

    Args:
        warmup_batches: Batches at the start of training left out of the average.
    """

    def __init__(self, warmup_batches: int = 5) -> None:
        super().__init__()
        if warmup_batches < 0:
            raise ValueError(f"FrameRate: warmup_batches must be >= 0, got {warmup_batches}")
        self.warmup_batches = warmup_batches
        self.frames = 0
        self.seconds = 0.0
        self._batches = 0
        self._last: float | None = None

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else float("nan")

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        now = time.perf_counter()
        last, self._last = self._last, now
        self._batches += 1
        if last is None or self._batches <= self.warmup_batches or not isinstance(batch, dict):
            return
        states = batch.get("states")
        if not isinstance(states, torch.Tensor) or states.ndim < 2:
            return
        frames = int(states.shape[0] * states.shape[1])
        self.frames += frames
        self.seconds += now - last
        # Logged on the steps the loggers write (and the first measured one): each self.log costs
        # Lightning about a millisecond of Python per step on a small CPU.
        every = trainer.log_every_n_steps
        if self.frames == frames or (every > 0 and trainer.global_step % every == 0):
            pl_module.log(
                "train/frames_per_s", frames / (now - last), batch_size=int(states.shape[0])
            )

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._last = None

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.frames:
            rank_zero_info(
                f"FrameRate: {self.frames} training frames in {self.seconds:.1f} s = "
                f"{self.frames_per_second:.0f} frames/s (first {self.warmup_batches} batches "
                "not counted)"
            )


def _metric(trainer: L.Trainer, key: str) -> float | None:
    value = trainer.callback_metrics.get(key)
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None
