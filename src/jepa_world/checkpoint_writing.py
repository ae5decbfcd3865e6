"""Checkpoint writing: crash-safe files and a ``last.ckpt`` that is always there to resume from.

:class:`AtomicCheckpointIO` writes each checkpoint under a temporary name and renames it into
place, so a job killed while saving leaves the previous ``last.ckpt`` intact.
:class:`ResumableCheckpoint` writes ``last.ckpt`` on schedule even before the first validation,
after every validation and at every epoch end, and once more when training ends; its
``last_every_n_train_steps`` gives ``last.ckpt`` a step schedule of its own. Both use only public Lightning APIs.
"""

from __future__ import annotations

import inspect
import os
from typing import Any

import lightning as L
import torch
from fsspec.implementations.local import LocalFileSystem
from lightning.fabric.utilities.cloud_io import get_filesystem
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.plugins.io import TorchCheckpointIO
from lightning.pytorch.trainer.states import TrainerFn

from jepa_world.io import atomic_path


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint writer, made crash-safe on local and network file systems.

    Lightning serialises a checkpoint into memory, writes it to a temporary file in the system's
    temporary directory and moves it into place; when that directory is on another file system
    than the run (the usual case on clusters, where ``/tmp`` is node-local) the move is a copy
    into the final name, and a job killed during it leaves a truncated ``last.ckpt``. Here the
    checkpoint is written to a hidden file beside the target, flushed to disk and renamed over
    it (:func:`jepa_world.io.atomic_path`): a reader sees the old checkpoint or the new one. A
    kill leaves at most a hidden ``.<name>.incomplete-*`` file, which nothing reads. Remote
    (``s3://``...) paths keep Lightning's own transaction.
    """

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None
    ) -> None:
        if storage_options is not None or not isinstance(get_filesystem(path), LocalFileSystem):
            super().save_checkpoint(checkpoint, path, storage_options)
            return
        with atomic_path(path) as tmp:
            torch.save(checkpoint, tmp)


class ResumableCheckpoint(ModelCheckpoint):
    """``ModelCheckpoint`` whose ``last.ckpt`` always holds the latest saved step and the final one.

    Three gaps of Lightning's ``ModelCheckpoint`` (``monitor="val/loss"``, ``save_last=True``)
    are closed:

    - with ``every_n_train_steps`` (or ``train_time_interval``), every save, ``last.ckpt``
      included, is deferred until the monitored metric exists, that is until the first
      validation: a job killed during a long first epoch had nothing to resume from. Here
      ``last.ckpt`` is written whenever a save is due; the best-by-metric checkpoints still wait
      for the metric.
    - a run whose last step is not a multiple of ``every_n_train_steps`` ended with a
      ``last.ckpt`` of an earlier step. Here it is written again when training ends.
    - on the default schedule (no ``every_n_train_steps``), ``last.ckpt`` is written only at a
      validation or epoch end where a top-k checkpoint was saved too (Lightning 2.6), so with
      the best-only policy (``save_top_k=1``) a killed run had no ``last.ckpt`` at all until
      the validation loss happened to improve. Here ``last.ckpt`` is written at the end of
      every validation and every training epoch of a fit.

    It is two ``ModelCheckpoint`` instances and one explicit save, all through public APIs:
    this one keeps the best checkpoints by the monitored metric, a second one
    (:attr:`last_writer`, monitoring nothing, so never deferred) writes ``last.ckpt`` on the
    same schedule into the same directory, and :meth:`on_train_end` (and, with
    ``save_on_exception``, :meth:`on_exception`) saves ``last.ckpt`` with
    ``Trainer.save_checkpoint``. The second instance receives this one's callback
    hooks and its state travels inside this one's state in the checkpoint.

    Same arguments as ``ModelCheckpoint``, plus ``last_every_n_train_steps``: when set,
    ``last.ckpt`` alone is written every that many training steps (besides every validation and
    epoch end), whatever the best checkpoints' schedule. This is how a run that validates rarely
    (once per long epoch) keeps a recent step to resume from, while the best checkpoint is still
    chosen at validations, where the monitored metric is fresh; ``every_n_train_steps`` would
    move both.
    """

    def __init__(
        self, *args: Any, last_every_n_train_steps: int | None = None, **kwargs: Any
    ) -> None:
        """
        Args:
            last_every_n_train_steps: write ``last.ckpt`` (only it) every this many training
                steps, besides every validation and epoch end; null: on the best checkpoints'
                schedule. For runs that validate rarely, so that a killed job loses little.
        """
        super().__init__(*args, **kwargs)
        if last_every_n_train_steps is not None and last_every_n_train_steps < 1:
            raise ValueError(
                "checkpoint.last_every_n_train_steps must be a positive number of steps "
                f"(or null for the best checkpoints' schedule), got {last_every_n_train_steps}"
            )
        self.last_every_n_train_steps = last_every_n_train_steps
        given = inspect.signature(ModelCheckpoint.__init__).bind(self, *args, **kwargs).arguments
        schedule = {
            name: given[name]
            for name in (
                "dirpath",
                "every_n_train_steps",
                "train_time_interval",
                "every_n_epochs",
                "save_on_train_epoch_end",
                "enable_version_counter",
            )
            if name in given
        }
        if last_every_n_train_steps is not None:
            for name in ("every_n_train_steps", "train_time_interval", "every_n_epochs"):
                schedule.pop(name, None)
            schedule["every_n_train_steps"] = last_every_n_train_steps
        self.last_writer = ModelCheckpoint(
            monitor=None,
            save_top_k=0,
            save_last=self.save_last,
            save_weights_only=self.save_weights_only,
            **schedule,
        )
        # This instance only writes the best checkpoints.
        self.save_last = False
        self._last_step_written: int | None = None

    def _forward(self, hook: str, *args: Any) -> None:
        getattr(self.last_writer, hook)(*args)
        self.last_model_path = self.last_writer.last_model_path

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        super().setup(trainer, pl_module, stage)
        if self.last_writer.dirpath is None:
            self.last_writer.dirpath = self.dirpath
        self._forward("setup", trainer, pl_module, stage)

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_train_start(trainer, pl_module)
        self._forward("on_train_start", trainer, pl_module)

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)
        self._forward("on_train_batch_end", trainer, pl_module, outputs, batch, batch_idx)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_train_epoch_end(trainer, pl_module)
        self._forward("on_train_epoch_end", trainer, pl_module)
        self._save_last_once(trainer)

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_validation_end(trainer, pl_module)
        self._forward("on_validation_end", trainer, pl_module)
        self._save_last_once(trainer)

    def _save_last_once(self, trainer: L.Trainer) -> None:
        """``last.ckpt`` at this step of a fit, unless this callback already wrote it here."""
        if trainer.state.fn != TrainerFn.FITTING or trainer.sanity_checking:
            return
        if self._last_step_written == trainer.global_step:
            return
        self._save_last_now(trainer)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_train_end(trainer, pl_module)
        self._save_last_now(trainer)

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        """With ``save_on_exception``, ``last.ckpt`` is written too (as by ``ModelCheckpoint``)."""
        super().on_exception(trainer, pl_module, exception)
        if self.save_on_exception:
            self._save_last_now(trainer)

    def _save_last_now(self, trainer: L.Trainer) -> None:
        """Write ``last.ckpt`` at the current step with ``Trainer.save_checkpoint``."""
        if not self.last_writer.save_last or trainer.fast_dev_run or trainer.sanity_checking:
            return
        path = self.last_writer.last_model_path or os.path.join(
            str(self.last_writer.dirpath),
            self.last_writer.CHECKPOINT_NAME_LAST + self.last_writer.FILE_EXTENSION,
        )
        trainer.save_checkpoint(path, weights_only=self.last_writer.save_weights_only)
        self.last_writer.last_model_path = path
        self.last_model_path = path
        self._last_step_written = trainer.global_step

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "last_writer": self.last_writer.state_dict()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        writer = state.pop("last_writer", None)
        super().load_state_dict(state)
        if writer is not None:
            self.last_writer.load_state_dict(writer)
        elif self.last_model_path:  # a checkpoint written before the writer was separate
            self.last_writer.last_model_path = self.last_model_path
        self.last_model_path = self.last_writer.last_model_path


def use_atomic_checkpoints(trainer: L.Trainer) -> bool:
    """Give ``trainer`` an :class:`AtomicCheckpointIO` unless it was configured with its own writer.

    Only Lightning's default writer (the one of single-device and DDP runs) is replaced; sharded
    strategies and user-supplied ``CheckpointIO`` plugins are left alone. Returns whether it did.
    """
    strategy = trainer.strategy
    if type(getattr(strategy, "checkpoint_io", None)) is not TorchCheckpointIO:
        return False
    strategy.checkpoint_io = AtomicCheckpointIO()
    return True
