import types
import warnings

import lightning as L
import pytest
import torch
from helpers import ConstantEncoder, WallOnlyEncoder, Windows
from torch.utils.data import DataLoader

from jepa_world.callbacks import CollapseMonitor, NaNGuard
from jepa_world.models import MLPPredictor
from jepa_world.module import RANK_METRIC, STD_METRIC, STEP_CHANGE_METRIC, JEPAModule
from jepa_world.strategies import StrategyOutput, VICReg


def fake_trainer(
    step: int, std: float, rank: float, change: float | None = None
) -> types.SimpleNamespace:
    metrics = {STD_METRIC: torch.tensor(std), RANK_METRIC: torch.tensor(rank)}
    if change is not None:
        metrics[STEP_CHANGE_METRIC] = torch.tensor(change)
    return types.SimpleNamespace(
        global_step=step, current_epoch=0, callback_metrics=metrics, should_stop=False
    )


class NaNAfter(VICReg):
    """VICReg whose variance term turns NaN from the third call on."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def compute(self, predictions, targets, embeddings, actions):
        out = super().compute(predictions, targets, embeddings, actions)
        self.calls += 1
        if self.calls >= 3:
            terms = {**out.terms, "variance": out.terms["variance"] * float("nan")}
            return StrategyOutput(out.loss * float("nan"), terms)
        return out


def trainer(**kwargs) -> L.Trainer:
    return L.Trainer(
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        **kwargs,
    )


def test_collapse_monitor_warns_with_step_and_numbers():
    monitor = CollapseMonitor(min_std=0.01, min_effective_rank=1.5, check_every_n_steps=10)
    with pytest.warns(
        UserWarning, match=r"collapse at step 20: mean per-dimension std 0.001 < 0.01"
    ):
        monitor.on_train_batch_end(fake_trainer(20, 0.001, 4.0), None, None, None, 0)


def test_collapse_monitor_sees_dimensional_collapse():
    monitor = CollapseMonitor(check_every_n_steps=1)
    with pytest.warns(UserWarning, match=r"effective rank 1.1 < 1.5"):
        monitor.on_train_batch_end(fake_trainer(3, 0.8, 1.1), None, None, None, 0)


def test_collapse_monitor_sees_a_code_that_is_static_along_trajectories():
    monitor = CollapseMonitor(check_every_n_steps=1)
    with pytest.warns(
        UserWarning, match=r"static along each trajectory \(step change 0.001 < 0.01\)"
    ):
        monitor.on_train_batch_end(fake_trainer(3, 0.8, 20.0, change=0.001), None, None, None, 0)
    assert monitor.strikes == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        monitor.on_train_batch_end(fake_trainer(4, 0.8, 20.0, change=0.2), None, None, None, 0)
        off = CollapseMonitor(min_step_change=0.0, check_every_n_steps=1)
        off.on_train_batch_end(fake_trainer(5, 0.8, 20.0, change=0.0), None, None, None, 0)
    assert monitor.strikes == 0


def test_collapse_monitor_names_complete_collapse_rather_than_a_static_code():
    monitor = CollapseMonitor(check_every_n_steps=1)
    with pytest.warns(UserWarning) as caught:
        monitor.on_train_batch_end(fake_trainer(3, 0.0, 0.0, change=0.0), None, None, None, 0)
    (warning,) = caught
    assert "std 0 < 0.01" in str(warning.message) and "static" not in str(warning.message)


def test_collapse_monitor_is_quiet_on_healthy_embeddings_and_between_checks():
    monitor = CollapseMonitor(check_every_n_steps=10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        monitor.on_train_batch_end(fake_trainer(10, 0.9, 20.0), None, None, None, 0)
        monitor.on_train_batch_end(
            fake_trainer(15, 0.0, 0.0), None, None, None, 0
        )  # not a check step
    assert monitor.strikes == 0


def test_collapse_monitor_stops_after_patience_consecutive_checks():
    monitor = CollapseMonitor(check_every_n_steps=1, patience=2)
    collapsed = fake_trainer(1, 0.0, 0.0)
    with pytest.warns(UserWarning):
        monitor.on_train_batch_end(collapsed, None, None, None, 0)
    assert not collapsed.should_stop
    monitor.on_train_batch_end(fake_trainer(2, 0.9, 20.0), None, None, None, 0)  # healthy: reset
    for step in (3, 4):
        collapsed.global_step = step
        with pytest.warns(UserWarning):
            monitor.on_train_batch_end(collapsed, None, None, None, 0)
    assert collapsed.should_stop


@pytest.mark.parametrize(
    ("encoder", "message"),
    [(ConstantEncoder, r"std 0 < 0.01"), (WallOnlyEncoder, "static along each trajectory")],
    ids=["constant code", "code of the layout only"],
)
def test_collapse_monitor_stops_a_collapsed_run(encoder: type, message: str) -> None:
    torch.manual_seed(0)
    module = JEPAModule(
        encoder(8), MLPPredictor(repr_dim=8, hidden_dim=16), VICReg(), stats_every_n_steps=1
    )
    run = trainer(max_steps=20, callbacks=[CollapseMonitor(check_every_n_steps=1, patience=2)])
    with pytest.warns(UserWarning, match=message):
        run.fit(module, DataLoader(Windows(), batch_size=4))
    assert run.global_step < 20


def test_nan_guard_names_the_step_and_the_term():
    guard = NaNGuard()
    outputs = {
        "loss": torch.tensor(float("nan")),
        "terms": {"prediction": torch.tensor(0.1), "variance": torch.tensor(float("inf"))},
    }
    with pytest.raises(FloatingPointError, match=r"global step 7 .*loss = nan, variance = inf"):
        guard.on_train_batch_end(fake_trainer(7, 1.0, 1.0), None, outputs, None, 3)
    guard.on_train_batch_end(
        fake_trainer(7, 1.0, 1.0), None, {"loss": torch.tensor(1.0), "terms": {}}, None, 3
    )


def test_nan_guard_stops_fit_at_the_first_bad_step():
    torch.manual_seed(0)
    from jepa_world.models import ConvEncoder

    module = JEPAModule(
        ConvEncoder(repr_dim=8, wall_dim=2, agent_channels=(4,), wall_channels=(4,)),
        MLPPredictor(repr_dim=8, hidden_dim=16),
        NaNAfter(),
    )
    run = trainer(max_steps=10, callbacks=[NaNGuard()])
    with pytest.raises(FloatingPointError, match="variance = nan"):
        run.fit(module, DataLoader(Windows(), batch_size=2))
    assert run.global_step == 2  # the third step's update is never applied


def test_collapse_monitor_validates_its_settings():
    with pytest.raises(ValueError, match="patience"):
        CollapseMonitor(patience=0)
    with pytest.raises(ValueError, match="check_every_n_steps"):
        CollapseMonitor(check_every_n_steps=0)
    with pytest.raises(ValueError, match="min_step_change"):
        CollapseMonitor(min_step_change=-1.0)


def test_frame_rate_counts_frames_after_warm_up():
    from jepa_world.callbacks import FrameRate

    meter = FrameRate(warmup_batches=1)
    run = trainer(max_steps=4, callbacks=[meter])
    module = JEPAModule(ConstantEncoder(8), MLPPredictor(repr_dim=8, hidden_dim=16), VICReg())
    run.fit(module, DataLoader(Windows(n=16, steps=5), batch_size=2))
    assert meter.frames == 3 * 2 * 5  # batches 2-4, two windows of five frames each
    assert meter.frames_per_second > 0
    assert "train/frames_per_s" in run.callback_metrics
