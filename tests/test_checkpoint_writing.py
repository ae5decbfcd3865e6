"""ResumableCheckpoint: ``last.ckpt`` before the first validation, after every validation, at the
final step, on resume."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import torch
from helpers import ConstantEncoder, Windows
from torch.utils.data import DataLoader

from jepa_world.checkpoint_writing import ResumableCheckpoint
from jepa_world.models import MLPPredictor
from jepa_world.module import JEPAModule
from jepa_world.strategies import VICReg


def saved_step(path: Path) -> int:
    return int(torch.load(path, map_location="cpu", weights_only=True)["global_step"])


class LastSeen(L.Callback):
    """Records, before each batch, the step held by ``last.ckpt`` (``None`` while it is absent)."""

    def __init__(self, dirpath: Path) -> None:
        self.path = dirpath / "last.ckpt"
        self.seen: list[int | None] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.seen.append(saved_step(self.path) if self.path.exists() else None)


def fit(dirpath: Path, max_steps: int, ckpt_path: str | None = None) -> LastSeen:
    """Fit on 16 windows in batches of 2 (8 batches an epoch) with validation at epoch ends only."""
    module = JEPAModule(ConstantEncoder(8), MLPPredictor(repr_dim=8, hidden_dim=16), VICReg())
    seen = LastSeen(dirpath)
    checkpoint = ResumableCheckpoint(
        dirpath=dirpath, monitor="val/loss", save_last=True, every_n_train_steps=2
    )
    trainer = L.Trainer(
        accelerator="cpu",
        max_steps=max_steps,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[checkpoint, seen],
    )
    loader = DataLoader(Windows(), batch_size=2)
    trainer.fit(module, loader, DataLoader(Windows(n=4, seed=1), batch_size=2), ckpt_path=ckpt_path)
    return seen


def test_last_ckpt_is_written_on_schedule_before_the_first_validation(tmp_path: Path) -> None:
    seen = fit(tmp_path, max_steps=7)
    # No validation runs in these 7 steps (the epoch has 8 batches), yet last.ckpt follows
    # every second step instead of waiting for val/loss.
    assert seen.seen == [None, None, 2, 2, 4, 4, 6]
    assert not list(tmp_path.glob("best*")) and not list(tmp_path.glob("epoch*"))


def test_last_ckpt_holds_the_final_step_when_it_is_off_schedule(tmp_path: Path) -> None:
    fit(tmp_path, max_steps=7)
    assert saved_step(tmp_path / "last.ckpt") == 7


def test_resuming_keeps_writing_the_same_last_ckpt(tmp_path: Path) -> None:
    fit(tmp_path, max_steps=5)
    seen = fit(tmp_path, max_steps=11, ckpt_path=str(tmp_path / "last.ckpt"))
    assert seen.seen[0] == 5
    assert saved_step(tmp_path / "last.ckpt") == 11
    names = sorted(p.name for p in tmp_path.iterdir())
    # One last.ckpt (no last-v1.ckpt) and the best checkpoint of the validation at step 8.
    assert names.count("last.ckpt") == 1 and not any(n.startswith("last-v") for n in names)
    assert len(names) == 2


def test_the_best_checkpoint_still_follows_the_monitored_metric(tmp_path: Path) -> None:
    fit(tmp_path, max_steps=16)
    best = [p for p in tmp_path.iterdir() if p.name != "last.ckpt"]
    # Written only once val/loss exists (first validation at step 8), top-1 kept.
    assert len(best) == 1 and saved_step(best[0]) >= 8


class StopAt(L.Callback):
    """Kills the run (an exception, as a crash would) before the batch of step ``step``."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.global_step == self.step:
            raise RuntimeError("killed")


def fit_until_killed(
    dirpath: Path, checkpoint: ResumableCheckpoint, **trainer_args: object
) -> LastSeen:
    """Fit (8 batches an epoch) until a crash before step 12's batch; what ``last.ckpt`` held."""
    module = JEPAModule(ConstantEncoder(8), MLPPredictor(repr_dim=8, hidden_dim=16), VICReg())
    seen = LastSeen(dirpath)
    trainer = L.Trainer(
        accelerator="cpu",
        max_steps=20,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        callbacks=[checkpoint, seen, StopAt(11)],
        **trainer_args,
    )
    loader = DataLoader(Windows(), batch_size=2)
    with pytest.raises(RuntimeError, match="killed"):
        trainer.fit(module, loader, DataLoader(Windows(n=4, seed=1), batch_size=2))
    return seen


def test_last_ckpt_follows_every_validation_on_the_default_schedule(tmp_path: Path) -> None:
    """No ``every_n_train_steps``, validation every 3 steps inside an 8-batch epoch, best-only.

    Lightning 2.6 writes ``last.ckpt`` there only when the best checkpoint is written too, so a
    run whose validation loss stopped improving had nothing to resume from after a crash.
    """
    checkpoint = ResumableCheckpoint(dirpath=tmp_path, monitor="val/loss", save_last=True)
    seen = fit_until_killed(tmp_path, checkpoint, val_check_interval=3)
    # Validations at steps 3 and 6, the epoch end at 8, validation 3 steps into epoch 2 (11);
    # the crash comes before step 12's batch.
    assert seen.seen == [None, None, None, 3, 3, 3, 6, 6, 8, 8, 8, 11]
    assert saved_step(tmp_path / "last.ckpt") == 11


def test_last_ckpt_has_its_own_step_schedule(tmp_path: Path) -> None:
    """``last_every_n_train_steps``: ``last.ckpt`` every 3 steps, best checkpoints at validations."""
    checkpoint = ResumableCheckpoint(
        dirpath=tmp_path, monitor="val/loss", save_last=True, last_every_n_train_steps=3
    )
    seen = fit_until_killed(tmp_path, checkpoint)
    # Steps 3 and 6 on the step schedule, 8 at the epoch end (the only validation), 9 on schedule.
    assert seen.seen == [None, None, None, 3, 3, 3, 6, 6, 8, 9, 9, 9]
    best = [p for p in tmp_path.iterdir() if p.name != "last.ckpt"]
    # The best checkpoint comes from the validation at the epoch end, not from the step schedule.
    assert [saved_step(p) for p in best] == [8]


def test_last_ckpt_schedule_must_be_positive() -> None:
    with pytest.raises(ValueError, match="last_every_n_train_steps"):
        ResumableCheckpoint(monitor="val/loss", save_last=True, last_every_n_train_steps=0)
