"""Crashes lose nothing: resumed runs end bitwise where uninterrupted ones do, and no write is ever
left half done (checkpoints, ``metrics.txt``, ``model_weights.pth``, generated data sets).

Kill tests run ``jepa`` (or a few lines of Python) as a child process and SIGKILL it at a chosen
moment, as a cluster's scheduler or the out-of-memory killer would.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from robustness_helpers import (
    jepa_command,
    run_until,
    same_tensors,
    subprocess_env,
    training_state,
    write_config,
)

from jepa_world import cli
from jepa_world.checkpoints import check_training_checkpoint
from jepa_world.data.datamodule import TrajectoryDataModule
from jepa_world.data.files import DataError
from jepa_world.io import INCOMPLETE_MARK

EVERY = ["--checkpoint.every_n_train_steps", "5"]


def _last(runs: Path) -> Path:
    return runs / "tiny" / "version_0" / "checkpoints" / "last.ckpt"


def _fit(config: Path, runs: Path, *options: str) -> cli.JEPACLI:
    return cli.run_lightning(
        [
            "fit",
            "--config",
            str(config),
            "--trainer.logger.init_args.save_dir",
            str(runs),
            *EVERY,
            *options,
        ]
    )


@pytest.fixture(scope="module")
def uninterrupted(tiny_config: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Weights, optimizer state and step at the end of an uninterrupted 2-epoch run (66 steps)."""
    runs = tmp_path_factory.mktemp("uninterrupted") / "runs"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "argv", ["jepa"])
        _fit(tiny_config, runs)
    return training_state(_last(runs))


def test_same_seed_and_config_give_bitwise_identical_weights(
    uninterrupted: dict, tiny_config: Path, tmp_path: Path
) -> None:
    _fit(tiny_config, tmp_path / "runs")
    again = training_state(_last(tmp_path / "runs"))
    assert again["global_step"] == uninterrupted["global_step"] == 66
    assert same_tensors(again, uninterrupted)
    _fit(tiny_config, tmp_path / "other", "--seed_everything", "1")
    assert not same_tensors(
        training_state(_last(tmp_path / "other"))["state_dict"], uninterrupted["state_dict"]
    )


@pytest.mark.parametrize(
    ("crash", "saved"),
    # The epoch has 33 steps: a crash before step 33 finds last.ckpt of the epoch end (with its
    # validation), not of the step-30 schedule.
    [(12, 10), (33, 33), (38, 35)],
    ids=["first epoch", "first batch of the second epoch", "second epoch"],
)
def test_a_run_stopped_after_k_steps_resumes_from_last_ckpt_to_the_same_weights(
    crash: int, saved: int, uninterrupted: dict, tiny_config: Path, tmp_path: Path
) -> None:
    from robustness_helpers import Crash

    runs = tmp_path / "runs"
    with pytest.raises(Crash):
        _fit(
            tiny_config,
            runs,
            "--trainer.callbacks+=robustness_helpers.CrashAtStep",
            "--trainer.callbacks.step",
            str(crash),
        )
    assert training_state(_last(runs))["global_step"] == saved
    resumed = _fit(tiny_config, runs, "--ckpt_path", "last")
    assert Path(resumed.trainer.ckpt_path) == _last(runs)  # resumed, not restarted
    assert resumed.trainer.global_step == 66
    assert same_tensors(training_state(_last(runs)), uninterrupted)


@pytest.mark.parametrize("strategy", ["SIGReg", "BYOLEMA"])
def test_strategies_with_random_draws_or_a_target_network_resume_to_the_same_weights(
    strategy: str, tiny_config: Path, tmp_path: Path
) -> None:
    """SIGReg's random directions and BYOL's EMA target: a run stopped at step 7 (``last.ckpt`` of
    step 5) resumes to the weights of an uninterrupted 12-step run, validation every 4 steps and
    the resumed run's sanity check drawing in between."""
    from robustness_helpers import Crash

    options = [
        "--model.strategy",
        f"jepa_world.strategies.{strategy}",
        "--trainer.max_steps",
        "12",
        "--trainer.val_check_interval",
        "4",
    ]
    _fit(tiny_config, tmp_path / "reference", *options)
    reference = training_state(_last(tmp_path / "reference"))
    runs = tmp_path / "runs"
    with pytest.raises(Crash):
        _fit(
            tiny_config,
            runs,
            *options,
            "--trainer.callbacks+=robustness_helpers.CrashAtStep",
            "--trainer.callbacks.step",
            "7",
        )
    assert training_state(_last(runs))["global_step"] == 5
    _fit(tiny_config, runs, *options, "--ckpt_path", "last")
    assert reference["global_step"] == 12
    assert same_tensors(training_state(_last(runs)), reference)


