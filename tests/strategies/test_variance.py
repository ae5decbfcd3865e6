import pytest
import torch

from jepa_world.strategies import VarianceOnly


def test_variance_only_has_no_covariance_term():
    z = torch.randn(32, 4, 8)
    out = VarianceOnly()(z, z, z, torch.zeros(32, 3, 2))
    assert set(out.terms) == {"prediction", "variance"}


def test_variance_hinge_stops_at_the_target_and_saturates_when_collapsed():
    strategy = VarianceOnly(std_target=1.0)
    actions = torch.zeros(512, 2, 2)
    wide = torch.randn(512, 3, 8) * 10
    assert strategy(wide, wide, wide, actions).terms["variance"] == 0  # no reward for large scale
    constant = torch.zeros(512, 3, 8)
    assert strategy(constant, constant, constant, actions).terms[
        "variance"
    ].item() == pytest.approx(0.99, abs=1e-3)


@pytest.mark.parametrize("field", ["prediction_weight", "std_weight"])
def test_variance_only_rejects_negative_weights_naming_the_field(field):
    with pytest.raises(ValueError, match=field):
        VarianceOnly(**{field: -0.1})
