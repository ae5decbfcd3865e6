import sys
from pathlib import Path

import pytest
import torch

from jepa_world import cli
from jepa_world.models import load_world_model
from jepa_world.module import JEPAModule

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"
CONFIGS = sorted(CONFIG_DIR.glob("*.yaml"))
QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]


@pytest.fixture(autouse=True)
def plain_argv(monkeypatch):
    """As if run as `jepa ...`: pytest's own arguments must not reach LightningCLI."""
    monkeypatch.setattr(sys, "argv", ["jepa"])


def test_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in ("fit", "validate", "data", "probe", "export"):
        assert command in out


def test_shipped_configs_are_the_expected_set():
    assert {p.stem for p in CONFIGS} >= {
        "vicreg",
        "byol_ema",
        "variance",
        "contrastive",
        "sigreg",
        "quickstart",
    }


@pytest.mark.parametrize("config", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_every_shipped_config_runs_on_tiny_data(config, tiny_data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cli.main(
        [
            "fit",
            "--config",
            str(config),
            "--data.data_dir",
            str(tiny_data),
            "--data.num_workers",
            "0",
            "--trainer.fast_dev_run",
            "true",
            *QUIET,
        ]
    )


def test_command_line_overrides_reach_the_config(tiny_data, capsys):
    with pytest.raises(SystemExit):
        cli.main(
            [
                "fit",
                "--config",
                str(CONFIG_DIR / "vicreg.yaml"),
                "--data.data_dir",
                str(tiny_data),
                "--model.lr",
                "0.0123",
                "--print_config",
            ]
        )
    assert "lr: 0.0123" in capsys.readouterr().out


def test_fit_writes_one_run_directory_whose_checkpoint_reloads(tiny_data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = cli.run_lightning(
        [
            "fit",
            "--config",
            str(CONFIG_DIR / "vicreg.yaml"),
            "--data.data_dir",
            str(tiny_data),
            "--data.batch_size",
            "8",
            "--data.num_workers",
            "0",
            "--trainer.max_epochs",
            "1",
            "--trainer.limit_train_batches",
            "3",
            "--trainer.limit_val_batches",
            "1",
            "--trainer.val_check_interval",  # the config validates every 500 steps
            "3",
            *QUIET,
        ]
    )
    run_dir = tmp_path / "runs" / "vicreg" / "version_0"
    checkpoints = run_dir / "checkpoints"
    assert (run_dir / "config.yaml").is_file()
    assert list(run_dir.glob("events.out.tfevents.*"))
    assert (checkpoints / "last.ckpt").is_file()
    assert list(checkpoints.glob("best-*.ckpt"))

    states, actions = torch.rand(2, 1, 2, 65, 65) * 0.094, torch.randn(2, 16, 2)
    trained = run.model.world_model.eval()
    reloaded = JEPAModule.load_from_checkpoint(
        checkpoints / "last.ckpt", weights_only=False
    ).world_model.eval()
    with torch.no_grad():
        expected = trained(states, actions)
        torch.testing.assert_close(reloaded(states, actions), expected)

    assert (
        cli.main(
            ["export", str(checkpoints / "last.ckpt"), "--out", str(tmp_path / "model_weights.pth")]
        )
        == 0
    )
    before = (tmp_path / "model_weights.pth").read_bytes()
    with pytest.raises(SystemExit, match="already exists; pass --overwrite"):
        cli.main(
            ["export", str(checkpoints / "last.ckpt"), "--out", str(tmp_path / "model_weights.pth")]
        )
    assert (tmp_path / "model_weights.pth").read_bytes() == before
    with torch.no_grad():
        torch.testing.assert_close(
            load_world_model(tmp_path / "model_weights.pth")(states, actions), expected
        )

    cli.main(
        [
            "validate",
            "--config",
            str(run_dir / "config.yaml"),
            "--ckpt_path",
            str(checkpoints / "last.ckpt"),
            *QUIET,
        ]
    )


def test_export_reports_a_missing_checkpoint(tmp_path):
    with pytest.raises(SystemExit, match="no checkpoint"):
        cli.main(["export", str(tmp_path / "nope.ckpt")])


def test_unavailable_subcommand_says_so(monkeypatch):
    monkeypatch.setitem(cli.COMMANDS, "data", cli.Command("jepa_world.not_there:main", "x"))
    with pytest.raises(SystemExit, match="jepa data: not available"):
        cli.main(["data", "generate"])
