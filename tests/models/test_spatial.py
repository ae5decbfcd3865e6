import pytest
import torch

from jepa_world.models import (
    SpatialEncoder,
    SpatialPredictor,
    WorldModel,
    count_parameters,
    load_world_model,
    save_world_model,
)
from jepa_world.models.spatial import map_side


def spatial_model(**encoder_args) -> WorldModel:
    encoder = SpatialEncoder(agent_channels=2, wall_channels=1, **encoder_args)
    predictor = SpatialPredictor(
        dynamic_channels=2, static_channels=1, side=encoder.side, hidden_channels=8
    )
    return WorldModel(encoder, predictor)


def test_map_side_follows_the_stride():
    assert map_side(2) == 33 and map_side(4) == 17


def test_encoder_output_layout_and_errors():
    encoder = SpatialEncoder(agent_channels=2, wall_channels=1)
    out = encoder(torch.rand(3, 2, 65, 65) * 0.09)
    assert out.shape == (3, encoder.repr_dim) == (3, 3 * 17 * 17)
    assert encoder.dynamic_dim == 2 * 17 * 17
    with pytest.raises(ValueError, match=r"\(3, 1, 65, 65\)"):
        encoder(torch.zeros(3, 1, 65, 65))
    with pytest.raises(ValueError, match="stride"):
        SpatialEncoder(stride=3)
    with pytest.raises(ValueError, match="agent_channels"):
        SpatialEncoder(agent_channels=0)


def test_dynamic_maps_come_from_the_agent_channel_only():
    torch.manual_seed(0)
    encoder = SpatialEncoder(agent_channels=2, wall_channels=1)
    frames = torch.rand(2, 2, 65, 65) * 0.09
    moved_wall = frames.clone()
    moved_wall[:, 1] = torch.roll(frames[:, 1], 5, dims=-1)
    a, b = encoder(frames), encoder(moved_wall)
    d = encoder.dynamic_dim
    assert torch.equal(a[:, :d], b[:, :d]) and not torch.allclose(a[:, d:], b[:, d:])


def test_untrained_predictor_is_the_identity_and_carries_the_static_maps():
    predictor = SpatialPredictor(dynamic_channels=2, static_channels=1, side=17, hidden_channels=8)
    z = torch.randn(4, 3 * 289)
    torch.testing.assert_close(predictor(z, torch.randn(4, 2)), z)
    with torch.no_grad():
        for p in predictor.parameters():
            p.add_(0.1 * torch.randn_like(p))
    out = predictor(z, torch.randn(4, 2))
    assert torch.equal(out[:, 2 * 289 :], z[:, 2 * 289 :])
    assert not torch.allclose(out[:, : 2 * 289], z[:, : 2 * 289])


def test_predictor_is_translation_equivariant_away_from_the_borders():
    torch.manual_seed(0)
    predictor = SpatialPredictor(dynamic_channels=2, static_channels=1, side=17, hidden_channels=8)
    with torch.no_grad():
        for p in predictor.parameters():
            p.add_(0.1 * torch.randn_like(p))
    maps = torch.zeros(1, 3, 17, 17)
    maps[0, :, 5:8, 5:8] = torch.randn(3, 3, 3)
    action = torch.tensor([[0.7, -0.3]])
    out = predictor(maps.flatten(1), action).reshape(1, 3, 17, 17)
    shifted = predictor(torch.roll(maps, (3, 4), dims=(2, 3)).flatten(1), action)
    # Zero maps have a constant response (the biases); compare the neighbourhood of the content.
    torch.testing.assert_close(
        torch.roll(out, (3, 4), dims=(2, 3))[..., 6:13, 7:14],
        shifted.reshape(1, 3, 17, 17)[..., 6:13, 7:14],
    )


def test_predictor_rejects_bad_inputs_and_arguments():
    predictor = SpatialPredictor(dynamic_channels=2, static_channels=1, side=17)
    with pytest.raises(ValueError, match=r"\(5, 10\)"):
        predictor(torch.zeros(5, 10), torch.zeros(5, 2))
    with pytest.raises(ValueError, match="depth"):
        SpatialPredictor(depth=1)


def test_world_model_round_trips_through_the_weights_file(tmp_path, make_batch):
    torch.manual_seed(0)
    model = spatial_model()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    states, actions = make_batch(2, 6)
    loaded = load_world_model(save_world_model(model, tmp_path / "model_weights.pth"))
    torch.testing.assert_close(loaded(states[:, :1], actions), model(states[:, :1], actions))
    assert count_parameters(loaded) == count_parameters(model) < 10_000


def test_wall_code_variant_carries_a_small_code_and_round_trips(tmp_path, make_batch):
    torch.manual_seed(0)
    encoder = SpatialEncoder(agent_channels=2, wall_code_dim=6, wall_width=4)
    predictor = SpatialPredictor(dynamic_channels=2, side=17, hidden_channels=8, static_code_dim=6)
    assert encoder.repr_dim == predictor.repr_dim == 2 * 289 + 6
    model = WorldModel(encoder, predictor)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    states, actions = make_batch(2, 5)
    out = model(states[:, :1], actions)
    assert out.shape == (2, 5, 2 * 289 + 6)
    # The code is encoded once and carried; the dynamic maps move.
    assert torch.equal(out[:, 1:, -6:], out[:, :1, -6:].expand(2, 4, 6))
    assert not torch.allclose(out[:, 1, : 2 * 289], out[:, 0, : 2 * 289])
    loaded = load_world_model(save_world_model(model, tmp_path / "model_weights.pth"))
    torch.testing.assert_close(loaded(states[:, :1], actions), out)
    with pytest.raises(ValueError, match="static_code_dim"):
        SpatialPredictor(static_code_dim=0)