def test_resume_from_last_in_a_new_shell_finds_the_previous_run_directory(
    tiny_config: Path, tmp_path: Path
) -> None:
    """``--ckpt_path last`` without a fixed logger version: the newest run's last.ckpt, same directory."""
    runs = tmp_path / "runs"
    _fit(tiny_config, runs, "--trainer.max_steps", "5")
    run = _fit(tiny_config, runs, "--trainer.max_steps", "8", "--ckpt_path", "last")
    assert Path(run.trainer.ckpt_path) == _last(runs)
    assert sorted(p.name for p in (runs / "tiny").iterdir()) == ["version_0"]
    assert training_state(_last(runs))["global_step"] == 8


# ---------------------------------------------------------------------------------------------
# SIGKILL


def _kill_trials() -> int:
    return int(os.environ.get("JEPA_KILL_TRIALS", "2"))


@pytest.mark.slow
def test_sigkill_at_a_random_moment_then_resume_gives_the_uninterrupted_result(
    tiny_data: Path, tmp_path: Path
) -> None:
    """A child ``jepa fit`` is killed at a random moment after its first checkpoint and resumed with
    ``--ckpt_path last``; its final weights, optimizer state and step must equal, bit for bit, those
    of an uninterrupted child run. ``JEPA_KILL_TRIALS`` sets the number of trials (default 2)."""
    config = write_config(tmp_path / "kill.yaml", tiny_data, max_epochs=4)
    fit = ["fit", "--config", str(config), "--checkpoint.every_n_train_steps", "4"]
    reference_dir = tmp_path / "reference"
    reference_dir.mkdir()
    subprocess.run(
        jepa_command(*fit), cwd=reference_dir, env=subprocess_env(), check=True, capture_output=True
    )
    reference = training_state(_last(reference_dir / "runs"))
    assert reference["global_step"] == 132

    rng = random.Random(int(os.environ.get("JEPA_KILL_SEED", "0")))
    outcomes = []
    for trial in range(_kill_trials()):
        work = tmp_path / f"trial{trial}"
        work.mkdir()
        last = _last(work / "runs")
        delay = rng.uniform(0.0, 1.5)
        status = run_until(jepa_command(*fit), last.is_file, cwd=work, delay=delay)
        check_training_checkpoint(last)  # whatever the moment of the kill, last.ckpt is whole
        killed_at = training_state(last)["global_step"]
        leftovers = list(last.parent.glob(f".*{INCOMPLETE_MARK}*"))
        subprocess.run(
            jepa_command(*fit, "--ckpt_path", "last"),
            cwd=work,
            env=subprocess_env(),
            check=True,
            capture_output=True,
        )
        final = training_state(last)
        outcomes.append(
            (
                trial,
                round(delay, 2),
                status,
                killed_at,
                len(leftovers),
                same_tensors(final, reference),
            )
        )
    print(
        "\nkill/resume trials (trial, delay s, exit status, last.ckpt step at kill, half-written temp files, identical):"
    )
    for outcome in outcomes:
        print("  ", outcome)
    assert all(o[2] == -9 for o in outcomes), (
        "a run ended before it could be killed: raise max_epochs"
    )
    assert all(o[-1] for o in outcomes)


# ---------------------------------------------------------------------------------------------
# Atomic writes

_HALF_WRITE = """
import sys, time, torch, pathlib
real_save = torch.save
def half_save(obj, f, *args, **kwargs):
    real_save(obj, f, *args, **kwargs)
    data = pathlib.Path(f).read_bytes()
    pathlib.Path(f).write_bytes(data[: len(data) // 2])
    time.sleep(60)  # killed here, half written
torch.save = half_save
real_write = pathlib.Path.write_bytes
def half_write(self, data):
    if self.name.startswith("."):
        real_write(self, data[: len(data) // 2])
        time.sleep(60)
    return real_write(self, data)
pathlib.Path.write_bytes = half_write
"""

WRITERS = {
    "checkpoint": """
from jepa_world.callbacks import AtomicCheckpointIO
AtomicCheckpointIO().save_checkpoint({"version": "new", "weights": torch.ones(1000)}, sys.argv[1])
""",
    "metrics.txt": """
from jepa_world.probing.report import write_metrics
write_metrics(sys.argv[1], {"normal": 2.0, "wall": 3.0}, 1234, "jepa fit --config new.yaml")
""",
    "model_weights.pth": """
from jepa_world.models import ConvEncoder, MLPPredictor, WorldModel, save_world_model
save_world_model(WorldModel(ConvEncoder(repr_dim=16, wall_dim=4), MLPPredictor(repr_dim=16)), sys.argv[1])
""",
}


