import lightning as L
import numpy as np
import pytest
import torch
from helpers import FreshWindows, course_probe_scores
from torch.utils.data import DataLoader

from jepa_world.env import random_trajectories, wall_run_trajectories
from jepa_world.models import (
    GenericEncoder,
    GenericPredictor,
    WorldModel,
    count_parameters,
    load_world_model,
    save_world_model,
)
from jepa_world.models.generic import (
    KeypointBranch,
    map_grid,
    spatial_soft_argmax,
    spatial_softmax_argmax,
)
from jepa_world.module import JEPAModule
from jepa_world.probing import MockModel
from jepa_world.strategies import VarianceOnly


def generic_model(dynamic_dim: int = 64, static_dim: int = 16, **predictor_args) -> WorldModel:
    return WorldModel(
        GenericEncoder(dynamic_dim=dynamic_dim, static_dim=static_dim),
        GenericPredictor(dynamic_dim=dynamic_dim, static_dim=static_dim, **predictor_args),
    )


# -- plain functions --------------------------------------------------------------------------


def test_soft_argmax_finds_the_centre_of_a_bump_between_pixels():
    grid = map_grid(33)
    u, v = 0.237, -0.51
    gu, gv = torch.meshgrid(grid, grid, indexing="xy")
    bump = torch.exp(-((gu - u) ** 2 + (gv - v) ** 2) / (2 * 0.08**2))
    found = spatial_soft_argmax(bump.view(1, 1, 33, 33), grid)
    torch.testing.assert_close(found, torch.tensor([[[u, v]]]), atol=1e-4, rtol=0)
    # An empty (or negative) map reads as the centre instead of dividing by zero.
    assert torch.equal(spatial_soft_argmax(-torch.ones(2, 3, 33, 33), grid), torch.zeros(2, 3, 2))


def test_softmax_argmax_points_at_the_strongest_response_despite_weaker_ones():
    grid = map_grid(17)
    maps = torch.zeros(1, 1, 17, 17)
    maps[0, 0, 4, 12] = 5.0  # the strongest response, at u = grid[12], v = grid[4]
    maps[0, 0, :, 0] = 1.0  # a weaker line along the left border
    sharp = spatial_softmax_argmax(maps, grid, torch.tensor(20.0))
    torch.testing.assert_close(sharp, torch.tensor([[[grid[12], grid[4]]]]), atol=1e-4, rtol=0)
    # The rectified mean is pulled towards the border line; the exponential one is not.
    assert spatial_soft_argmax(maps, grid)[0, 0, 0] < sharp[0, 0, 0] - 0.5


def test_keypoint_branch_options_keep_the_output_shape():
    branch = KeypointBranch(4, 3, 7, stride=4, softmax=True, coords=True)
    assert branch(torch.rand(2, 1, 65, 65)).shape == (2, 7)
    assert branch.keypoints(torch.rand(2, 1, 65, 65)).abs().max() <= 1.0


# -- contract ---------------------------------------------------------------------------------


def test_whole_model_fits_the_parameter_budget():
    assert count_parameters(generic_model()) <= 50_000


def test_encoder_output_and_errors():
    encoder = GenericEncoder(dynamic_dim=12, static_dim=4)
    assert encoder(torch.rand(5, 2, 65, 65) * 0.09).shape == (5, encoder.repr_dim) == (5, 16)
    with pytest.raises(ValueError, match=r"\(5, 1, 65, 65\)"):
        encoder(torch.zeros(5, 1, 65, 65))
    with pytest.raises(ValueError, match="agent_keypoints"):
        GenericEncoder(agent_keypoints=0)


def test_untrained_keypoints_follow_the_agent(make_batch):
    states, _ = make_batch(4, 5)
    frames = states.reshape(-1, 2, 65, 65)
    torch.manual_seed(0)
    encoder = GenericEncoder()
    with torch.no_grad():
        keypoints = encoder.agent.keypoints(frames[:, :1] * encoder.input_scale)
    # Each map is a blurred copy of the blob at first: its keypoint is the agent, up to the
    # blur's small offset.
    correlation = np.corrcoef(keypoints[:, 0, 0].numpy(), frames[:, 0].sum(1).argmax(-1).numpy())
    assert correlation[0, 1] > 0.99


def test_untrained_predictor_is_the_identity_and_carries_the_static_part():
    predictor = GenericPredictor(dynamic_dim=8, static_dim=3, hidden_dim=16)
    z = torch.randn(6, 11)
    torch.testing.assert_close(predictor(z, torch.randn(6, 2)), z)
    with torch.no_grad():
        for p in predictor.parameters():
            p.add_(torch.randn_like(p))
    out = predictor(z, torch.randn(6, 2))
    assert torch.equal(out[:, 8:], z[:, 8:])
    assert not torch.allclose(out[:, :8], z[:, :8])


def test_predictor_rejects_bad_inputs_and_arguments():
    predictor = GenericPredictor(dynamic_dim=8, static_dim=3)
    with pytest.raises(ValueError, match=r"\(5, 7\)"):
        predictor(torch.zeros(5, 7), torch.zeros(5, 2))
    with pytest.raises(ValueError, match="hidden_dim"):
        GenericPredictor(hidden_dim=0)


def test_world_model_round_trips_through_the_weights_file(tmp_path, make_batch):
    torch.manual_seed(0)
    model = generic_model(dynamic_dim=16, static_dim=4, hidden_dim=24)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    states, actions = make_batch(3, 9)
    loaded = load_world_model(save_world_model(model, tmp_path / "model_weights.pth"))
    torch.testing.assert_close(loaded(states[:, :1], actions), model(states[:, :1], actions))


# -- a CI-sized training run --------------------------------------------------------------------


@pytest.mark.slow
def test_short_training_learns_to_move_and_beats_the_mock_model():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    rng = np.random.default_rng(12345)  # evaluation sets: a seed the training stream never uses
    sets = {"normal": random_trajectories(rng, 400), "wall": wall_run_trajectories(rng, 400)}
    probe_train = random_trajectories(rng, 1200)

    model = generic_model(dynamic_dim=32, static_dim=8, hidden_dim=64)
    module = JEPAModule(
        model.encoder,
        model.predictor,
        VarianceOnly(std_target=1.0),
        teacher_forcing=True,
        lr=3e-3,
        weight_decay=0.0,
    )
    trainer = L.Trainer(
        accelerator="cpu",
        max_steps=300,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(module, DataLoader(FreshWindows(16, seed=0), batch_size=None))
    model = module.world_model.eval()

    scores = course_probe_scores(model, probe_train, sets)
    mock = course_probe_scores(MockModel(repr_dim=model.repr_dim), probe_train, sets)
    # Measured at these settings: about 0.09 of the mock model's score on both sets (the prober
    # of 1,200 trajectories is weaker than the course's); a model that does not learn to encode
    # the agent scores at the mock level.
    for name in sets:
        assert scores[name] < 0.15 * mock[name], (name, scores, mock)
