"""The protocol on cached representations and on generated probe sets."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch
from torch import nn

from jepa_world.probing.baselines import MockModel, OracleModel
from jepa_world.probing.evaluator import (
    CheckpointError,
    ProbeDataError,
    ProbeEvaluator,
    ProbingEvaluator,
    compute_representations,
    evaluate,
    evaluate_prober,
    find_training_command,
    frozen,
    load_model,
    probe_checkpoint,
    train_prober,
)
from jepa_world.probing.prober import Prober, normalise_locations


def _walks(n: int, horizon: int = 17, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    start = torch.rand(n, 1, 2, generator=g) * 50 + 7
    steps = torch.randn(n, horizon - 1, 2, generator=g)
    return torch.cat([start, start + steps.cumsum(1)], dim=1).clamp(4.5, 59.5)


def _tiled(locations: torch.Tensor, copies: int = 64) -> torch.Tensor:
    return normalise_locations(locations).repeat(1, 1, copies)


def test_prober_learns_locations_from_an_informative_representation() -> None:
    train, val = _walks(256), _walks(128, seed=1)
    prober = train_prober(_tiled(train, 128), train, epochs=40)
    mse, decoded = evaluate_prober(prober, _tiled(val, 128), val)
    assert mse.shape == (17, 2)
    assert float(mse.mean()) * 16.1**2 < 2.0  # pixels², against ~250 for a blind guess
    assert decoded.shape == (128, 17, 2)
    assert (decoded - val).abs().mean() < 1.0


def test_training_is_seeded_and_leaves_the_global_random_stream_alone() -> None:
    train = _walks(128)
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    first = train_prober(_tiled(train, 4), train, epochs=2, seed=7)
    assert torch.equal(torch.rand(3), expected_next)
    second = train_prober(_tiled(train, 4), train, epochs=2, seed=7)
    for a, b in zip(first.parameters(), second.parameters(), strict=True):
        assert torch.equal(a, b)


def test_scoring_drops_the_last_partial_batch() -> None:
    val = _walks(100)
    prober = Prober(8)
    reps = torch.randn(100, 17, 8)
    mse, decoded = evaluate_prober(prober, reps, val, batch_size=64)
    assert decoded.shape[0] == 64  # 100 = 64 + 36: the 36 are dropped, as with drop_last
    with torch.no_grad():
        expected = (prober(reps[:64]) - normalise_locations(val[:64])).pow(2).mean(dim=0)
    assert torch.allclose(mse, expected, atol=1e-6)


def test_mismatched_inputs_are_rejected() -> None:
    with pytest.raises(ValueError, match="do not match"):
        train_prober(torch.zeros(10, 17, 4), torch.zeros(10, 16, 2))
    with pytest.raises(ValueError, match="epochs"):
        train_prober(torch.zeros(10, 17, 4), torch.zeros(10, 17, 2), epochs=0)


class _Frozenness(nn.Module):
    """Contract-honouring model that records whether it ran in eval mode without gradients."""

    repr_dim = 3

    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.Linear(2, 3)
        self.calls: list[tuple[bool, bool]] = []

    def forward(self, states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        assert states.shape[1] == 1  # only the first frame is ever given
        self.calls.append((self.training, torch.is_grad_enabled()))
        b, steps, _ = actions.shape
        return self.layer(torch.zeros(b, steps + 1, 2))


def test_representations_are_computed_frozen_and_modes_are_restored(probe_data: Path) -> None:
    model = _Frozenness()
    model.train()
    model.layer.eval()  # a submodule deliberately in eval mode must stay so
    evaluator = ProbeEvaluator(model, probe_data, device="cpu", progress=False)
    reps = evaluator.representations("probe_normal/val")
    assert reps.shape == (64, 17, 3)
    assert model.calls and all(call == (False, False) for call in model.calls)
    assert model.training and not model.layer.training
    calls = len(model.calls)
    evaluator.representations("probe_normal/val")
    assert len(model.calls) == calls  # cached, not recomputed


def test_frozen_restores_modes_after_an_error() -> None:
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout())
    model.train()
    with pytest.raises(RuntimeError), frozen(model):
        raise RuntimeError("boom")
    assert all(m.training for m in model.modules())


class _BadShape(nn.Module):
    repr_dim = 4

    def forward(self, states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        return torch.zeros(actions.shape[0], actions.shape[1], 4)  # t = 0 missing


class _NaNModel(nn.Module):
    repr_dim = 4

    def forward(self, states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        return torch.full((actions.shape[0], actions.shape[1] + 1, 4), float("nan"))


def test_contract_violations_get_clear_errors(probe_data: Path) -> None:
    from jepa_world.data.files import open_split

    split = open_split(probe_data / "probe_normal/val")
    with pytest.raises(ValueError, match=r"expects \(B, T, repr_dim\) = \(64, 17, 4\)"):
        compute_representations(_BadShape(), split, torch.device("cpu"), name="probe_normal/val")
    with pytest.raises(FloatingPointError, match="non-finite"):
        compute_representations(_NaNModel(), split, torch.device("cpu"))
    with pytest.raises(TypeError, match="repr_dim"):
        ProbeEvaluator(nn.Linear(2, 2), probe_data)


def test_large_caches_spill_to_disk_with_the_same_values(probe_data: Path) -> None:
    from jepa_world.data.files import open_split

    split = open_split(probe_data / "probe_normal/val")
    cpu = torch.device("cpu")
    in_ram = compute_representations(OracleModel(4), split, cpu, batch_size=16)
    on_disk = compute_representations(OracleModel(4), split, cpu, batch_size=16, max_cache_bytes=0)
    assert torch.equal(in_ram, on_disk)


def test_mock_model_scores_the_variance_of_the_locations(
    probe_data: Path, location_variance: Callable[[Path], float]
) -> None:
    result = evaluate(MockModel(64), probe_data, sets=("normal", "wall"), progress=False)
    for name, split in (("normal", "probe_normal/val"), ("wall", "probe_wall/val")):
        variance = location_variance(probe_data / split)
        assert result.losses[name] == pytest.approx(variance, rel=0.10), name
    assert len(result.sets["normal"].per_timestep) == 17
    assert result.sets["normal"].mse == pytest.approx(np.mean(result.sets["normal"].per_timestep))


def test_oracle_scores_near_zero(probe_data: Path) -> None:
    # 256 training trajectories give the default 20 epochs only 80 prober steps at a learning
    # rate of at most 5e-5; 100 epochs let the prober fit what the oracle knows.
    result = evaluate(
        OracleModel(256),
        probe_data,
        sets=("normal", "wall", "wall_other"),
        epochs=100,
        progress=False,
    )
    for name, loss in result.losses.items():
        assert loss < 1.0, (name, loss)  # pixels², against a variance of ~170-270


def test_sets_share_the_normal_prober_and_expert_has_its_own(probe_data: Path) -> None:
    evaluator = ProbeEvaluator(MockModel(8), probe_data, device="cpu", epochs=1, progress=False)
    result = evaluator.run(("normal", "wall", "expert"))
    assert set(evaluator._probers) == {"probe_normal/train", "probe_expert/train"}
    assert result.sets["wall"].train_split == "probe_normal/train"
    assert result.sets["expert"].train_split == "probe_expert/train"
    assert len(result.sets["expert"].per_timestep) == 33  # every timestep is scored


def test_missing_sets_are_skipped_with_a_note(probe_data: Path, tmp_path: Path) -> None:
    partial = tmp_path / "data"
    (partial / "probe_normal").mkdir(parents=True)
    for split in ("train", "val"):
        (partial / "probe_normal" / split).symlink_to(probe_data / "probe_normal" / split)
    result = evaluate(MockModel(8), partial, epochs=1, progress=False)
    assert list(result.sets) == ["normal"]
    assert set(result.skipped) == {"wall", "wall_other", "expert"}
    assert any("skipped wall:" in note and "probe_wall/val" in note for note in result.notes)
    with pytest.raises(ProbeDataError, match="required"):
        ProbeEvaluator(MockModel(8), partial, progress=False).run(("wall",), require=("wall",))
    with pytest.raises(ProbeDataError, match="not found"):
        evaluate(MockModel(8), tmp_path / "nowhere", progress=False)


def test_course_style_evaluator(probe_data: Path) -> None:
    evaluator = ProbingEvaluator("cpu", MockModel(8), probe_data, quick_debug=True)
    prober = evaluator.train_pred_prober()
    losses = evaluator.evaluate_all(prober)
    assert list(losses) == ["normal", "wall", "wall_other"]
    assert all(100 < v < 1000 for v in losses.values())


# -- checkpoints --------------------------------------------------------------------------------


def test_probe_checkpoint_on_weights_writes_the_report(
    probe_data: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    small_world_model: nn.Module,
) -> None:
    from jepa_world.models import save_world_model
    from jepa_world.probing.report import read_metrics

    weights = save_world_model(small_world_model, tmp_path / "model_weights.pth")
    result = probe_checkpoint(
        str(weights),
        data=str(probe_data),
        epochs=1,
        sets=["normal", "expert"],
        progress=False,
        command="jepa fit --config configs/quickstart.yaml",
    )
    printed = capsys.readouterr().out
    assert "normal" in printed and "expert" in printed
    metrics = read_metrics(tmp_path / "metrics.txt")  # beside the weights by default
    assert metrics.losses == pytest.approx(result.losses)
    assert metrics.param_count == result.param_count > 0
    assert metrics.command == "jepa fit --config configs/quickstart.yaml"
    for name in ("probe_results.json", "probe_curves.png", "probe_trajectories.png"):
        assert (tmp_path / name).is_file()
    # A later probe of the same file finds the command in that metrics.txt.
    assert find_training_command(weights) == "jepa fit --config configs/quickstart.yaml"


def test_training_command_is_found_in_the_run_directory(tmp_path: Path) -> None:
    run = tmp_path / "runs" / "jepa" / "version_0"
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.yaml").write_text("model: {}\n")
    ckpt = run / "checkpoints" / "last.ckpt"
    assert find_training_command(ckpt) == f"jepa fit --config {run.resolve() / 'config.yaml'}"
    assert find_training_command(tmp_path / "elsewhere.pth") is None


def test_bad_checkpoints_get_clear_errors(tmp_path: Path, small_world_model: nn.Module) -> None:
    from jepa_world.models import save_world_model

    with pytest.raises(FileNotFoundError, match="no such checkpoint"):
        load_model(tmp_path / "missing.ckpt")
    good = save_world_model(small_world_model, tmp_path / "good.pth").read_bytes()
    (tmp_path / "truncated.pth").write_bytes(good[: len(good) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        load_model(tmp_path / "truncated.pth")
    (tmp_path / "truncated.ckpt").write_bytes(good[: len(good) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        load_model(tmp_path / "truncated.ckpt")
    torch.save({"weight": torch.zeros(2)}, tmp_path / "foreign.pth")
    with pytest.raises(CheckpointError, match="not a jepa-world weights file"):
        load_model(tmp_path / "foreign.pth")
    torch.save({"weight": torch.zeros(2)}, tmp_path / "foreign.ckpt")
    with pytest.raises(CheckpointError, match="not a Lightning checkpoint"):
        load_model(tmp_path / "foreign.ckpt")
    torch.save({"state_dict": {"net.weight": torch.zeros(2)}}, tmp_path / "other.ckpt")
    with pytest.raises(CheckpointError, match="not of JEPAModule"):
        load_model(tmp_path / "other.ckpt")


def test_checkpoint_of_a_module_built_in_python_explains_itself(tmp_path: Path) -> None:
    from jepa_world.models import ConvEncoder, MLPPredictor
    from jepa_world.module import JEPAModule
    from jepa_world.strategies import VICReg

    module = JEPAModule(
        ConvEncoder(repr_dim=32), MLPPredictor(repr_dim=32, hidden_dim=32), VICReg()
    )
    trainer = L.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False)
    trainer.strategy.connect(module)
    trainer.save_checkpoint(tmp_path / "python.ckpt")
    with pytest.raises(CheckpointError, match="does not record how to build"):
        load_model(tmp_path / "python.ckpt")


def test_probe_checkpoint_signature_builds_a_command_line(
    probe_data: Path, tmp_path: Path, small_world_model: nn.Module
) -> None:
    from jsonargparse import CLI

    from jepa_world.models import save_world_model

    weights = save_world_model(small_world_model, tmp_path / "model_weights.pth")
    args = ["--ckpt", str(weights), "--data", str(probe_data), "--out", str(tmp_path / "report")]
    args += ["--sets", "[normal]", "--epochs", "1", "--plots", "false", "--progress", "false"]
    result = CLI(probe_checkpoint, as_positional=False, args=args)
    assert list(result.losses) == ["normal"]
    assert (tmp_path / "report" / "metrics.txt").is_file()
    assert not (tmp_path / "report" / "probe_curves.png").exists()


@pytest.mark.slow
def test_probe_checkpoint_on_a_checkpoint_from_jepa_fit(probe_data: Path, tmp_path: Path) -> None:
    from jepa_world.cli import main as jepa

    run = tmp_path / "runs"
    jepa(
        [
            "fit",
            "--model.encoder=jepa_world.models.ConvEncoder",
            "--model.encoder.repr_dim=32",
            "--model.predictor=jepa_world.models.MLPPredictor",
            "--model.predictor.repr_dim=32",
            "--model.strategy=jepa_world.strategies.VICReg",
            f"--data.data_dir={probe_data}",
            "--trainer.max_steps=2",
            "--trainer.limit_val_batches=1",
            "--trainer.enable_progress_bar=false",
            f"--trainer.default_root_dir={run}",
            f"--trainer.logger.init_args.save_dir={run}",
        ]
    )
    (ckpt,) = run.rglob("last.ckpt")
    result = probe_checkpoint(
        str(ckpt), data=str(probe_data), epochs=1, sets=["normal"], progress=False
    )
    assert result.param_count == sum(p.numel() for p in load_model(ckpt).parameters()) > 0
    metrics = (ckpt.parent / "metrics.txt").read_text().splitlines()
    assert metrics[-1] == f"# jepa fit --config {ckpt.parent.parent.resolve() / 'config.yaml'}"
