"""``JEPAModule``: the LightningModule that trains a world model with a collapse-prevention strategy.

Orchestration only: it encodes the true frames, unrolls (or teacher-forces) the predictor, asks
the strategy for the loss, logs every term with the embedding statistics that reveal collapse,
and schedules the learning rate. The maths lives in the models, the strategies, and the plain
functions at the top of this file.
"""

from __future__ import annotations

import math
from typing import Any

import lightning as L
import torch
from torch import Tensor, nn

from jepa_world.models.weights_file import WorldModelFileError, state_dict_mismatch
from jepa_world.models.world_model import WorldModel
from jepa_world.schedules import cosine_between
from jepa_world.strategies.base import LossStrategy, StrategyOutput

#: Names under which the embedding statistics are logged (read by the collapse monitor).
STD_METRIC = "train/embedding_std"
STD_MIN_METRIC = "train/embedding_std_min"
RANK_METRIC = "train/effective_rank"
STEP_CHANGE_METRIC = "train/embedding_step_change"


# ---------------------------------------------------------------------------------------------
# Plain functions
# ---------------------------------------------------------------------------------------------


def warmup_cosine(step: int, total_steps: int, warmup_steps: int, min_ratio: float) -> float:
    """Learning-rate factor: linear warm-up to 1 over ``warmup_steps``, then cosine to ``min_ratio``."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    return cosine_between(
        (step - warmup_steps) / max(1, total_steps - warmup_steps), 1.0, min_ratio
    )


@torch.no_grad()
def embedding_stats(embeddings: Tensor) -> dict[str, Tensor]:
    """Collapse diagnostics of ``embeddings (..., D)`` treated as a batch of ``D``-vectors.

    ``std``: mean over dimensions of the per-dimension std (→ 0 under complete collapse);
    ``std_min``: the smallest per-dimension std; ``effective_rank``: :func:`effective_rank`
    (→ 1 when every embedding lies on one line, whatever the scale). For trajectories
    ``(B, L, D)`` with ``L > 1``, also ``step_change``: :func:`step_change` (→ 0 when the code
    stays the same along each trajectory).
    """
    z = embeddings.detach().reshape(-1, embeddings.shape[-1]).float()
    std = z.std(dim=0) if z.shape[0] > 1 else torch.zeros(z.shape[1], device=z.device)
    stats = {"std": std.mean(), "std_min": std.min(), "effective_rank": effective_rank(z)}
    if embeddings.ndim == 3 and embeddings.shape[1] > 1:
        stats["step_change"] = step_change(embeddings, spread=stats["std"])
    return stats


@torch.no_grad()
def step_change(trajectories: Tensor, spread: Tensor | None = None, eps: float = 1e-12) -> Tensor:
    """How much the code of ``trajectories (B, L, D)`` changes from one frame to the next.

    The root mean square of each dimension's change between consecutive frames, averaged over
    dimensions, divided by the per-dimension std over every frame of the batch, averaged the
    same way (a ratio of means, so near-constant dimensions do not dominate it): about
    ``step length / spread of the positions`` for a code that holds the agent's position (0.04
    to 0.25 for the models of this package on the generated data, whatever the window length),
    0 for a code that depends on the layout only, and 0 for a constant code. ``spread``: that
    mean per-dimension std when the caller has it already (:func:`embedding_stats`).
    """
    z = trajectories.detach().float()
    change = (z[:, 1:] - z[:, :-1]).pow(2).mean(dim=(0, 1)).sqrt().mean()
    if spread is None:
        spread = z.reshape(-1, z.shape[-1]).std(dim=0).mean()
    return torch.where(spread > eps, change / spread.clamp_min(eps), torch.zeros_like(spread))


@torch.no_grad()
def effective_rank(z: Tensor, eps: float = 1e-12) -> Tensor:
    """Effective rank of ``z (N, D)`` (Roy & Vetterli, EUSIPCO 2007).

    ``exp(H(p))`` with ``p`` the singular values of the centred batch normalised to sum to 1:
    ``D`` for an isotropic cloud, 1 for points on a line, 0 for a single point.
    """
    centred = z.float() - z.float().mean(dim=0)
    if not bool(torch.isfinite(centred).all()):  # the SVD would raise; NaNGuard names the cause
        return centred.new_full((), float("nan"))
    singular = torch.linalg.svdvals(centred)
    total = singular.sum()
    if total <= eps:
        return total.new_zeros(())
    p = singular / total
    return torch.exp(-(p * torch.log(p.clamp_min(eps))).sum())


def _cli_gave_hyperparameters() -> bool:
    """True while LightningCLI instantiates the module with the parsed config as hyperparameters.

    The CLI then stores ``encoder``, ``predictor`` and ``strategy`` as their class-path configs,
    so ``load_from_checkpoint`` can rebuild them; outside the CLI those arguments are live modules
    that must not be pickled into ``hparams``.
    """
    try:
        from lightning.pytorch.core.mixins.hparams_mixin import _given_hyperparameters
    except ImportError:  # pragma: no cover - older or newer Lightning
        return False
    return _given_hyperparameters.get() is not None


def load_initial_weights(world_model: WorldModel, path: str) -> None:
    """Copy the world-model weights stored at ``path`` into ``world_model`` (same architecture)."""
    from jepa_world.checkpoints import CheckpointError, load_model

    try:
        source = load_model(path)
    except (CheckpointError, FileNotFoundError) as err:
        raise ValueError(f"init_weights: {err}") from err
    problem = state_dict_mismatch(world_model.state_dict(), source.state_dict())
    if problem:
        raise ValueError(
            f"init_weights: {path} holds another architecture than the model being built "
            f"({problem}); use the encoder and predictor options it was trained with"
        )
    world_model.load_state_dict(source.state_dict())


# ---------------------------------------------------------------------------------------------
# The LightningModule
# ---------------------------------------------------------------------------------------------


class JEPAModule(L.LightningModule):
    """Train ``WorldModel(encoder, predictor)`` with ``strategy`` against collapse.

    Each batch is a dict with ``states (B, L, 2, 65, 65)`` and ``actions (B, L-1, 2)``. The
    encoder encodes every true frame; the predictor unrolls from the first encoding (recurrent,
    as evaluated) or predicts each step from the true previous encoding (``teacher_forcing``);
    the strategy scores every predicted step.

    Args:
        encoder: Frames ``(N, 2, 65, 65)`` → ``(N, D)``.
        predictor: ``(z, a)`` → next ``z``.
        strategy: The collapse-prevention strategy and its loss.
        teacher_forcing: Predict each step from the encoded true frame instead of unrolling.
        lr: Peak learning rate of AdamW.
        weight_decay: AdamW weight decay, applied to weight matrices and kernels only (not to
            biases and normalisation parameters).
        betas: AdamW betas.
        warmup_fraction: Share of the optimizer steps spent warming the learning rate up.
        min_lr_ratio: Final learning rate of the cosine decay, as a fraction of ``lr``.
        stats_every_n_steps: Training steps between logs of the embedding statistics.
        init_weights: Start from the encoder and predictor weights of this ``model_weights.pth``
            or ``.ckpt`` (read as untrusted input, see :mod:`jepa_world.checkpoints`). For
            multi-stage schedules (teacher-forced, then recurrent): unlike ``--ckpt_path``, the
            optimizer, step and schedule start afresh and every ``--model.*`` option of this run
            applies. The architecture must match.

    Attributes:
        log_terms_every_step: Log every loss term and the learning rate at every training
            step, not only on the steps the loggers write (``log_every_n_steps``); each log
            costs about a millisecond of Python per step on a small CPU. ``False`` by default;
            benchmarks/throughput.py sets it to measure that cost.
    """

    log_terms_every_step: bool = False

    def __init__(
        self,
        encoder: nn.Module,
        predictor: nn.Module,
        strategy: LossStrategy,
        teacher_forcing: bool = False,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        betas: tuple[float, float] = (0.9, 0.999),
        warmup_fraction: float = 0.05,
        min_lr_ratio: float = 0.01,
        stats_every_n_steps: int = 10,
        init_weights: str | None = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        if not lr > 0:
            raise ValueError(f"{name}: lr must be > 0, got {lr}")
        if not weight_decay >= 0:
            raise ValueError(f"{name}: weight_decay must be >= 0, got {weight_decay}")
        if not 0.0 <= warmup_fraction < 1.0:
            raise ValueError(f"{name}: warmup_fraction must lie in [0, 1), got {warmup_fraction}")
        if not 0.0 <= min_lr_ratio <= 1.0:
            raise ValueError(f"{name}: min_lr_ratio must lie in [0, 1], got {min_lr_ratio}")
        if stats_every_n_steps < 1:
            raise ValueError(f"{name}: stats_every_n_steps must be >= 1, got {stats_every_n_steps}")
        if not isinstance(strategy, LossStrategy):
            raise TypeError(
                f"{name}: strategy must be a LossStrategy, got {type(strategy).__name__}"
            )
        modules = [] if _cli_gave_hyperparameters() else ["encoder", "predictor", "strategy"]
        self.save_hyperparameters(ignore=modules)
        self.world_model = WorldModel(encoder, predictor)
        if init_weights is not None:
            load_initial_weights(self.world_model, init_weights)
        self.strategy = strategy
        self.strategy.setup(self.world_model)
        self.teacher_forcing = teacher_forcing
        self.lr = lr
        self.weight_decay = weight_decay
        self.betas = tuple(betas)
        self.warmup_fraction = warmup_fraction
        self.min_lr_ratio = min_lr_ratio
        self.stats_every_n_steps = stats_every_n_steps
        self.loss_terms: dict[str, Tensor] = {}

    @property
    def repr_dim(self) -> int:
        return self.world_model.repr_dim

    def forward(self, states: Tensor, actions: Tensor) -> Tensor:
        """The course contract, delegated to the world model."""
        return self.world_model(states, actions)

    # -- one step ---------------------------------------------------------------------------

    def compute_loss(self, batch: dict[str, Tensor]) -> tuple[StrategyOutput, Tensor]:
        """Encode, predict and score one batch; returns the strategy's output and the embeddings."""
        states, actions = _unpack(batch)
        embeddings = self.world_model.encode(states)
        if self.teacher_forcing:
            predictions = self.world_model.predict_next(embeddings, actions)
        else:
            predictions = self.world_model.unroll(embeddings[:, 0], actions)
        self.strategy.set_step(self.global_step)
        targets = self.strategy.targets(self.world_model, states, embeddings)
        return self.strategy(predictions, targets, embeddings, actions), embeddings

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> dict[str, Any]:
        out, embeddings = self.compute_loss(batch)
        batch_size = embeddings.shape[0]
        self.log("train/loss", out.loss, prog_bar=True, batch_size=batch_size)
        if self._loggers_write_this_step():
            for term, value in out.terms.items():
                self.log(f"train/{term}", value, batch_size=batch_size)
            if self._trainer is not None and self.trainer.optimizers:
                # One "lr" curve, logged here rather than by LearningRateMonitor, which would log one
                # curve per parameter group (decayed and not), always equal in this schedule.
                self.log(
                    "lr", self.trainer.optimizers[0].param_groups[0]["lr"], batch_size=batch_size
                )
        if self.global_step % self.stats_every_n_steps == 0:
            for stat, value in embedding_stats(embeddings).items():
                self.log(_stat_key("train", stat), value, batch_size=batch_size)
        # Kept for monitors that look at the loss before its backward pass (NaNGuard).
        self.loss_terms = {k: v.detach() for k, v in out.terms.items()}
        return {"loss": out.loss, "terms": self.loss_terms}

    def _loggers_write_this_step(self) -> bool:
        """True on the steps whose metrics the loggers write (every ``log_every_n_steps``), and
        on the first step, so every key is in ``trainer.callback_metrics`` from the start.

        The loss terms and the learning rate are logged on those steps only: each ``self.log``
        costs Lightning about a millisecond of Python per step on a small CPU, a few percent of
        a compact model's step, for values that would never be written.
        """
        if self._trainer is None or self.log_terms_every_step:
            return True
        every = self.trainer.log_every_n_steps
        return self.global_step == 0 or (every > 0 and (self.global_step + 1) % every == 0)

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        out, embeddings = self.compute_loss(batch)
        batch_size = embeddings.shape[0]
        self.log("val/loss", out.loss, prog_bar=True, batch_size=batch_size, sync_dist=True)
        for term, value in out.terms.items():
            self.log(f"val/{term}", value, batch_size=batch_size, sync_dist=True)
        for stat, value in embedding_stats(embeddings).items():
            self.log(_stat_key("val", stat), value, batch_size=batch_size, sync_dist=True)

    # -- checkpoints ------------------------------------------------------------------------

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Refuse, in one sentence, a checkpoint whose weights do not fit this module.

        Called before the weights are loaded (resuming ``jepa fit`` or ``load_from_checkpoint``),
        instead of letting ``load_state_dict`` list every mismatched tensor without naming the
        file.
        """
        trainer = self._trainer
        source = getattr(trainer, "ckpt_path", None) if trainer is not None else None
        problem = state_dict_mismatch(self.state_dict(), checkpoint.get("state_dict", {}))
        if problem:
            raise WorldModelFileError(
                f"{source or 'checkpoint'}: its weights do not fit the model being built ({problem}); "
                "it was written for another architecture: resume or load it with the model "
                "options it was trained with"
            )

    # -- optimisation -----------------------------------------------------------------------

    def optimizer_step(
        self, epoch: int, batch_idx: int, optimizer: Any, optimizer_closure: Any = None
    ) -> None:
        """Step the optimizer, then let the strategy react (EMA update) to the step.

        Lightning calls this hook only on the batches where the optimizer really steps (not on
        gradient-accumulation batches), and counts the step in ``global_step`` after it returns,
        hence ``+ 1``. The strategy reacts here rather than in ``on_train_batch_end`` because
        Lightning runs the callbacks' batch-end hooks, checkpoint saves among them, before the
        module's: a checkpoint of step ``k`` would hold the weights after step ``k`` and the EMA
        target before its update of step ``k``, and a run resumed from it would never make
        that update.
        """
        super().optimizer_step(epoch, batch_idx, optimizer, optimizer_closure)
        step = self.trainer.global_step + 1
        self.strategy.on_after_optimizer_step(self.world_model, step, self._total_steps())

    def _total_steps(self) -> int:
        """Planned optimizer steps of the run (0 when unknown, e.g. an endless data stream)."""
        total = float(self.trainer.estimated_stepping_batches)
        return int(total) if math.isfinite(total) else 0

    def build_optimizer(
        self, total_steps: int
    ) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
        """AdamW (no weight decay on biases and norms) and its per-step warm-up + cosine schedule.

        ``total_steps`` is the planned number of optimizer steps. Used by
        :meth:`configure_optimizers`, and by anyone writing their own training loop.
        """
        decay, no_decay = [], []
        for param in self.parameters():
            if param.requires_grad:
                (decay if param.ndim >= 2 else no_decay).append(param)
        optimizer = torch.optim.AdamW(
            [
                {"params": decay, "weight_decay": self.weight_decay},
                {"params": no_decay, "weight_decay": 0.0},
            ],
            lr=self.lr,
            betas=self.betas,
        )
        total = max(1, total_steps)
        warmup = int(self.warmup_fraction * total)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: warmup_cosine(step, total, warmup, self.min_lr_ratio)
        )
        return optimizer, scheduler

    def configure_optimizers(self) -> dict[str, Any]:
        optimizer, scheduler = self.build_optimizer(self._total_steps())
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }


def _stat_key(stage: str, stat: str) -> str:
    """``train/embedding_std``, ``train/embedding_std_min``, ``train/effective_rank``, ..."""
    return f"{stage}/effective_rank" if stat == "effective_rank" else f"{stage}/embedding_{stat}"


def _unpack(batch: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
    if not isinstance(batch, dict) or "states" not in batch or "actions" not in batch:
        found = sorted(batch) if isinstance(batch, dict) else type(batch).__name__
        raise ValueError(
            f"JEPAModule: expected a batch dict with 'states' and 'actions', got {found}"
        )
    return batch["states"], batch["actions"]
