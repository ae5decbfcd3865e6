"""Training-time monitors: representation collapse, non-finite losses, training frame rate.

Both watch what :class:`jepa_world.module.JEPAModule` reports (logged embedding statistics, the
loss terms returned by ``training_step``) and say in plain words what went wrong, at which step,
and what to try, instead of letting a run silently produce a useless or NaN model.
"""

from __future__ import annotations

import math
import time
from typing import Any

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn

from jepa_world.module import RANK_METRIC, STD_METRIC


class CollapseMonitor(L.Callback):
    """Warn when the embeddings collapse; optionally stop after ``patience`` collapsed checks.

    Every ``check_every_n_steps`` optimizer steps it reads the mean per-dimension std and the
    effective rank of the training embeddings logged by ``JEPAModule``. Complete collapse shows
    as a std near zero; dimensional collapse (every embedding on a line) as an effective rank
    near 1, whatever the scale.

    Args:
        min_std: Mean per-dimension std below which the embeddings count as collapsed.
        min_effective_rank: Effective rank below which they count as collapsed.
        check_every_n_steps: Optimizer steps between checks.
        patience: Stop training after this many consecutive collapsed checks; ``None``
            (default) only warns.
    """

    def __init__(
        self,
        min_std: float = 1e-2,
        min_effective_rank: float = 1.5,
        check_every_n_steps: int = 50,
        patience: int | None = None,
    ) -> None:
        super().__init__()
        if min_std < 0 or min_effective_rank < 0:
            raise ValueError(
                f"CollapseMonitor: min_std and min_effective_rank must be >= 0, got {min_std} "
                f"and {min_effective_rank}"
            )
        if check_every_n_steps < 1:
            raise ValueError(f"CollapseMonitor: check_every_n_steps must be >= 1, got {check_every_n_steps}")
        if patience is not None and patience < 1:
            raise ValueError(f"CollapseMonitor: patience must be >= 1 or None, got {patience}")
        self.min_std = min_std
        self.min_effective_rank = min_effective_rank
        self.check_every_n_steps = check_every_n_steps
        self.patience = patience
        self.strikes = 0
        self._last_checked = -1

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        step = trainer.global_step
        if step == self._last_checked or step % self.check_every_n_steps != 0:
            return
        self._last_checked = step
        std = _metric(trainer, STD_METRIC)
        rank = _metric(trainer, RANK_METRIC)
        if std is None and rank is None:
            return
        problems = []
        if std is not None and std < self.min_std:
            problems.append(f"mean per-dimension std {std:.3g} < {self.min_std:g}")
        if rank is not None and rank < self.min_effective_rank:
            problems.append(f"effective rank {rank:.3g} < {self.min_effective_rank:g}")
        if not problems:
            self.strikes = 0
            return
        self.strikes += 1
        message = (
            f"Representation collapse at step {step}: {' and '.join(problems)} "
            f"(check {self.strikes}"
            + (f" of {self.patience}" if self.patience else "")
            + "). The embeddings no longer tell frames apart; strengthen the anti-collapse term "
            "(e.g. std_weight, negative_weight, sigreg_weight), lower the learning rate, or add "
            "InverseDynamics."
        )
        rank_zero_warn(message)
        if self.patience is not None and self.strikes >= self.patience:
            rank_zero_warn(f"CollapseMonitor: stopping training after {self.strikes} collapsed checks.")
            trainer.should_stop = True


class NaNGuard(L.Callback):
    """Stop training at the first non-finite loss, naming the step and the guilty term.

    Raises ``FloatingPointError`` from ``on_train_batch_end``, so the run ends before a
    checkpoint of NaN weights is written. Checks the total loss and every term returned by
    ``JEPAModule.training_step`` under ``"terms"``.
    """

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if not isinstance(outputs, dict):
            return
        values: dict[str, Any] = {"loss": outputs.get("loss")}
        values.update(outputs.get("terms", {}) or {})
        bad = {
            name: float(value.detach().float().sum())
            for name, value in values.items()
            if isinstance(value, torch.Tensor) and not bool(torch.isfinite(value).all())
        }
        if bad:
            listed = ", ".join(f"{name} = {value}" for name, value in bad.items())
            raise FloatingPointError(
                f"Non-finite loss at global step {trainer.global_step} (epoch {trainer.current_epoch}, "
                f"batch {batch_idx}): {listed}. Lower the learning rate, keep gradient clipping on "
                "(trainer.gradient_clip_val), or train in fp32 to find the first bad step."
            )


class FrameRate(L.Callback):
    """Log training throughput in frames per second (``batch × window`` frames per batch).

    Measured as wall time between the ends of consecutive training batches, so it includes
    data loading, the forward and backward passes and the optimizer step, and excludes
    validation. The first ``warmup_batches`` batches (and the first after each validation) are
    not counted. Logs ``train/frames_per_s`` and prints the average when training ends.

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
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
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
        pl_module.log("train/frames_per_s", frames / (now - last), batch_size=int(states.shape[0]))

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
