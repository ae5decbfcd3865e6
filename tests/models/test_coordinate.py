import lightning as L
import numpy as np
import pytest
import torch
from helpers import FreshWindows
from torch.utils.data import DataLoader

from jepa_world.env import random_trajectories, render, wall_run_trajectories
from jepa_world.models import WorldModel, count_parameters, load_world_model, save_world_model
from jepa_world.models.coordinate import (
    CoordinateEncoder,
    CoordinatePredictor,
    contract_state,
    expand_state,
    state_dim,
)
from jepa_world.module import JEPAModule
from jepa_world.probing import MockModel
from jepa_world.probing.fitting import evaluate_prober, train_prober
from jepa_world.probing.prober import probe_metric
from jepa_world.strategies import VarianceOnly


def coordinate_model(tiles: int = 64, **predictor_args) -> WorldModel:
    return WorldModel(
        CoordinateEncoder(tiles=tiles), CoordinatePredictor(tiles=tiles, **predictor_args)
    )


# -- the representation ---------------------------------------------------------------------


def test_expand_and_contract_are_inverse():
    position = torch.rand(6, 2) * 56 + 4
    layout = torch.tensor([[20.0, 10.0], [44.0, 54.0]]).repeat(3, 1)
    z = expand_state(position, layout, tiles=5, position_gain=2.0, layout_gain=0.1)
    assert z.shape == (6, state_dim(5)) == (6, 12)
    back_position, back_layout = contract_state(z, tiles=5, position_gain=2.0, layout_gain=0.1)
    torch.testing.assert_close(back_position, position)
    torch.testing.assert_close(back_layout, layout)


def test_whole_model_fits_the_parameter_budget():
    assert count_parameters(coordinate_model()) <= 20_000


# -- encoder --------------------------------------------------------------------------------


@pytest.mark.parametrize("exclude_wall, only_wall", [("40-44", None), (None, "40-44")])
def test_encoder_reads_position_and_layout_off_frames(exclude_wall, only_wall):
    trajectories = random_trajectories(
        np.random.default_rng(1), 8, 3, exclude_wall=exclude_wall, only_wall=only_wall
    )
    frames = torch.from_numpy(
        render(trajectories.locations, trajectories.wall_x, trajectories.door_y)
    ).reshape(-1, 2, 65, 65)
    encoder = CoordinateEncoder(tiles=2)
    with torch.no_grad():
        encoder.half_kernel.uniform_(0.1, 1.0)  # any symmetric filter keeps the centre
        position, layout = encoder.state(frames)
    true = torch.from_numpy(trajectories.locations.reshape(-1, 2))
    # Exact up to the image edge, which cuts the filtered profile of an agent by the border.
    assert (position - true).abs().max() < 0.05
    expected_layout = torch.from_numpy(trajectories.layouts.repeat(3, axis=0)).float()
    torch.testing.assert_close(layout, expected_layout)


def test_encoder_output_and_errors():
    encoder = CoordinateEncoder(tiles=3)
    assert encoder(torch.rand(4, 2, 65, 65) * 0.09).shape == (4, encoder.repr_dim) == (4, 8)
    with pytest.raises(ValueError, match=r"\(4, 1, 65, 65\)"):
        encoder(torch.zeros(4, 1, 65, 65))
    with pytest.raises(ValueError, match="kernel_size"):
        CoordinateEncoder(kernel_size=4)
    with pytest.raises(ValueError, match="tiles"):
        CoordinateEncoder(tiles=0)


# -- predictor ------------------------------------------------------------------------------


