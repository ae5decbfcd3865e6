import pytest
import torch

from jepa_world.models import GRUPredictor, MLPPredictor

PREDICTORS = [
    lambda: MLPPredictor(repr_dim=12, hidden_dim=32),
    lambda: GRUPredictor(repr_dim=12, hidden_dim=16),
]


@pytest.mark.parametrize("make", PREDICTORS)
def test_untrained_predictor_is_the_identity(make):
    predictor = make()
    z = torch.randn(5, 12)
    torch.testing.assert_close(predictor(z, torch.randn(5, 2)), z)


@pytest.mark.parametrize("make", PREDICTORS)
def test_predictor_learns_an_action_dependent_step(make):
    torch.manual_seed(0)
    predictor = make()
    mixing = torch.randn(2, 12)
    optimizer = torch.optim.Adam(predictor.parameters(), lr=1e-2)
    losses = []
    for _ in range(60):
        z, a = torch.randn(64, 12), torch.randn(64, 2)
        loss = (predictor(z, a) - (z + a @ mixing)).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert sum(losses[-5:]) / 5 < 0.2 * losses[0]


@pytest.mark.parametrize("make", PREDICTORS)
def test_predictor_rejects_mismatched_inputs_naming_shapes(make):
    predictor = make()
    with pytest.raises(ValueError, match=r"\(5, 7\)"):
        predictor(torch.zeros(5, 7), torch.zeros(5, 2))
    with pytest.raises(ValueError, match=r"\(4, 2\)"):
        predictor(torch.zeros(5, 12), torch.zeros(4, 2))


def test_predictors_validate_their_arguments():
    with pytest.raises(ValueError, match="hidden_dim"):
        MLPPredictor(hidden_dim=0)
    with pytest.raises(ValueError, match="action_embed_dim"):
        GRUPredictor(action_embed_dim=-1)
