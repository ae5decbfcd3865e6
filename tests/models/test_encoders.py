import pytest
import torch

from jepa_world.models import RAW_PEAK, ConvEncoder, ResNetEncoder


@pytest.mark.parametrize(
    "encoder", [ConvEncoder(repr_dim=24, wall_dim=8), ResNetEncoder(repr_dim=24, widths=(8, 16))]
)
def test_encoders_map_frames_to_repr_dim(encoder, batch):
    states, _ = batch
    z = encoder(states[:, 0])
    assert z.shape == (4, 24)
    assert encoder.repr_dim == 24
    assert torch.isfinite(z).all()


@pytest.mark.parametrize("encoder", [ConvEncoder(), ResNetEncoder(widths=(8,))])
def test_encoders_reject_wrong_frame_shapes_naming_the_shape(encoder):
    with pytest.raises(ValueError, match=r"\(4, 3, 64, 64\)"):
        encoder(torch.zeros(4, 3, 64, 64))


def test_conv_encoder_agent_part_sees_only_the_agent_channel(batch):
    states, _ = batch
    encoder = ConvEncoder(repr_dim=24, wall_dim=8)
    frames = states[:, 0]
    other_walls = frames.clone()
    other_walls[:, 1] = states[:, 0, 1].roll(1, dims=0)  # walls of another trajectory
    z, z_walls = encoder(frames), encoder(other_walls)
    torch.testing.assert_close(z[:, :16], z_walls[:, :16])
    assert not torch.allclose(z[:, 16:], z_walls[:, 16:])


def test_encoders_rescale_raw_frames_themselves(batch):
    states, _ = batch
    frames = states[:, 0]
    assert frames.max() < 0.1  # raw course scale, not normalised
    torch.manual_seed(0)
    raw = ConvEncoder(repr_dim=16, wall_dim=4)
    torch.manual_seed(0)
    unit = ConvEncoder(repr_dim=16, wall_dim=4, input_scale=1.0)
    torch.testing.assert_close(raw(frames), unit(frames / RAW_PEAK))


def test_conv_encoder_validates_its_arguments():
    with pytest.raises(ValueError, match="wall_dim"):
        ConvEncoder(repr_dim=8, wall_dim=8)
    with pytest.raises(ValueError, match="agent_channels"):
        ConvEncoder(agent_channels=())
    with pytest.raises(ValueError, match="repr_dim"):
        ResNetEncoder(repr_dim=0)


def test_encoders_record_their_constructor_arguments():
    encoder = ConvEncoder(repr_dim=20, wall_dim=5, agent_channels=(4, 8))
    rebuilt = ConvEncoder(**encoder.init_args)
    assert rebuilt.init_args == encoder.init_args
    assert [p.shape for p in rebuilt.parameters()] == [p.shape for p in encoder.parameters()]
