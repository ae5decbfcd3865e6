import pytest
import torch

from jepa_world.strategies import VICReg


def test_vicreg_total_is_the_weighted_sum_of_its_terms():
    torch.manual_seed(0)
    strategy = VICReg(prediction_weight=2.0, std_weight=3.0, cov_weight=0.5)
    predictions, targets = torch.randn(16, 5, 8), torch.randn(16, 5, 8)
    out = strategy(predictions, targets, targets, torch.zeros(16, 4, 2))
    assert set(out.terms) == {"prediction", "variance", "covariance"}
    expected = (
        2.0 * out.terms["prediction"] + 3.0 * out.terms["variance"] + 0.5 * out.terms["covariance"]
    )
    torch.testing.assert_close(out.loss, expected)


def test_vicreg_penalises_copied_dimensions():
    torch.manual_seed(0)
    z = torch.randn(256, 3, 8)
    copied = z.clone()
    copied[..., 1:4] = copied[..., :1]
    actions = torch.zeros(256, 2, 2)
    assert (
        VICReg()(copied, copied, copied, actions).terms["covariance"]
        > 5 * VICReg()(z, z, z, actions).terms["covariance"]
    )


@pytest.mark.parametrize("field", ["prediction_weight", "std_weight", "cov_weight"])
def test_vicreg_rejects_negative_weights_naming_the_field(field):
    with pytest.raises(ValueError, match=field):
        VICReg(**{field: -1.0})