def test_untrained_predictor_moves_along_the_action_and_keeps_the_layout():
    position = torch.tensor([[20.0, 30.0], [50.0, 15.0]])
    layout = torch.tensor([[35.0, 30.0], [25.0, 40.0]])
    action = torch.tensor([[1.0, 0.0], [0.0, -1.5]])
    z = expand_state(position, layout, 4, 1.0, 0.1)
    fractions = []
    for seed in range(50):  # the gates' hidden layers are random: look at many initialisations
        torch.manual_seed(seed)
        predictor = CoordinatePredictor(tiles=4)
        with torch.no_grad():
            new_position, new_layout = contract_state(predictor(z, action), 4, 1.0, 0.1)
        torch.testing.assert_close(new_layout, layout)
        moved = new_position - position
        # Along the action, never against it, never past it: position + gate * action.
        torch.testing.assert_close(
            moved * action.flip(-1), torch.zeros_like(moved), atol=1e-5, rtol=0
        )
        fraction = (moved * action).sum(-1) / action.pow(2).sum(-1)
        assert torch.all(fraction > 0) and torch.all(fraction <= 1 + 1e-6), (seed, fraction)
        fractions.append(fraction)
    # The gates' output bias starts them open; random hidden layers make single ones vary.
    assert torch.cat(fractions).median() > 0.7


def test_predictor_rejects_bad_inputs_and_arguments():
    predictor = CoordinatePredictor(tiles=4)
    with pytest.raises(ValueError, match=r"\(5, 7\)"):
        predictor(torch.zeros(5, 7), torch.zeros(5, 2))
    with pytest.raises(ValueError, match="wall_hidden"):
        CoordinatePredictor(wall_hidden=0)
    with pytest.raises(ValueError, match="action_dim"):
        CoordinatePredictor(action_dim=3)


def test_world_model_round_trips_through_the_weights_file(tmp_path, make_batch):
    torch.manual_seed(0)
    model = coordinate_model(tiles=8, wall_hidden=12)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    states, actions = make_batch(3, 9)
    loaded = load_world_model(save_world_model(model, tmp_path / "model_weights.pth"))
    torch.testing.assert_close(loaded(states[:, :1], actions), model(states[:, :1], actions))


# -- a CI-sized version of the recipe -------------------------------------------------------


def first_frames(trajectories):
    """What the evaluation gives a model: the first frame and the actions."""
    states = render(trajectories.locations[:, :1], trajectories.wall_x, trajectories.door_y)
    return torch.from_numpy(states), torch.from_numpy(trajectories.actions)


def probe_scores(model, train, evaluation):
    """The course probe (protocol §4) on in-memory sets: prober trained on ``train``."""

    def representations(trajectories):
        with torch.no_grad():
            return model(*first_frames(trajectories))

    prober = train_prober(representations(train), torch.from_numpy(train.locations))
    return {
        name: probe_metric(
            evaluate_prober(prober, representations(t), torch.from_numpy(t.locations))[0]
        )
        for name, t in evaluation.items()
    }


def position_error(model, trajectories):
    """Mean squared error (px², per coordinate) of the position the model itself predicts."""
    with torch.no_grad():
        z = model(*first_frames(trajectories))
    n, steps, d = z.shape
    encoder = model.encoder
    position, _ = contract_state(
        z.reshape(n * steps, d), encoder.tiles, encoder.position_gain, encoder.layout_gain
    )
    return float(
        (position.reshape(n, steps, 2) - torch.from_numpy(trajectories.locations)).pow(2).mean()
    )


@pytest.mark.slow
def test_short_training_learns_the_walls_and_beats_the_mock_model():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    rng = np.random.default_rng(12345)  # evaluation sets: a seed the training stream never uses
    sets = {"normal": random_trajectories(rng, 500), "wall": wall_run_trajectories(rng, 500)}
    probe_train = random_trajectories(rng, 1500)

    model = coordinate_model(tiles=32, wall_hidden=48)
    untrained = {name: position_error(model, t) for name, t in sets.items()}
    module = JEPAModule(
        model.encoder, model.predictor, VarianceOnly(std_target=1.0), lr=1e-2, weight_decay=0.0
    )
    trainer = L.Trainer(
        accelerator="cpu",
        max_steps=800,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(module, DataLoader(FreshWindows(32, seed=0), batch_size=None))
    model = module.world_model.eval()

    trained = {name: position_error(model, t) for name, t in sets.items()}
    for name in sets:  # learning the gates, not the fixed parts, is what cuts the error
        assert trained[name] < 0.25 * untrained[name], (name, trained, untrained)
    scores = probe_scores(model, probe_train, sets)
    mock = probe_scores(MockModel(repr_dim=model.repr_dim), probe_train, sets)
    for name in sets:
        assert scores[name] < 0.05 * mock[name], (name, scores, mock)
