"""The simulator as a world model (the ceiling) and its exact reading of frames."""

from __future__ import annotations

import numpy as np
import torch

from jepa_world.env.physics import simulate
from jepa_world.planning import sample_episodes, simulator_model
from jepa_world.planning.mpc import frames_at


def test_simulator_encoder_reads_the_exact_state_off_a_frame() -> None:
    e = sample_episodes(np.random.default_rng(0), 200)
    z = simulator_model().encoder(frames_at(e.start, e))
    assert np.abs(z[:, :2].numpy() - e.start).max() < 2e-3
    assert np.array_equal(z[:, 2].numpy(), e.wall_x.astype(np.float32))
    assert np.array_equal(z[:, 3].numpy(), e.door_y.astype(np.float32))


def test_simulator_predictor_follows_the_transition_rule() -> None:
    rng = np.random.default_rng(1)
    e = sample_episodes(rng, 300)
    actions = rng.uniform(-2.4, 2.4, (300, 12, 2)).astype(np.float32)
    truth = simulate(e.start, actions, e.wall_x, e.door_y)
    model = simulator_model()
    z0 = torch.cat(
        [torch.from_numpy(e.start), torch.from_numpy(np.stack([e.wall_x, e.door_y], 1)).float()], 1
    )
    unrolled = model.unroll(z0, torch.from_numpy(actions))
    assert np.allclose(unrolled[:, :, :2].numpy(), truth, atol=1e-4)
    assert (truth[:, 1:] == truth[:, :-1]).all(-1).any()  # some steps were blocked


def test_simulator_predictor_passes_gradients_through_free_steps() -> None:
    model = simulator_model()
    z = torch.tensor([[20.0, 30.0, 40.0, 30.0]])
    action = torch.tensor([[1.0, 0.5]], requires_grad=True)
    model.predictor(z, action)[:, :2].sum().backward()
    assert torch.equal(action.grad, torch.ones(1, 2))
