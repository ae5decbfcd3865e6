import pytest
import torch

from jepa_world.strategies import InverseDynamics, SIGReg
from jepa_world.strategies.sigreg import epps_pulley, random_directions, sigreg


def test_epps_pulley_is_small_for_a_standard_normal_and_large_otherwise():
    torch.manual_seed(0)
    normal = torch.randn(4096, 4)
    assert epps_pulley(normal).max() < 5.0  # the statistic is O(1) under the null hypothesis
    assert epps_pulley(normal * 0.1).min() > 50  # collapsed toward a point
    assert epps_pulley(normal * 3.0).min() > 50  # too wide
    assert epps_pulley(normal + 1.0).min() > 50  # off centre


def test_epps_pulley_matches_the_closed_form_for_a_point_mass():
    # A point mass at 0 has characteristic function 1: N·∫(1 - e^{-t²/2})² e^{-t²/2} dt over R.
    t = torch.linspace(-12, 12, 200001, dtype=torch.float64)
    g = torch.exp(-0.5 * t**2)
    exact = torch.trapezoid((1 - g) ** 2 * g, t).item()
    statistic = epps_pulley(torch.zeros(100, 1, dtype=torch.float64), t_max=6.0, num_knots=2001)
    assert statistic.item() == pytest.approx(100 * exact, rel=1e-3)


def test_directions_are_unit_and_shared_for_a_step():
    a = random_directions(8, 16, step=3, device=torch.device("cpu"))
    torch.testing.assert_close(a.norm(dim=0), torch.ones(16))
    torch.testing.assert_close(a, random_directions(8, 16, step=3, device=torch.device("cpu")))
    assert not torch.allclose(a, random_directions(8, 16, step=4, device=torch.device("cpu")))


def test_sigreg_prefers_isotropic_embeddings():
    torch.manual_seed(0)
    isotropic = torch.randn(2048, 16)
    stretched = isotropic * torch.linspace(0.1, 2.0, 16)
    assert sigreg(stretched, 128, step=0) > 10 * sigreg(isotropic, 128, step=0)


def test_sigreg_draws_its_directions_from_the_step_not_from_its_calls():
    z = torch.randn(64, 3, 8)
    actions = torch.zeros(64, 2, 2)
    strategy = SIGReg(num_slices=4)

    def statistic(step: int) -> torch.Tensor:
        strategy.set_step(step)
        return strategy(z, z, z, actions).terms["sigreg"]

    first = statistic(5)
    assert statistic(5) == first  # a second call of step 5 (validation, a resume) draws the same
    assert statistic(6) != first  # the next step draws new directions
    assert SIGReg(num_slices=4, seed=1)(z, z, z, actions).terms["sigreg"] == statistic(1)


def test_inverse_dynamics_passes_the_step_to_its_base():
    strategy = InverseDynamics(SIGReg(num_slices=4))
    strategy.set_step(7)
    assert strategy.base.step == 7


@pytest.mark.parametrize(
    ("field", "value"),
    [("sigreg_weight", -1.0), ("prediction_weight", -1.0), ("num_slices", 0), ("num_knots", 1)],
)
def test_sigreg_rejects_bad_settings_naming_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        SIGReg(**{field: value})
