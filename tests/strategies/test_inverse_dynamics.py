import pytest
import torch

from jepa_world.strategies import BYOLEMA, InverseDynamics, VICReg


def test_adds_its_term_to_the_base_strategy(batch, tools):
    states, actions = batch
    model = tools["world_model"]()
    strategy = InverseDynamics(VICReg(), weight=0.5)
    strategy.setup(model)
    out = tools["run"](strategy, model, states, actions)
    base = tools["run"](VICReg(), model, states, actions)
    assert set(out.terms) == {"prediction", "variance", "covariance", "inverse_dynamics"}
    torch.testing.assert_close(out.loss, base.loss + 0.5 * out.terms["inverse_dynamics"])


def test_head_is_training_only(tools):
    model = tools["world_model"]()
    before = sum(p.numel() for p in model.parameters())
    strategy = InverseDynamics(VICReg(), hidden_dim=8)
    strategy.setup(model)
    assert sum(p.numel() for p in model.parameters()) == before
    assert sum(p.numel() for p in strategy.head.parameters()) == (2 * 16 * 8 + 8) + (8 * 2 + 2)


def test_term_falls_when_embeddings_carry_the_motion(tools):
    torch.manual_seed(0)
    positions = torch.randn(64, 1, 2) + (0.3 * torch.randn(64, 8, 2)).cumsum(dim=1)
    actions = positions[:, 1:] - positions[:, :-1]
    embeddings = torch.cat([positions, torch.zeros(64, 8, 14)], dim=-1)  # D = 16
    strategy = InverseDynamics(VICReg(), hidden_dim=32)
    strategy.setup(tools["world_model"]())
    optimizer = torch.optim.Adam(strategy.parameters(), lr=1e-2)
    first = None
    for _ in range(100):
        term = strategy(embeddings, embeddings, embeddings, actions).terms["inverse_dynamics"]
        first = first if first is not None else term.item()
        optimizer.zero_grad()
        term.backward()
        optimizer.step()
    assert term.item() < 0.1 * first


def test_passes_hooks_to_the_base(batch, tools):
    model = tools["world_model"]()
    strategy = InverseDynamics(BYOLEMA(base_momentum=0.0, final_momentum=0.0))
    strategy.setup(model)
    assert strategy.base.target_encoder is not None
    with torch.no_grad():
        for p in model.encoder.parameters():
            p.add_(1.0)
    strategy.on_after_optimizer_step(model, 1, 10)
    for t, o in zip(
        strategy.base.target_encoder.parameters(), model.encoder.parameters(), strict=True
    ):
        torch.testing.assert_close(t, o)


def test_rejects_bad_settings_naming_the_field():
    with pytest.raises(ValueError, match="weight"):
        InverseDynamics(VICReg(), weight=-1.0)
    with pytest.raises(TypeError, match="LossStrategy"):
        InverseDynamics(torch.nn.Linear(2, 2))
