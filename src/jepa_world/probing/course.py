"""The course template's evaluator interface (``ProbingEvaluator``), on split directories.

Course code does ``evaluator = ProbingEvaluator(device, model, ...)``, then
``prober = evaluator.train_pred_prober()`` and ``evaluator.evaluate_all(prober)``. The same
calls work here; the protocol itself is :class:`~jepa_world.probing.evaluator.ProbeRunner`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from jepa_world.probing.evaluator import ProbeRunner, ProbeSettings
from jepa_world.probing.prober import PROBE_BASE_LR, PROBE_BATCH_SIZE, PROBE_EPOCHS, Prober
from jepa_world.probing.results import PROBE_SETS
from jepa_world.probing.splits import missing_splits

#: Trajectories per split in ``quick_debug`` mode.
QUICK_DEBUG_LIMIT = 640


@dataclass
class ProbingConfig:
    """The prober's settings under the course template's names.

    Attributes:
        lr: Prober learning rate for batch 256 (2e-4 in the protocol).
        epochs: Prober training epochs (20).
        batch_size: Prober batch size (64).
    """

    lr: float = PROBE_BASE_LR
    epochs: int = PROBE_EPOCHS
    batch_size: int = PROBE_BATCH_SIZE


class ProbingEvaluator:
    """The course template's evaluator interface.

    ``train_pred_prober()`` trains the prober on ``probe_normal/train``;
    ``evaluate_all(prober)`` returns ``{set: MSE}`` for the ``normal``, ``wall`` and
    ``wall_other`` sets present. The ``expert`` set has its own prober: use
    :func:`~jepa_world.probing.evaluator.evaluate` for all four.

    Args:
        device: Where the model and the prober run.
        model: Any module with ``forward(states, actions) -> (B, T, D)`` and ``repr_dim``.
        data_dir: Directory holding the ``probe_*`` splits.
        quick_debug: One epoch on at most 640 trajectories per split, to check the plumbing.
        config: The prober's settings (learning rate, epochs, batch size).
    """

    def __init__(
        self,
        device: str | torch.device,
        model: nn.Module,
        data_dir: str | Path = "data/quickstart",
        quick_debug: bool = False,
        config: ProbingConfig | None = None,
    ) -> None:
        self.config = config or ProbingConfig()
        limit = QUICK_DEBUG_LIMIT if quick_debug else None
        settings = ProbeSettings(
            device=str(device),
            epochs=1 if quick_debug else self.config.epochs,
            batch_size=self.config.batch_size,
            base_lr=self.config.lr,
            max_train=limit,
            max_val=limit,
        )
        self.runner = ProbeRunner(model, data_dir, settings)

    def train_pred_prober(self) -> Prober:
        return self.runner.prober(PROBE_SETS["normal"].train)

    def evaluate_pred_prober(self, prober: Prober, name: str) -> float:
        return self.runner.evaluate_set(name, prober).mse

    def evaluate_all(self, prober: Prober) -> dict[str, float]:
        present = [
            n
            for n in ("normal", "wall", "wall_other")
            if n not in missing_splits(self.runner.data_dir, [n])
        ]
        return {name: self.evaluate_pred_prober(prober, name) for name in present}
