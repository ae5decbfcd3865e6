"""``jepa probe``: probe_checkpoint, its report folder and its command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from torch import nn

from jepa_world.checkpoints import load_model
from jepa_world.probing.cli import find_training_command, main, probe_checkpoint
from jepa_world.probing.evaluator import ProbeSettings

QUICK = ProbeSettings(epochs=1, progress=False)


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
        sets=["normal", "expert"],
        command="jepa fit --config configs/quickstart.yaml",
        settings=QUICK,
    )
    printed = capsys.readouterr().out
    assert "normal" in printed and "expert" in printed
    report = tmp_path / "probe" / "model_weights"  # never beside the weights themselves
    assert not (tmp_path / "metrics.txt").exists()
    metrics = read_metrics(report / "metrics.txt")
    assert metrics.losses == pytest.approx(result.losses)
    assert metrics.param_count == result.param_count > 0
    assert metrics.command == "jepa fit --config configs/quickstart.yaml"
    for name in ("probe_results.json", "probe_curves.png", "probe_trajectories.png"):
        assert (report / name).is_file()
    # A release keeps its metrics.txt beside the weights; a later probe finds the command there.
    (tmp_path / "metrics.txt").write_text((report / "metrics.txt").read_text())
    assert find_training_command(weights) == "jepa fit --config configs/quickstart.yaml"


def test_training_command_is_found_in_the_run_directory(tmp_path: Path) -> None:
    run = tmp_path / "runs" / "jepa" / "version_0"
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.yaml").write_text("model: {}\n")
    ckpt = run / "checkpoints" / "last.ckpt"
    assert find_training_command(ckpt) == f"jepa fit --config {run.resolve() / 'config.yaml'}"
    assert find_training_command(tmp_path / "elsewhere.pth") is None


def test_probe_checkpoint_signature_builds_a_command_line(
    probe_data: Path, tmp_path: Path, small_world_model: nn.Module
) -> None:
    from jepa_world.models import save_world_model

    weights = save_world_model(small_world_model, tmp_path / "model_weights.pth")
    args = ["--ckpt", str(weights), "--data", str(probe_data), "--out", str(tmp_path / "report")]
    args += ["--sets", "[normal]", "--epochs", "1", "--plots", "false", "--progress", "false"]
    assert main(args) == 0
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
    result = probe_checkpoint(str(ckpt), data=str(probe_data), sets=["normal"], settings=QUICK)
    assert result.param_count == sum(p.numel() for p in load_model(ckpt).parameters()) > 0
    report = ckpt.parent.parent / "probe" / "last"  # <run>/probe/<checkpoint name>
    metrics = (report / "metrics.txt").read_text().splitlines()
    assert metrics[-1] == f"# jepa fit --config {ckpt.parent.parent.resolve() / 'config.yaml'}"


def test_an_existing_report_is_never_replaced_without_overwrite(
    probe_data: Path, tmp_path: Path, small_world_model: nn.Module
) -> None:
    """A released model_weights.pth beside its metrics.txt: probing it elsewhere keeps that file."""
    from jepa_world.models import save_world_model

    weights = save_world_model(small_world_model, tmp_path / "model_weights.pth")
    released = "probe_normal val loss: 0.1\n# 1\n# bash scripts/reproduce_best.sh\n"
    (tmp_path / "metrics.txt").write_text(released)
    args = [
        "--ckpt",
        str(weights),
        "--data",
        str(probe_data),
        "--sets",
        "[normal]",
        "--epochs",
        "1",
        "--plots",
        "false",
        "--progress",
        "false",
    ]
    assert main(args) == 0
    assert (tmp_path / "metrics.txt").read_text() == released
    with pytest.raises(SystemExit, match="already holds a report .*--overwrite true"):
        main(args)
    with pytest.raises(SystemExit, match="already holds a report"):
        main([*args, "--out", str(tmp_path)])
    assert (tmp_path / "metrics.txt").read_text() == released
    assert main([*args, "--overwrite", "true"]) == 0


def test_repeats_print_mean_and_spread_and_metrics_keep_single_numbers(
    probe_data: Path,
    tmp_path: Path,
    small_world_model: nn.Module,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import json

    from jepa_world.models import save_world_model
    from jepa_world.probing.report import read_metrics

    weights = save_world_model(small_world_model, tmp_path / "w.pth")
    out = tmp_path / "report"
    main(
        [
            "--ckpt",
            str(weights),
            "--data",
            str(probe_data),
            "--sets",
            "[normal, wall]",
            "--epochs",
            "1",
            "--repeats",
            "3",
            "--out",
            str(out),
            "--plots",
            "false",
            "--progress",
            "false",
        ]
    )
    printed = capsys.readouterr().out
    assert "over 3 prober seeds (0..2)" in printed and "±" in printed
    stored = json.loads((out / "probe_results.json").read_text())["repeats"]
    assert stored["seeds"] == [0, 1, 2] and len(stored["runs"]) == 3
    assert read_metrics(out / "metrics.txt").losses == pytest.approx(stored["mean"])
