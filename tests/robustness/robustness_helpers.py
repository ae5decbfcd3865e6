"""Fault injectors and small runners shared by the robustness tests.

The classes are referred to by class path from the command line
(``--model.strategy robustness_helpers.NaNAtStep``), exactly as a user would name their own
module, so the faults go through the real ``jepa fit`` entry point.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from helpers import ConstantEncoder  # noqa: F401 (named by class path in tests)
from torch import Tensor

from jepa_world.strategies import StrategyOutput, VICReg

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

#: A model small enough that a training step takes milliseconds on one CPU core.
TINY_CONFIG: dict[str, Any] = {
    "seed_everything": 0,
    "trainer": {
        "accelerator": "cpu",
        "devices": 1,
        "max_epochs": 2,
        "deterministic": True,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "log_every_n_steps": 1,
        "logger": {
            "class_path": "lightning.pytorch.loggers.TensorBoardLogger",
            "init_args": {"save_dir": "runs", "name": "tiny"},
        },
    },
    "model": {
        "encoder": {
            "class_path": "jepa_world.models.ConvEncoder",
            "init_args": {
                "repr_dim": 16,
                "wall_dim": 4,
                "agent_channels": [4, 8],
                "wall_channels": [2, 4],
            },
        },
        "predictor": {
            "class_path": "jepa_world.models.MLPPredictor",
            "init_args": {"repr_dim": 16, "hidden_dim": 32},
        },
        "strategy": {"class_path": "jepa_world.strategies.VICReg"},
        "stats_every_n_steps": 1,
    },
    "data": {"window": 4, "batch_size": 8, "num_workers": 0, "val_fraction": 0.2},
}


def write_config(path: Path, data_dir: Path, **trainer: Any) -> Path:
    """Write :data:`TINY_CONFIG` reading ``data_dir`` (trainer options overridden) to ``path``.

    JSON is YAML, so the file reads like any ``configs/*.yaml``.
    """
    config = {**TINY_CONFIG, "trainer": {**TINY_CONFIG["trainer"], **trainer}}
    config["data"] = {**TINY_CONFIG["data"], "data_dir": str(data_dir)}
    path.write_text(json.dumps(config, indent=2))
    return path


def subprocess_env() -> dict[str, str]:
    """The environment of a child ``jepa`` process: this directory importable, one thread."""
    path = os.pathsep.join(p for p in (str(HERE), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def jepa_command(*args: str) -> list[str]:
    """``jepa ARGS`` as a child process of this interpreter."""
    return [sys.executable, "-m", "jepa_world.cli", *args]


def run_until(
    command: Sequence[str],
    ready: Callable[[], bool],
    cwd: Path,
    timeout: float = 120.0,
    delay: float = 0.0,
) -> int:
    """Start ``command``, wait until ``ready()`` holds (plus ``delay`` seconds), then SIGKILL it.

    Returns the child's exit status (negative: killed by that signal; 0 or positive: it ended
    by itself before it could be killed).
    """
    child = subprocess.Popen(
        list(command),
        cwd=cwd,
        env=subprocess_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + timeout
    try:
        while not ready():
            if child.poll() is not None:
                stderr = child.stderr.read().decode() if child.stderr else ""
                raise AssertionError(
                    f"{command} ended ({child.returncode}) before it was ready:\n{stderr[-3000:]}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"{command} not ready after {timeout} s")
            time.sleep(0.02)
        time.sleep(delay)
        child.kill()
        return child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30)
        if child.stderr:
            child.stderr.close()


def training_state(path: Path) -> dict[str, Any]:
    """Weights, optimizer state and step of a checkpoint, for bitwise comparison."""
    checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    return {
        "global_step": checkpoint["global_step"],
        "state_dict": checkpoint["state_dict"],
        "optimizer": checkpoint["optimizer_states"],
    }


def same_tensors(a: Any, b: Any) -> bool:
    """Bitwise equality of nested dicts/lists of tensors and plain values."""
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return (
            isinstance(a, Tensor)
            and isinstance(b, Tensor)
            and a.dtype == b.dtype
            and torch.equal(a, b)
        )
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_tensors(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same_tensors(x, y) for x, y in zip(a, b, strict=True))
    return a == b


class Variant:
    """A copy of a data set made of symbolic links, whose files can be replaced one by one."""

    def __init__(self, source: Path, root: Path) -> None:
        self.source, self.root = source, root
        root.mkdir(parents=True)
        for entry in source.iterdir():
            (root / entry.name).symlink_to(entry)

    def split(self, name: str) -> Path:
        """The directory of split ``name``, made real (its files still links) so it can change.

        Every directory on the way is made real first: writing through a linked directory would
        change the original data set.
        """
        path = self.root
        for part in Path(name).parts:
            path = path / part
            if path.is_symlink():
                path.unlink()
                path.mkdir()
                for entry in (self.source / path.relative_to(self.root)).iterdir():
                    (path / entry.name).symlink_to(entry)
        return path

    def load(self, split: str, name: str) -> np.ndarray:
        return np.load(self.source / split / name)

    def save(self, split: str, name: str, array: np.ndarray) -> None:
        target = self.split(split) / name
        target.unlink(missing_ok=True)
        np.save(target, array)

    def edit(self, split: str, name: str, change: Callable[[np.ndarray], np.ndarray]) -> None:
        self.save(split, name, change(self.load(split, name)))

    def write(self, split: str, name: str, data: bytes) -> None:
        target = self.split(split) / name
        target.unlink(missing_ok=True)
        target.write_bytes(data)

    def remove(self, split: str, name: str | None = None) -> None:
        target = self.split(split) if name is None else self.split(split) / name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        else:
            target.unlink()


# ---------------------------------------------------------------------------------------------
# Faults, named by class path on the command line
# ---------------------------------------------------------------------------------------------


class NaNAtStep(VICReg):
    """VICReg whose ``variance`` term turns NaN at training step ``step`` (0-based) and after.

    Validation calls (the module in eval mode) are not counted.
    """

    def __init__(self, step: int = 3) -> None:
        super().__init__()
        self.step = step
        self.calls = 0

    def compute(
        self, predictions: Tensor, targets: Tensor, embeddings: Tensor, actions: Tensor
    ) -> StrategyOutput:
        out = super().compute(predictions, targets, embeddings, actions)
        if not self.training:
            return out
        self.calls += 1
        if self.calls <= self.step:
            return out
        terms = {**out.terms, "variance": out.terms["variance"] * float("nan")}
        return StrategyOutput(out.loss + terms["variance"], terms)


class Crash(RuntimeError):
    """The simulated crash of :class:`CrashAtStep`."""


class CrashAtStep(L.Callback):
    """Raise :class:`Crash` when training step ``step`` is about to start.

    At that point every checkpoint of the earlier steps has been written and nothing of step
    ``step`` has happened: the process dies as if killed between two steps, without the end of
    epoch bookkeeping that ``trainer.should_stop`` would trigger.
    """

    def __init__(self, step: int = 1) -> None:
        super().__init__()
        self.step = step

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if trainer.global_step >= self.step:
            raise Crash(f"simulated crash before step {trainer.global_step}")
