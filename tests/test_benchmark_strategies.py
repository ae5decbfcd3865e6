"""``benchmarks/strategies.py`` builds one plain and one inverse-dynamics variant per strategy."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import strategies  # noqa: E402

INVERSE_DYNAMICS = "jepa_world.strategies.InverseDynamics"


@pytest.mark.parametrize(
    "base", ["configs/generic.yaml", "configs/best.yaml", "benchmarks/keypoint_base.yaml"]
)
def test_every_strategy_comes_once_plain_and_once_wrapped(base: str) -> None:
    found = strategies.variants(ROOT / base)
    assert sorted(found) == sorted([name for s in strategies.STRATEGIES for name in (s, f"{s}+id")])
    for name in strategies.STRATEGIES:
        plain, wrapped = found[name], found[f"{name}+id"]
        assert plain["class_path"] != INVERSE_DYNAMICS, name
        assert wrapped["class_path"] == INVERSE_DYNAMICS, name
        assert wrapped["init_args"]["base"] == plain, name


@pytest.mark.parametrize(
    ("base", "own"),
    [("configs/generic.yaml", "variance"), ("benchmarks/keypoint_base.yaml", None)],
)
def test_the_shipped_configs_settings_are_the_ones_compared(base: str, own: str | None) -> None:
    """Every variant with inverse dynamics is a shipped config's strategy, except the base's own
    strategy, which keeps the base's settings (the keypoint base holds variance.yaml's)."""
    found = strategies.variants(ROOT / base)
    for name in ("vicreg", "sigreg", "contrastive", "byol_ema", "variance"):
        if name == own:
            continue
        shipped = strategies.strategy_block(ROOT / "configs" / f"{name}.yaml")
        assert found[f"{name}+id"] == shipped, name


def test_the_fit_command_resumes_validates_and_stops_early(tmp_path: Path) -> None:
    args = argparse.Namespace(
        base="configs/generic.yaml", train="data", steps=100, seed=3, val_every=10, fit_args=""
    )
    out = tmp_path / "variance+id"
    fragments = [out / "strategy.yaml", out / "early_stopping.yaml"]
    fresh = strategies.fit_command(args, out, fragments, resume=None)
    assert "--ckpt_path" not in fresh
    assert fresh[fresh.index("--trainer.val_check_interval") + 1] == "10"
    assert [fresh[i + 1] for i, a in enumerate(fresh) if a == "--config"] == [
        "configs/generic.yaml",
        *map(str, fragments),
    ]
    again = strategies.fit_command(args, out, fragments, resume=out / "last.ckpt")
    assert again[-2:] == ["--ckpt_path", str(out / "last.ckpt")]
    args.val_every = None
    assert "--trainer.val_check_interval" not in strategies.fit_command(args, out, fragments, None)
    callback = strategies.early_stopping_fragment(4)["trainer"]["callbacks"][0]
    assert callback["class_path"] == "lightning.pytorch.callbacks.EarlyStopping"
    assert callback["init_args"] == {"monitor": "val/loss", "mode": "min", "patience": 4}


def test_the_best_checkpoint_is_found_by_its_step(tmp_path: Path) -> None:
    assert strategies.best_checkpoint(tmp_path) is None
    for name in ("last.ckpt", "best-epoch000-step000500.ckpt", "best-epoch001-step001500.ckpt"):
        (tmp_path / name).write_bytes(b"")
    assert strategies.best_checkpoint(tmp_path) == (
        tmp_path / "best-epoch001-step001500.ckpt",
        1500,
    )


def test_the_clock_keeps_the_time_of_a_run_that_failed(tmp_path: Path) -> None:
    log, clock = tmp_path / "log.txt", tmp_path / "clock.json"
    assert strategies.seconds_so_far(clock) == 0.0
    clock.write_text(json.dumps({"done": 10.0, "running": 5.0}))  # a run killed after 5 s
    assert strategies.seconds_so_far(clock) == 15.0
    assert not strategies.read_clock(clock)["finished"]
    fail = [sys.executable, "-c", "print('partial output'); raise SystemExit(3)"]
    with pytest.raises(RuntimeError, match="exit 3"):
        strategies.run(fail, log, dict(os.environ), clock=clock)
    recorded = strategies.read_clock(clock)
    assert recorded["done"] > 15.0 and recorded["running"] == 0.0 and not recorded["finished"]
    assert "partial output" in log.read_text()
    ok = [sys.executable, "-c", "print('fine')"]
    strategies.run(ok, log, dict(os.environ), clock=clock)
    assert strategies.read_clock(clock)["finished"]


def test_jepa_runs_through_this_interpreter_without_the_scripts_on_path(tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    env = {**os.environ, "PATH": str(tmp_path / "nowhere")}  # no `jepa` script to be found
    strategies.run(["jepa", "--help"], log, env)
    text = log.read_text()
    assert text.startswith("$ jepa --help\n") and "usage: jepa" in text
    assert strategies.executable_command(["other", "x"]) == ["other", "x"]


def test_the_progress_line_gives_the_time_left_at_this_attempts_pace() -> None:
    line = strategies.progress_line("vicreg+id", 4000, 12000, 1000, 1800.0)
    # 3,000 steps in 30 min: 8,000 more take 80 min.
    assert line == (
        "[vicreg+id] step 4,000 of 12,000, 30 min into this attempt; "
        "at most about 80 min to go at this pace"
    )
    assert strategies.progress_line("v", 12000, 12000, 0, 60.0).endswith("into this attempt")
    assert strategies.progress_line("v", 0, 12000, 0, 5.0).endswith("into this attempt")


def test_progress_is_printed_once_per_saved_step(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    last = tmp_path / "last.ckpt"
    torch.save({"global_step": 2000}, last)  # a resumed attempt starts here
    progress = strategies.FitProgress("sigreg", last, 6000)
    assert progress.first_step == 2000
    progress()
    assert capsys.readouterr().out == ""  # nothing new since the start
    torch.save({"global_step": 3000}, last)
    os.utime(last, ns=(1, 1))  # a new modification time, whatever the clock's resolution
    progress()
    progress()
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith("[sigreg] step 3,000 of 6,000")
    last.write_bytes(b"trunc")  # a file being replaced: no line, no error, read it next time
    os.utime(last, ns=(2, 2))
    progress()
    assert capsys.readouterr().out == ""
    torch.save({"global_step": 4000}, last)
    os.utime(last, ns=(2, 2))
    progress()
    assert "step 4,000 of 6,000" in capsys.readouterr().out
    torch.save({"global_step": 4000}, last)  # saved again at the same step: no second line
    os.utime(last, ns=(3, 3))
    progress()
    assert capsys.readouterr().out == ""


def test_the_spectrum_is_a_share_of_the_singular_values() -> None:
    z = torch.randn(64, 8) * torch.tensor([8.0, 4, 2, 1, 0.5, 0.25, 0.1, 0.05])
    values = strategies.spectrum(z, length=3)
    assert len(values) == 3 and values == sorted(values, reverse=True)
    assert 0 < sum(values) < 1
    assert strategies.spectrum(torch.ones(5, 4)) == [0.0] * 4


def test_an_early_warning_is_counted_but_only_the_end_state_is_a_collapse() -> None:
    log = (
        "UserWarning: Representation collapse at step 50: mean per-dimension std 0.00887 < 0.01\n"
        "Epoch 3: val/loss 0.4\n"
    )
    healthy = {"std": 0.31, "effective_rank": 287.0}
    record = strategies.collapse_record(log, healthy)
    assert record == {
        "collapse_warnings": 1,
        "collapse_warning_steps": [50],
        "collapsed": False,
        "static": None,
    }
    assert strategies.collapse_record(log, {"std": 0.004, "effective_rank": 40.0})["collapsed"]
    assert strategies.collapse_record("", {"std": 0.3, "effective_rank": 1.2})["collapsed"]
    assert strategies.collapse_record("", healthy)["collapse_warnings"] == 0


def test_a_code_static_along_the_trajectories_counts_as_collapsed() -> None:
    static = strategies.collapse_record(
        "", {"std": 0.58, "effective_rank": 3.0, "step_change": 0.002}
    )
    assert static["collapsed"] and static["static"]
    moving = strategies.collapse_record(
        "", {"std": 0.58, "effective_rank": 150.0, "step_change": 0.25}
    )
    assert not moving["collapsed"] and moving["static"] is False


@pytest.mark.slow
def test_a_variant_trains_to_convergence_and_an_interrupted_one_resumes(
    tiny_data: Path, tmp_path: Path
) -> None:
    out = tmp_path / "runs"
    common = [
        "--base", str(ROOT / "configs" / "generic.yaml"), "--train", str(tiny_data),
        "--eval", str(tiny_data), "--only", "variance+id", "--sets", "normal",
        "--val-every", "4", "--patience", "1", "--out", str(out), "--threads", "1",
        "--fit-args=--data.batch_size=8",
    ]  # fmt: skip
    assert strategies.main([*common, "--steps", "8"]) == 0
    variant = out / "variance+id"
    first = json.loads((variant / "result.json").read_text())
    assert first["steps"] == 8 and first["stopped_step"] <= 8 and first["probed"] == "best"
    assert first["probed_step"] == first["best_step"] and first["resumed"] == 0
    assert len(first["embedding"]["spectrum"]) > 0 and first["train_seconds"] > 0
    # As if the run had been killed during training: no result, the clock still running.
    (variant / "result.json").unlink()
    (variant / "train_clock.json").write_text(json.dumps({"done": 0.0, "running": 100.0}))
    assert strategies.main([*common, "--steps", "12", "--patience", "0"]) == 0
    second = json.loads((variant / "result.json").read_text())
    assert second["resumed"] == 1 and second["stopped_step"] == 12
    assert second["probed"] == "last" and second["probed_step"] == 12
    assert second["train_seconds"] > 100.0  # the killed attempt's time counts