@pytest.mark.slow
@pytest.mark.parametrize("writer", list(WRITERS))
def test_a_write_killed_halfway_leaves_the_old_file(writer: str, tmp_path: Path) -> None:
    target = tmp_path / writer
    old = b"the previous, complete file\n"
    target.write_bytes(old)
    script = tmp_path / "write.py"
    script.write_text(_HALF_WRITE + textwrap.dedent(WRITERS[writer]))

    def half_written() -> bool:
        return any(p.stat().st_size > 0 for p in tmp_path.glob(f".{writer}{INCOMPLETE_MARK}*"))

    status = run_until([sys.executable, str(script), str(target)], half_written, cwd=tmp_path)
    assert status == -9
    assert target.read_bytes() == old  # never a half file under the real name


@pytest.mark.parametrize("writer", ["checkpoint", "model_weights.pth"])
def test_a_write_failing_halfway_leaves_the_old_file_and_no_debris(
    writer: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jepa_world.callbacks import AtomicCheckpointIO
    from jepa_world.models import ConvEncoder, MLPPredictor, WorldModel, save_world_model

    target = tmp_path / writer
    target.write_bytes(b"old")

    def failing_save(obj: object, f: Path, *args: object, **kwargs: object) -> None:
        Path(f).write_bytes(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", failing_save)
    with pytest.raises(OSError, match="No space left"):
        if writer == "checkpoint":
            AtomicCheckpointIO().save_checkpoint({"weights": torch.ones(3)}, target)
        else:
            save_world_model(
                WorldModel(ConvEncoder(repr_dim=16, wall_dim=4), MLPPredictor(repr_dim=16)), target
            )
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == [writer]


def test_metrics_txt_failing_halfway_leaves_the_old_file_and_no_debris(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jepa_world.probing.report import read_metrics, write_metrics

    target = tmp_path / "metrics.txt"
    write_metrics(target, {"normal": 1.0}, 10, "jepa fit --config old.yaml")
    old = target.read_bytes()
    real_write = Path.write_bytes

    def failing_write(self: Path, data: bytes) -> int:
        real_write(self, data[:10])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", failing_write)
    with pytest.raises(OSError):
        write_metrics(target, {"normal": 2.0}, 10, "jepa fit --config new.yaml")
    monkeypatch.undo()
    assert (
        target.read_bytes() == old and read_metrics(target).command == "jepa fit --config old.yaml"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.txt"]


def test_jepa_fit_writes_its_checkpoints_through_the_atomic_writer(
    tiny_config: Path, tmp_path: Path
) -> None:
    from jepa_world.callbacks import AtomicCheckpointIO

    run = _fit(tiny_config, tmp_path / "runs", "--trainer.max_steps", "5")
    assert type(run.trainer.strategy.checkpoint_io) is AtomicCheckpointIO
    check_training_checkpoint(_last(tmp_path / "runs"))


# ---------------------------------------------------------------------------------------------
# Data generation

GENERATE = [
    "data",
    "generate",
    "--preset",
    "tiny",
    "--train_size",
    "600",
    "--dtype",
    "uint8",
    "--progress",
    "false",
]


@pytest.mark.slow
def test_killed_data_generation_leaves_no_directory_that_looks_complete(tmp_path: Path) -> None:
    out = tmp_path / "data"

    def writing_train() -> bool:
        return any(
            (p / "train" / "states.npy").is_file()
            for p in tmp_path.glob(f".data{INCOMPLETE_MARK}*")
        )

    assert run_until(jepa_command(*GENERATE, "--out", str(out)), writing_train, cwd=tmp_path) == -9
    assert not out.exists()
    with pytest.raises(DataError, match="split directory not found"):
        TrajectoryDataModule(data_dir=str(out), num_workers=0).setup("fit")


@pytest.mark.slow
def test_killed_regeneration_keeps_the_old_data_set(tiny_data: Path, tmp_path: Path) -> None:
    import shutil

    out = tmp_path / "data"
    shutil.copytree(tiny_data, out)
    before = (out / "dataset.json").read_bytes()

    def writing_train() -> bool:
        return any(
            (p / "train" / "states.npy").is_file()
            for p in tmp_path.glob(f".data{INCOMPLETE_MARK}*")
        )

    command = jepa_command(*GENERATE, "--out", str(out), "--overwrite", "true")
    assert run_until(command, writing_train, cwd=tmp_path) == -9
    assert (out / "dataset.json").read_bytes() == before
    TrajectoryDataModule(data_dir=str(out), window=4, batch_size=8, num_workers=0).setup("fit")


def test_data_generation_failing_midway_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jepa_world.data import generate

    real = generate._write_split
    calls = []

    def third_split_fails(*args: object, **kwargs: object) -> None:
        calls.append(1)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        real(*args, **kwargs)

    monkeypatch.setattr(generate, "_write_split", third_split_fails)
    with pytest.raises(OSError):
        generate.generate_dataset(
            str(tmp_path / "data"), preset="tiny", train_size=8, progress=False
        )
    assert list(tmp_path.iterdir()) == []
