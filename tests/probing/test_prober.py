"""The protocol's pieces on hand-made tensors: constants, schedule, subsampling, metric."""

from __future__ import annotations

import math

import pytest
import torch

from jepa_world.probing.prober import (
    LOCATION_MEAN,
    LOCATION_STD,
    Normalizer,
    Prober,
    denormalise_locations,
    mse_pixels_per_timestep,
    normalise_locations,
    probe_lr,
    probe_metric,
    sample_timesteps,
    squared_error_per_timestep,
)


def test_normalisation_constants_are_the_course_values() -> None:
    assert LOCATION_MEAN == (31.5863, 32.0618)
    assert LOCATION_STD == (16.1025, 16.1353)


def test_normalisation_maps_mean_to_zero_and_adds_epsilon_to_std() -> None:
    mean = torch.tensor([[31.5863, 32.0618]], dtype=torch.float64)
    assert torch.allclose(normalise_locations(mean), torch.zeros(1, 2, dtype=torch.float64))
    one_std = mean + torch.tensor([[16.1025, 16.1353]], dtype=torch.float64)
    expected = torch.tensor(
        [[16.1025 / (16.1025 + 1e-6), 16.1353 / (16.1353 + 1e-6)]], dtype=torch.float64
    )
    assert torch.allclose(normalise_locations(one_std), expected, rtol=0, atol=1e-12)
    points = torch.rand(5, 7, 2) * 60
    assert torch.allclose(denormalise_locations(normalise_locations(points)), points, atol=1e-4)


def test_prober_is_linear_relu_linear() -> None:
    prober = Prober(10)
    layers = list(prober.net)
    assert [type(m).__name__ for m in layers] == ["Linear", "ReLU", "Linear"]
    assert (layers[0].in_features, layers[0].out_features) == (10, 256)
    assert (layers[2].in_features, layers[2].out_features) == (256, 2)
    assert prober(torch.zeros(3, 17, 10)).shape == (3, 17, 2)
    with pytest.raises(ValueError, match="size 10"):
        prober(torch.zeros(3, 17, 11))


def test_schedule_warms_up_linearly_to_5e_5_then_decays_to_a_thousandth() -> None:
    total = 1000  # warm-up: the first 100 steps
    peak = 2e-4 * 64 / 256
    assert peak == pytest.approx(5e-5)
    assert probe_lr(0, total) == 0.0
    assert probe_lr(50, total) == pytest.approx(peak / 2)
    assert probe_lr(100, total) == pytest.approx(peak)  # end of warm-up
    assert probe_lr(550, total) == pytest.approx(0.5 * peak + 0.5 * peak * 1e-3)  # half-way
    assert probe_lr(total, total) == pytest.approx(peak * 1e-3)  # the end
    decay = [probe_lr(s, total) for s in range(100, total + 1)]
    assert all(a >= b for a, b in zip(decay, decay[1:], strict=False))
    assert probe_lr(100, total, batch_size=256) == pytest.approx(2e-4)


def test_schedule_with_fewer_than_ten_steps_has_no_warm_up() -> None:
    assert probe_lr(0, 5) == pytest.approx(5e-5)
    with pytest.raises(ValueError, match="total_steps"):
        probe_lr(0, 0)


def _indexed(batch: int, horizon: int) -> tuple[torch.Tensor, torch.Tensor]:
    t = torch.arange(horizon, dtype=torch.float32)
    reps = t[None, :, None].expand(batch, horizon, 4).clone()
    targets = t[None, :, None].expand(batch, horizon, 2).clone()
    return reps, targets


@pytest.mark.parametrize("horizon", [17, 30])
def test_no_subsampling_up_to_30_timesteps(horizon: int) -> None:
    reps, targets = _indexed(8, horizon)
    out_reps, out_targets = sample_timesteps(reps, targets)
    assert out_reps is reps and out_targets is targets


def test_subsampling_keeps_30_distinct_timesteps_per_trajectory_when_longer() -> None:
    reps, targets = _indexed(64, 65)
    out_reps, out_targets = sample_timesteps(
        reps, targets, generator=torch.Generator().manual_seed(0)
    )
    assert out_reps.shape == (64, 30, 4) and out_targets.shape == (64, 30, 2)
    assert torch.equal(out_reps[..., :2], out_targets)  # each target stays with its representation
    for row in out_reps[..., 0]:
        assert len(set(row.tolist())) == 30
    assert len({tuple(row.tolist()) for row in out_reps[..., 0]}) > 1  # rows draw their own steps


def test_metric_on_a_hand_computed_case() -> None:
    # Two trajectories, two timesteps; predictions are all zero (normalised units).
    targets = torch.tensor(
        [
            [[1.0, 0.0], [0.0, 0.0]],
            [[1.0, 2.0], [0.0, 2.0]],
        ]
    )
    mse = squared_error_per_timestep(torch.zeros_like(targets), targets)
    assert torch.equal(mse, torch.tensor([[1.0, 2.0], [0.0, 2.0]]))
    sx, sy = 16.1025**2, 16.1353**2  # 259.29050625, 260.34790609
    t0 = (1.0 * sx + 2.0 * sy) / 2
    t1 = (0.0 * sx + 2.0 * sy) / 2
    per_t = mse_pixels_per_timestep(mse.double())
    assert per_t.tolist() == pytest.approx([t0, t1], rel=1e-12)
    assert probe_metric(mse.double()) == pytest.approx((t0 + t1) / 2, rel=1e-12)
    assert math.isclose((t0 + t1) / 2, 325.1705326525, rel_tol=1e-12)


def test_course_normalizer_agrees_with_the_functions() -> None:
    normalizer = Normalizer()
    points = torch.rand(3, 2) * 60
    assert torch.equal(normalizer.normalize_location(points), normalise_locations(points))
    mse = torch.tensor([[1.0, 1.0]])
    assert normalizer.unnormalize_mse(mse)[0].tolist() == pytest.approx([16.1025**2, 16.1353**2])
