import math

import lightning as L
import numpy as np
import pytest
import torch
from helpers import Windows
from torch.utils.data import DataLoader

from jepa_world.models import ConvEncoder, MLPPredictor, WorldModel
from jepa_world.module import (
    RANK_METRIC,
    STD_METRIC,
    STEP_CHANGE_METRIC,
    JEPAModule,
    effective_rank,
    embedding_stats,
    step_change,
    warmup_cosine,
)
from jepa_world.strategies import BYOLEMA, VICReg


class CountingVICReg(VICReg):
    """VICReg that records every optimizer-step hook call."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[int, int]] = []

    def on_after_optimizer_step(self, world_model, step, total_steps):
        self.calls.append((step, total_steps))


def small_module(strategy=None, **kwargs) -> JEPAModule:
    torch.manual_seed(0)
    return JEPAModule(
        encoder=ConvEncoder(repr_dim=16, wall_dim=4, agent_channels=(4, 8), wall_channels=(4, 4)),
        predictor=MLPPredictor(repr_dim=16, hidden_dim=32),
        strategy=strategy or VICReg(),
        **kwargs,
    )


def quiet_trainer(**kwargs) -> L.Trainer:
    defaults = dict(
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    return L.Trainer(**{**defaults, **kwargs})


# -- plain functions ------------------------------------------------------------------------


def test_warmup_cosine_schedule():
    assert warmup_cosine(0, 100, 10, 0.01) == pytest.approx(0.1)
    assert warmup_cosine(9, 100, 10, 0.01) == pytest.approx(1.0)
    assert warmup_cosine(10, 100, 10, 0.01) == pytest.approx(1.0)
    assert warmup_cosine(55, 100, 10, 0.01) == pytest.approx(0.01 + 0.99 * 0.5)
    assert warmup_cosine(100, 100, 10, 0.01) == pytest.approx(0.01)
    assert warmup_cosine(0, 100, 0, 0.0) == pytest.approx(1.0)


def test_effective_rank_of_cloud_line_and_point():
    torch.manual_seed(0)
    assert effective_rank(torch.randn(4096, 8)).item() > 7.5
    line = torch.randn(512, 1) * torch.randn(1, 8)
    assert effective_rank(line).item() == pytest.approx(1.0, abs=1e-3)
    assert effective_rank(torch.ones(64, 8)).item() == 0.0


def test_embedding_stats_tell_collapse_from_spread():
    torch.manual_seed(0)
    spread = embedding_stats(torch.randn(8, 17, 16))
    collapsed = embedding_stats(torch.full((8, 17, 16), 3.0))
    assert spread["std"] > 0.9 and spread["effective_rank"] > 10
    assert collapsed["std"] == 0 and collapsed["effective_rank"] == 0


def linear_walks(n: int, steps: int, seed: int = 0) -> torch.Tensor:
    """Codes ``(n, steps, 2)`` that are the positions of agents walking 1 px a step."""
    g = torch.Generator().manual_seed(seed)
    start = torch.rand(n, 1, 2, generator=g) * 60
    angle = torch.rand(n, 1, 1, generator=g) * 2 * math.pi
    direction = torch.cat([angle.cos(), angle.sin()], dim=-1)
    return start + torch.arange(steps).view(1, -1, 1) * direction


def test_step_change_tells_a_moving_code_from_a_static_one():
    torch.manual_seed(0)
    layout_only = torch.randn(32, 1, 16).expand(32, 9, 16)
    assert embedding_stats(layout_only)["step_change"] == 0.0  # varies between trajectories only
    assert embedding_stats(layout_only)["std"] > 0.5
    assert step_change(torch.full((4, 9, 8), 2.0)) == 0.0
    walks = linear_walks(4096, 17)
    spread = walks.reshape(-1, 2).std(dim=0).mean()
    # about step length / spread of the positions (RMS per dimension of a unit step: 1/sqrt(2))
    assert step_change(walks).item() == pytest.approx((0.5**0.5) / spread.item(), rel=0.05)
    # and hardly depends on the window length
    assert step_change(walks[:, :2]).item() == pytest.approx(step_change(walks).item(), rel=0.25)


def test_embedding_stats_give_step_change_for_trajectories_only():
    assert "step_change" in embedding_stats(torch.randn(4, 3, 8))
    assert "step_change" not in embedding_stats(torch.randn(12, 8))
    assert "step_change" not in embedding_stats(torch.randn(4, 1, 8))


# -- the module -----------------------------------------------------------------------------


def test_module_exposes_the_world_model_and_its_contract():
    module = small_module()
    assert isinstance(module.world_model, WorldModel)
    assert module.repr_dim == 16
    data = Windows(3, 17)
    out = module(data.states[:, :1], data.actions)
    assert out.shape == (3, 17, 16)


def test_build_optimizer_gives_a_hand_written_loop_the_fit_optimizer_and_schedule():
    module = small_module(lr=1e-3, weight_decay=0.05, warmup_fraction=0.1, min_lr_ratio=0.01)
    optimizer, schedule = module.build_optimizer(total_steps=100)
    decay, no_decay = optimizer.param_groups
    assert decay["weight_decay"] == 0.05 and no_decay["weight_decay"] == 0.0
    assert all(p.ndim >= 2 for p in decay["params"]) and all(p.ndim < 2 for p in no_decay["params"])
    assert len(decay["params"]) + len(no_decay["params"]) == len(list(module.parameters()))
    lrs = []
    for _ in range(100):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    assert lrs[0] < lrs[5] < lrs[10] == pytest.approx(1e-3)  # warm-up over 10 steps
    assert lrs[99] == pytest.approx(1e-5, rel=0.05)  # cosine down to min_lr_ratio


def test_module_built_in_python_keeps_modules_out_of_hparams():
    module = small_module(lr=3e-4)
    assert module.hparams["lr"] == 3e-4
    assert not {"encoder", "predictor", "strategy"} & set(module.hparams)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"lr": 0.0}, "lr"),
        ({"weight_decay": -1.0}, "weight_decay"),
        ({"warmup_fraction": 1.0}, "warmup_fraction"),
    ],
)
def test_module_validates_optimiser_settings(kwargs, field):
    with pytest.raises(ValueError, match=field):
        small_module(**kwargs)


def test_module_rejects_a_strategy_that_is_not_one():
    with pytest.raises(TypeError, match="LossStrategy"):
        small_module(strategy=torch.nn.MSELoss())


def test_recurrent_and_teacher_forced_losses_score_every_step():
    data = Windows(4, 9)
    batch = {"states": data.states, "actions": data.actions}
    recurrent, _ = small_module().compute_loss(batch)
    forced, _ = small_module(teacher_forcing=True).compute_loss(batch)
    assert set(recurrent.terms) == set(forced.terms) == {"prediction", "variance", "covariance"}
    assert recurrent.terms["prediction"] != forced.terms["prediction"]


def test_bad_batches_are_reported():
    with pytest.raises(ValueError, match="'states' and 'actions'"):
        small_module().compute_loss({"frames": torch.zeros(1)})


def test_fit_logs_terms_statistics_and_learning_rate():
    module = small_module(stats_every_n_steps=1)
    trainer = quiet_trainer(max_steps=3)
    trainer.fit(module, DataLoader(Windows(12, 5), batch_size=4))
    logged = trainer.callback_metrics
    keys = ("train/loss", "train/prediction", "train/variance", STD_METRIC, RANK_METRIC, "lr")
    for key in (*keys, STEP_CHANGE_METRIC):
        assert key in logged and math.isfinite(float(logged[key])), key


@pytest.mark.parametrize("every_step, expected", [(False, 1), (True, 3)])
def test_loss_terms_are_logged_on_written_steps_unless_asked_for_every_step(
    monkeypatch: pytest.MonkeyPatch, every_step: bool, expected: int
) -> None:
    module = small_module()
    module.log_terms_every_step = every_step
    names: list[str] = []
    original = module.log
    monkeypatch.setattr(
        module, "log", lambda name, *a, **k: (names.append(name), original(name, *a, **k))
    )
    trainer = quiet_trainer(max_steps=3, log_every_n_steps=50)
    trainer.fit(module, DataLoader(Windows(12, 5), batch_size=4))
    assert names.count("train/prediction") == expected  # step 0 always, so every key exists
    assert names.count("train/loss") == 3


def test_strategy_hook_runs_once_per_optimizer_step_under_accumulation():
    strategy = CountingVICReg()
    trainer = quiet_trainer(max_epochs=1, accumulate_grad_batches=2)
    trainer.fit(small_module(strategy), DataLoader(Windows(16, 5), batch_size=2))  # 8 batches
    assert [step for step, _ in strategy.calls] == [1, 2, 3, 4]
    assert {total for _, total in strategy.calls} == {4}


def test_ema_target_follows_the_online_encoder_during_fit():
    module = small_module(BYOLEMA(std_weight=1.0, base_momentum=0.5))
    before = [p.clone() for p in module.strategy.target_encoder.parameters()]
    trainer = quiet_trainer(max_steps=2)
    trainer.fit(module, DataLoader(Windows(8, 5), batch_size=4))
    after = list(module.strategy.target_encoder.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(after, before, strict=True))
    assert not any(p.requires_grad for p in after)
    optimised = {id(p) for group in trainer.optimizers[0].param_groups for p in group["params"]}
    assert not optimised & {id(p) for p in after}


@pytest.mark.slow
def test_short_training_learns_without_collapse():
    """A real run on tiny data: the prediction error falls and the embeddings stay spread."""
    module = small_module(VICReg(), lr=2e-3, stats_every_n_steps=1)
    seen: list[tuple[float, float]] = []

    class Record(L.Callback):
        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            seen.append(
                (float(outputs["terms"]["prediction"]), float(trainer.callback_metrics[STD_METRIC]))
            )

    trainer = quiet_trainer(max_epochs=4, callbacks=[Record()])
    trainer.fit(module, DataLoader(Windows(96, 17), batch_size=16, shuffle=True))
    first = np.mean([p for p, _ in seen[:4]])
    last = np.mean([p for p, _ in seen[-4:]])
    assert last < 0.5 * first, (first, last)
    assert min(std for _, std in seen[len(seen) // 2 :]) > 0.3


def test_init_weights_starts_from_a_saved_world_model(tmp_path):
    """Stage two of a schedule: the weights of stage one, fresh optimizer and this run's options."""
    from jepa_world.models import save_world_model

    first = small_module()
    with torch.no_grad():
        for p in first.world_model.parameters():
            p.add_(0.5)
    path = save_world_model(first.world_model, tmp_path / "stage1.pth")
    second = small_module(init_weights=str(path), teacher_forcing=True)
    for a, b in zip(first.world_model.parameters(), second.world_model.parameters(), strict=True):
        assert torch.equal(a, b)
    assert second.teacher_forcing and second.hparams.init_weights == str(path)
    # BYOL's target network starts from the loaded weights, not from the random ones.
    byol = small_module(BYOLEMA(), init_weights=str(path))
    target = byol.strategy.target_encoder.state_dict()
    for key, value in byol.world_model.encoder.state_dict().items():
        assert torch.equal(target[key], value), key

    torch.manual_seed(0)
    other = JEPAModule(
        ConvEncoder(repr_dim=8, wall_dim=2), MLPPredictor(repr_dim=8, hidden_dim=16), VICReg()
    )
    wrong = save_world_model(other.world_model, tmp_path / "other.pth")
    with pytest.raises(ValueError, match="another architecture"):
        small_module(init_weights=str(wrong))
    with pytest.raises(ValueError, match="init_weights: .*no such checkpoint"):
        small_module(init_weights=str(tmp_path / "missing.pth"))
