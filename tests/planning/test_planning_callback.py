"""PlanningCallback: success rate logged during training, the model left as it was."""

from __future__ import annotations

import lightning.pytorch as pl
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from jepa_world.planning import MPPI, simulator_model
from jepa_world.planning.callback import PlanningCallback


class Holder(pl.LightningModule):
    """A module whose `world_model` is the simulator; it trains a dummy parameter."""

    def __init__(self) -> None:
        super().__init__()
        self.world_model = simulator_model()
        self.weight = torch.nn.Parameter(torch.zeros(1))

    def training_step(self, batch, batch_idx):  # type: ignore[override]
        return (self.weight - batch[0]).pow(2).mean()

    def configure_optimizers(self):  # type: ignore[override]
        return torch.optim.SGD(self.parameters(), lr=0.1)


def small_callback(**kwargs) -> PlanningCallback:
    return PlanningCallback(
        episodes=4, planner=MPPI(horizon=80, samples=32), replan_every=10, **kwargs
    )


def test_evaluate_reports_success_with_the_simulator() -> None:
    module = Holder()
    numbers = small_callback(seed=2, steps=80).evaluate(module)
    assert set(numbers) == {
        "plan/success_final",
        "plan/success_reach",
        "plan/final_distance",
        "plan/seconds",
    }
    assert numbers["plan/success_final"] >= 0.5
    assert module.world_model.training is False  # simulator_model() is built in eval mode, kept


@pytest.mark.slow
def test_callback_logs_during_fit(tmp_path) -> None:
    callback = small_callback(every_n_epochs=1, steps=40)
    trainer = pl.Trainer(
        max_epochs=1,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[callback],
        default_root_dir=tmp_path,
    )
    trainer.fit(Holder(), DataLoader(TensorDataset(torch.ones(4, 1)), batch_size=2))
    assert "plan/success_final" in trainer.callback_metrics
    assert callback.last_summary is not None


def test_bad_settings_and_modules_are_refused() -> None:
    with pytest.raises(ValueError, match="episodes"):
        PlanningCallback(episodes=0)
    with pytest.raises(ValueError, match="every_n_epochs"):
        PlanningCallback(every_n_epochs=0)
    module = Holder()
    module.world_model = torch.nn.Linear(2, 2)
    with pytest.raises(TypeError, match="expected a world model"):
        PlanningCallback().setup(pl.Trainer(logger=False), module, "fit")
