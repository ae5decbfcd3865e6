import subprocess
import sys

import pytest
import torch

from jepa_world.models import (
    ConvEncoder,
    GRUPredictor,
    MLPPredictor,
    WorldModel,
    WorldModelFileError,
    count_parameters,
    load_world_model,
    save_world_model,
)


def small_model(predictor: str = "mlp") -> WorldModel:
    torch.manual_seed(0)
    encoder = ConvEncoder(repr_dim=16, wall_dim=4, agent_channels=(4, 8), wall_channels=(4, 4))
    if predictor == "mlp":
        return WorldModel(encoder, MLPPredictor(repr_dim=16, hidden_dim=32))
    return WorldModel(encoder, GRUPredictor(repr_dim=16, hidden_dim=16))


def trained_like(model: WorldModel) -> WorldModel:
    """Perturb every weight so outputs depend on the predictor (a fresh one is the identity)."""
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return model


@pytest.mark.parametrize("steps", [17, 65])
def test_forward_follows_the_course_contract(steps, make_batch):
    model = trained_like(small_model())
    states, actions = make_batch(3, steps)
    out = model(states[:, :1], actions)
    assert out.shape == (3, steps, model.repr_dim)
    torch.testing.assert_close(out[:, 0], model.encoder(states[:, 0]))


def test_recurrent_mode_reads_only_the_first_frame(make_batch):
    model = trained_like(small_model())
    states, actions = make_batch(2, 9)
    torch.testing.assert_close(model(states, actions), model(states[:, :1], actions))


def test_recurrent_mode_feeds_predictions_back(make_batch):
    model = trained_like(small_model("gru"))
    states, actions = make_batch(2, 5)
    out = model(states[:, :1], actions)
    z = model.encoder(states[:, 0])
    for t in range(4):
        z = model.predictor(z, actions[:, t])
        torch.testing.assert_close(out[:, t + 1], z)


def test_teacher_forcing_predicts_each_step_from_the_true_frame(make_batch):
    model = trained_like(small_model())
    states, actions = make_batch(2, 6)
    out = model(states, actions, teacher_forcing=True)
    assert out.shape == (2, 6, 16)
    encoded = model.encode(states)
    torch.testing.assert_close(out[:, 0], encoded[:, 0])
    for t in range(1, 6):
        torch.testing.assert_close(out[:, t], model.predictor(encoded[:, t - 1], actions[:, t - 1]))
    recurrent = model(states[:, :1], actions)
    torch.testing.assert_close(out[:, 1], recurrent[:, 1])  # the first step is the same
    assert not torch.allclose(out[:, -1], recurrent[:, -1])


def test_forward_rejects_bad_shapes_and_prints_them(make_batch):
    model = small_model()
    states, actions = make_batch(2, 5)
    with pytest.raises(ValueError, match=r"\(2, 2, 65, 65\)"):
        model(states[:, 0], actions)
    with pytest.raises(ValueError, match=r"\(2, 3, 2, 65, 65\)"):
        model(states[:, :3], actions)  # neither the first frame nor all five
    with pytest.raises(ValueError, match="teacher forcing needs every frame"):
        model(states[:, :1], actions, teacher_forcing=True)
    with pytest.raises(ValueError, match=r"\(3, 4, 2\)"):
        model(states[:, :1], torch.zeros(3, 4, 2))


def test_encoder_and_predictor_must_agree_on_repr_dim():
    with pytest.raises(ValueError, match="repr_dim=16 but predictor MLPPredictor has repr_dim=8"):
        WorldModel(ConvEncoder(repr_dim=16, wall_dim=4), MLPPredictor(repr_dim=8))


def test_saved_model_reloads_with_identical_outputs(tmp_path, make_batch):
    model = trained_like(small_model("gru"))
    path = save_world_model(model, tmp_path / "sub" / "model_weights.pth")
    assert [p.name for p in path.parent.iterdir()] == ["model_weights.pth"]  # no temp files left
    loaded = load_world_model(path)
    assert type(loaded.predictor) is GRUPredictor
    assert count_parameters(loaded) == count_parameters(model)
    states, actions = make_batch(2, 17)
    torch.testing.assert_close(loaded(states[:, :1], actions), model(states[:, :1], actions))


def test_loading_needs_neither_lightning_nor_a_config(tmp_path):
    path = save_world_model(small_model(), tmp_path / "w.pth")
    code = (
        "import sys, torch\n"
        "from jepa_world.models import load_world_model\n"
        f"m = load_world_model({str(path)!r})\n"
        "out = m(torch.zeros(1, 1, 2, 65, 65), torch.zeros(1, 3, 2))\n"
        "assert out.shape == (1, 4, 16), out.shape\n"
        "assert 'lightning' not in sys.modules, 'lightning was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path)


def test_load_reports_missing_truncated_and_foreign_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        load_world_model(tmp_path / "nope.pth")

    good = save_world_model(small_model(), tmp_path / "good.pth")
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(WorldModelFileError, match="truncated"):
        load_world_model(truncated)

    bare = tmp_path / "bare.pth"
    torch.save(small_model().state_dict(), bare)
    with pytest.raises(WorldModelFileError, match="bare state dict"):
        load_world_model(bare)

    lightning_like = tmp_path / "last.ckpt"
    torch.save({"state_dict": {}, "pytorch-lightning_version": "2.6"}, lightning_like)
    with pytest.raises(WorldModelFileError, match="jepa export"):
        load_world_model(lightning_like)


def test_load_reports_weights_that_do_not_fit(tmp_path):
    path = save_world_model(small_model(), tmp_path / "w.pth")
    payload = torch.load(path, weights_only=True)
    payload["predictor"]["init_args"]["hidden_dim"] = 48
    torch.save(payload, path)
    with pytest.raises(WorldModelFileError, match="do not fit"):
        load_world_model(path)

    payload["predictor"]["class_path"] = "jepa_world.models.NoSuchPredictor"
    torch.save(payload, path)
    with pytest.raises(WorldModelFileError, match="NoSuchPredictor"):
        load_world_model(path)
