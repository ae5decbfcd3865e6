import pytest
import torch

from jepa_world.strategies import ContrastiveMargin
from jepa_world.strategies.contrastive import margin_negatives, pairwise_rms_distance


def test_pairwise_distance_matches_brute_force():
    torch.manual_seed(0)
    a, b = torch.randn(3, 5, 7), torch.randn(3, 4, 7)
    expected = ((a.unsqueeze(2) - b.unsqueeze(1)).pow(2).mean(-1) + 1e-6).sqrt()
    torch.testing.assert_close(pairwise_rms_distance(a, b), expected, atol=1e-5, rtol=1e-5)


def test_negatives_beyond_the_margin_cost_nothing():
    far = torch.eye(4).unsqueeze(0) * 10.0  # four points 10·sqrt(2/4) apart
    assert margin_negatives(far, far, margin=1.0) == 0


def test_identical_negatives_pay_the_squared_margin():
    same = torch.ones(2, 6, 3)
    assert margin_negatives(same, same, margin=0.5).item() == pytest.approx(0.25, abs=1e-3)


def test_matched_pairs_are_pulled_and_mismatched_pushed():
    torch.manual_seed(0)
    targets = torch.randn(16, 4, 8, requires_grad=True)
    predictions = (targets.detach() + 0.1 * torch.randn(16, 4, 8)).requires_grad_()
    out = ContrastiveMargin(margin=2.0)(predictions, targets, targets, torch.zeros(16, 3, 2))
    assert set(out.terms) == {"prediction", "negatives"}
    out.loss.backward()
    # Moving a prediction toward its own target lowers the loss.
    step = -(predictions.detach() - targets.detach())[:, 1:]
    assert (predictions.grad[:, 1:] * step).sum() < 0


@pytest.mark.parametrize("field", ["prediction_weight", "negative_weight", "margin"])
def test_contrastive_rejects_bad_settings_naming_the_field(field):
    with pytest.raises(ValueError, match=field):
        ContrastiveMargin(**{field: -1.0})
