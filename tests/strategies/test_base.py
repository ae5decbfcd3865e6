"""The contract every strategy honours, and the shared batch statistics."""

import pytest
import torch

from jepa_world.strategies import VICReg
from jepa_world.strategies.base import (
    LossStrategy,
    StrategyOutput,
    covariance_penalty,
    prediction_mse,
    variance_hinge,
)


def test_a_few_optimizer_steps_lower_the_loss(strategy_name, batch, tools):
    states, actions = batch
    model = tools["world_model"]()
    strategy = tools["strategies"][strategy_name]()
    strategy.setup(model)
    params = [p for p in [*model.parameters(), *strategy.parameters()] if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=3e-3)
    losses = []
    for step in range(20):
        out = tools["run"](strategy, model, states, actions)
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
        strategy.on_after_optimizer_step(model, step + 1, 20)
        losses.append(out.loss.item())
    assert sum(losses[-3:]) / 3 < 0.8 * sum(losses[:3]) / 3, losses


def test_a_constant_embedding_is_penalised(strategy_name, tools):
    torch.manual_seed(0)
    strategy = tools["strategies"][strategy_name]()
    strategy.setup(tools["world_model"]())
    actions = torch.randn(32, 8, 2)
    spread = torch.randn(32, 9, 16)
    constant = torch.full((32, 9, 16), 0.5)
    healthy = strategy(spread, spread, spread, actions).loss
    collapsed = strategy(constant, constant, constant, actions).loss
    assert collapsed > healthy + 0.1, (collapsed.item(), healthy.item())


def test_terms_are_finite_float32_in_bf16_autocast(strategy_name, batch, tools):
    states, actions = batch
    model = tools["world_model"]()
    strategy = tools["strategies"][strategy_name]()
    strategy.setup(model)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = tools["run"](strategy, model, states, actions)
    assert out.loss.dtype == torch.float32
    assert torch.isfinite(out.loss)
    assert out.terms and all(
        torch.isfinite(v) and v.dtype == torch.float32 for v in out.terms.values()
    )
    out.loss.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


def test_forward_rejects_mismatched_shapes_and_prints_them():
    strategy = VICReg()
    z = torch.zeros(4, 5, 8)
    with pytest.raises(ValueError, match=r"targets \(4, 6, 8\)"):
        strategy(z, torch.zeros(4, 6, 8), z, torch.zeros(4, 4, 2))
    with pytest.raises(ValueError, match=r"actions \(4, 5, 2\)"):
        strategy(z, z, z, torch.zeros(4, 5, 2))


def test_base_class_requires_compute():
    with pytest.raises(NotImplementedError, match="compute"):
        LossStrategy()(
            torch.zeros(2, 3, 4), torch.zeros(2, 3, 4), torch.zeros(2, 3, 4), torch.zeros(2, 2, 2)
        )
    assert StrategyOutput(torch.tensor(1.0)).terms == {}


def test_prediction_error_ignores_the_first_step():
    predictions, targets = torch.zeros(2, 3, 4), torch.zeros(2, 3, 4)
    targets[:, 0] = 100.0  # t = 0 is the encoding of the given frame, never predicted
    targets[:, 2] = 1.0
    assert prediction_mse(predictions, targets).item() == pytest.approx(0.5)


def test_variance_hinge_is_clamped_on_both_sides():
    collapsed = torch.ones(64, 8)
    assert variance_hinge(collapsed, std_target=1.0).item() == pytest.approx(0.99, abs=1e-3)
    wide = torch.randn(4096, 8) * 5
    assert variance_hinge(wide, std_target=1.0).item() == 0.0
    half = torch.randn(4096, 8) * 0.5
    assert variance_hinge(half, std_target=1.0).item() == pytest.approx(0.5, abs=0.05)


def test_covariance_penalty_sees_redundant_dimensions():
    torch.manual_seed(0)
    independent = torch.randn(4096, 8)
    redundant = independent.clone()
    redundant[:, 1] = redundant[:, 0]
    assert covariance_penalty(independent).item() < 0.01
    assert covariance_penalty(redundant).item() == pytest.approx(2 / 8, abs=0.05)


def test_covariance_penalty_of_a_code_wider_than_the_batch_matches_the_full_matrix():
    torch.manual_seed(0)
    z = torch.randn(24, 300, dtype=torch.float64) @ torch.randn(300, 300, dtype=torch.float64)
    z.requires_grad_(True)
    centred = z - z.mean(dim=0)
    cov = centred.T @ centred / 23
    expected = (cov - torch.diag(torch.diagonal(cov))).pow(2).sum() / 300
    (expected_grad,) = torch.autograd.grad(expected, z)
    value = covariance_penalty(z)  # the Gram-matrix path: 300 dimensions, 24 samples
    (grad,) = torch.autograd.grad(value, z)
    torch.testing.assert_close(value, expected)
    torch.testing.assert_close(grad, expected_grad)
