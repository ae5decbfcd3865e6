import math

import pytest
import torch

from jepa_world.strategies import BYOLEMA
from jepa_world.strategies.byol_ema import cosine_momentum, ema_update


def _params(module):
    return [p.detach().clone() for p in module.parameters()]


def test_target_starts_equal_to_the_online_encoder(tools):
    model = tools["world_model"]()
    strategy = BYOLEMA()
    strategy.setup(model)
    for target, online in zip(
        strategy.target_encoder.parameters(), model.encoder.parameters(), strict=True
    ):
        torch.testing.assert_close(target, online)
        assert not target.requires_grad
    strategy.setup(model)  # idempotent: a second call keeps the same target
    assert strategy.target_encoder is not None


def test_target_moves_by_the_momentum_rule(tools):
    model = tools["world_model"]()
    strategy = BYOLEMA(base_momentum=0.9, final_momentum=1.0)
    strategy.setup(model)
    before = _params(strategy.target_encoder)
    with torch.no_grad():
        for p in model.encoder.parameters():
            p.add_(1.0)
    online = _params(model.encoder)
    strategy.on_after_optimizer_step(model, step=25, total_steps=100)
    m = cosine_momentum(25, 100, 0.9, 1.0)
    assert strategy.momentum == pytest.approx(m)
    for new, old, o in zip(strategy.target_encoder.parameters(), before, online, strict=True):
        torch.testing.assert_close(new, m * old + (1 - m) * o)


def test_cosine_momentum_depends_only_on_the_step():
    assert cosine_momentum(0, 100, 0.99, 1.0) == pytest.approx(0.99)
    assert cosine_momentum(50, 100, 0.99, 1.0) == pytest.approx(0.995)
    assert cosine_momentum(100, 100, 0.99, 1.0) == pytest.approx(1.0)
    assert cosine_momentum(10, 100, 0.9, 1.0) == pytest.approx(
        1.0 - 0.1 * (1 + math.cos(math.pi * 0.1)) / 2
    )


def test_ema_update_with_momentum_zero_copies_the_online_weights(tools):
    target, online = tools["world_model"](seed=1).encoder, tools["world_model"](seed=2).encoder
    ema_update(target, online, 0.0)
    for t, o in zip(target.parameters(), online.parameters(), strict=True):
        torch.testing.assert_close(t, o)


def test_no_gradient_reaches_the_target(batch, tools):
    states, actions = batch
    model = tools["world_model"]()
    strategy = BYOLEMA(std_weight=1.0)
    strategy.setup(model)
    out = tools["run"](strategy, model, states, actions)
    out.loss.backward()
    assert all(p.grad is None for p in strategy.target_encoder.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.encoder.parameters())
    assert not strategy.targets(model, states, model.encode(states)).requires_grad


def test_targets_before_setup_explain_what_is_missing(batch, tools):
    states, _ = batch
    with pytest.raises(RuntimeError, match="setup"):
        BYOLEMA().targets(tools["world_model"](), states, torch.zeros(1))


@pytest.mark.parametrize(
    ("field", "value"), [("prediction_weight", -1.0), ("std_weight", -1.0), ("base_momentum", 1.5)]
)
def test_byol_rejects_bad_settings_naming_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        BYOLEMA(**{field: value})
