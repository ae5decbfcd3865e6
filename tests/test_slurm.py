"""Slurm: the trainer built by ``jepa fit`` runs under Lightning's Slurm environment with
auto-requeue, names its run after the job, and a requeued job resumes from the requeue
checkpoint into the same run directory and TensorBoard run; the sbatch template is valid bash
that launches one task per GPU.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch
from lightning.fabric.plugins.environments import LightningEnvironment, SLURMEnvironment

from jepa_world import cli, slurm

REPO = Path(__file__).resolve().parents[1]
SBATCH = REPO / "scripts" / "slurm" / "fit.sbatch"
CONFIG = REPO / "configs" / "vicreg.yaml"
QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]
JOB_ID = "4242"
#: What srun exports to one task of a one-node, one-task batch job.
SLURM_TASK = {
    "SLURM_NTASKS": "1",
    "SLURM_NTASKS_PER_NODE": "1",
    "SLURM_NNODES": "1",
    "SLURM_JOB_ID": JOB_ID,
    "SLURM_JOB_NAME": "jepa-fit",
    "SLURM_PROCID": "0",
    "SLURM_LOCALID": "0",
    "SLURM_NODEID": "0",
    "SLURM_NODELIST": "localhost",
}


@pytest.fixture(autouse=True)
def no_slurm(monkeypatch):
    """Start every test outside Slurm, whatever machine runs it, and as if run as `jepa ...`."""
    for key in list(os.environ):
        if key.startswith("SLURM_"):
            monkeypatch.delenv(key)
    monkeypatch.setattr(sys, "argv", ["jepa"])


@pytest.fixture
def slurm_job(monkeypatch, tmp_path):
    """Inside a Slurm batch job, with a fake `scontrol` that records what it is asked to do."""
    for key, value in SLURM_TASK.items():
        monkeypatch.setenv(key, value)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    scontrol = bin_dir / "scontrol"
    scontrol.write_text('#!/bin/sh\necho "$@" >> "$SCONTROL_LOG"\n')
    scontrol.chmod(scontrol.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("SCONTROL_LOG", str(tmp_path / "scontrol.log"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def fit(data: Path, *extra: str):
    return cli.run_lightning(
        [
            "fit",
            "--config",
            str(CONFIG),
            "--data.data_dir",
            str(data),
            "--data.batch_size",
            "4",
            "--data.window",
            "5",
            "--model.encoder.init_args.agent_channels=2",
            "--model.predictor.init_args.dynamic_channels=2",
            "--data.num_workers",
            "0",
            "--trainer.accelerator",
            "cpu",
            "--trainer.devices",
            "1",
            "--trainer.limit_val_batches",
            "0",
            "--trainer.log_every_n_steps",
            "1",
            *QUIET,
            *extra,
        ]
    )


# ---------------------------------------------------------------------------------------------
# The job's version
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, None),
        (SLURM_TASK, f"slurm-{JOB_ID}"),
        ({**SLURM_TASK, "SLURM_JOB_NAME": "bash"}, None),
        ({**SLURM_TASK, "SLURM_JOB_NAME": "interactive"}, None),
        ({**SLURM_TASK, "SLURM_ARRAY_JOB_ID": "77", "SLURM_ARRAY_TASK_ID": "3"}, "slurm-77_3"),
    ],
    ids=["no-slurm", "batch-job", "bash", "interactive", "array-task"],
)
def test_job_version_follows_lightnings_slurm_detection(environ, expected, monkeypatch):
    assert slurm.slurm_job_version(environ) == expected
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    assert SLURMEnvironment.detect() == (expected is not None)


def test_a_config_saved_by_an_earlier_job_is_repinned_to_this_job():
    from jsonargparse import Namespace

    init_args = Namespace(save_dir="runs", name="vicreg", version="slurm-11")
    logger = Namespace(
        class_path="lightning.pytorch.loggers.TensorBoardLogger", init_args=init_args
    )
    config = Namespace(trainer=Namespace(logger=logger, default_root_dir="runs/vicreg/slurm-11"))
    assert slurm.pin_slurm_run(config, "slurm-12") == Path("runs/vicreg/slurm-12")
    assert logger.init_args.version == "slurm-12"

    chosen = Namespace(trainer=Namespace(logger=False, default_root_dir="/scratch/me"))
    assert slurm.pin_slurm_run(chosen, "slurm-12") == Path("/scratch/me")  # the user's choice stays


# ---------------------------------------------------------------------------------------------
# The trainer under Slurm
# ---------------------------------------------------------------------------------------------


def test_trainer_runs_under_slurm_with_requeue_and_a_run_named_after_the_job(tiny_data, slurm_job):
    run = fit(tiny_data, "--trainer.max_steps", "1")
    trainer = run.trainer
    environment = trainer._accelerator_connector.cluster_environment
    assert isinstance(environment, SLURMEnvironment)
    assert environment.auto_requeue and environment.requeue_signal == signal.SIGUSR1
    run_dir = Path("runs") / "vicreg" / f"slurm-{JOB_ID}"
    assert trainer.logger.version == f"slurm-{JOB_ID}"
    assert Path(trainer.logger.log_dir) == run_dir
    assert Path(trainer.default_root_dir) == run_dir  # where the requeue checkpoint goes
    assert (slurm_job / run_dir / "checkpoints" / "last.ckpt").is_file()


def test_interactive_allocation_is_an_ordinary_run(tiny_data, slurm_job, monkeypatch):
    monkeypatch.setenv("SLURM_JOB_NAME", "bash")
    run = fit(tiny_data, "--trainer.max_steps", "1")
    assert isinstance(run.trainer._accelerator_connector.cluster_environment, LightningEnvironment)
    assert run.trainer.logger.version == 0
    assert Path(run.trainer.default_root_dir) == Path("runs")


class Requeued(Exception):
    """Stands for the end of a job that Slurm kills after ``scontrol requeue``."""


class Preempt(pl.Callback):
    """Plays Slurm's part: sends the requeue signal after ``at_step`` optimizer steps.

    Lightning's handler saves the requeue checkpoint and calls ``scontrol requeue``, after
    which Slurm kills the job: raising :class:`Requeued` stops it with nothing more written.
    """

    def __init__(self, at_step: int = 3) -> None:
        self.at_step = at_step

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:  # noqa: ANN001
        if trainer.global_step != self.at_step:
            return
        os.kill(os.getpid(), signal.SIGUSR1)
        deadline = time.monotonic() + 10
        while not list(Path(trainer.default_root_dir).glob("hpc_ckpt_*.ckpt")):
            if time.monotonic() > deadline:
                raise AssertionError("the requeue signal handler wrote no checkpoint")
            time.sleep(0.01)  # the handler runs in this thread between two bytecodes
        raise Requeued


def logged_steps(run_dir: Path, tag: str) -> list[int]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir))
    events.Reload()
    return sorted(event.step for event in events.Scalars(tag))


@pytest.mark.slow
def test_requeued_job_resumes_from_its_requeue_checkpoint_in_the_same_run(tiny_data, slurm_job):
    total = 6
    with pytest.raises(Requeued):
        fit(
            tiny_data,
            "--trainer.max_steps",
            str(total),
            "--trainer.callbacks+=test_slurm.Preempt",
            "--trainer.callbacks.init_args.at_step=3",
        )
    run_dir = slurm_job / "runs" / "vicreg" / f"slurm-{JOB_ID}"
    assert (slurm_job / "scontrol.log").read_text().split() == ["requeue", JOB_ID]
    hpc = run_dir / "hpc_ckpt_1.ckpt"
    assert torch.load(hpc, map_location="cpu", weights_only=False)["global_step"] == 3

    second = fit(tiny_data, "--trainer.max_steps", str(total))  # the requeued job: same command
    assert Path(second.trainer.ckpt_path).resolve() == hpc.resolve()
    assert second.trainer.global_step == total
    assert [p.name for p in (slurm_job / "runs" / "vicreg").iterdir()] == [run_dir.name]
    # One TensorBoard run (the event files of both jobs in one directory) that goes on from the
    # step of the requeue checkpoint: no step twice. (The metrics of the step during which the
    # signal came were not yet written when the job was killed.)
    steps = logged_steps(run_dir, "train/loss")
    assert len(steps) == len(set(steps)), steps
    assert steps[0] == 0 and set(range(3, total)) <= set(steps) and steps[-1] == total - 1, steps


@pytest.mark.slow
def test_a_job_stopped_without_the_requeue_signal_resumes_from_its_newer_last_checkpoint(
    tiny_data, slurm_job
):
    first = fit(tiny_data, "--trainer.max_steps", "2")
    run_dir = Path(first.trainer.default_root_dir)
    last = run_dir / "checkpoints" / "last.ckpt"
    stale = run_dir / "hpc_ckpt_1.ckpt"  # a requeue checkpoint from an earlier start of the job
    shutil.copy(last, stale)
    os.utime(stale, ns=(last.stat().st_mtime_ns - 10**9,) * 2)
    second = fit(tiny_data, "--trainer.max_steps", "3")
    assert Path(second.trainer.ckpt_path).resolve() == last.resolve()
    assert second.trainer.global_step == 3
    assert "ckpt_path: null" in (run_dir / "config.yaml").read_text()  # the choice is not saved


# ---------------------------------------------------------------------------------------------
# The sbatch template
# ---------------------------------------------------------------------------------------------


def sbatch_options() -> dict[str, str]:
    options = {}
    for line in SBATCH.read_text().splitlines():
        match = re.match(r"#SBATCH\s+--([\w-]+)(?:=(\S+))?", line)
        if match:
            options[match.group(1)] = match.group(2) or ""
    return options


def test_sbatch_template_is_valid_bash():
    result = subprocess.run(["bash", "-n", str(SBATCH)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_sbatch_template_asks_for_one_task_per_gpu_and_a_requeue_signal():
    options = sbatch_options()
    assert options["ntasks-per-node"] == options["gpus-per-node"]
    # To every task (no "B:" prefix, which would signal the batch shell only), before the limit.
    assert re.fullmatch(r"(SIG)?USR1@\d+", options["signal"]), options["signal"]
    assert "requeue" in options and options["open-mode"] == "append"


def test_sbatch_template_launches_jepa_fit_through_srun(tmp_path):
    """Run the script with a fake `srun` that prints what it would start."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    srun = bin_dir / "srun"
    srun.write_text('#!/bin/sh\nprintf "%s\\n" "$@"\n')
    srun.chmod(srun.stat().st_mode | stat.S_IEXEC)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env['PATH']}",
        SLURM_JOB_ID="99",
        SLURM_JOB_NAME="jepa-fit",
        SLURM_NNODES="2",
        SLURM_NTASKS_PER_NODE="4",
        SLURM_CPUS_PER_TASK="6",
    )
    result = subprocess.run(
        ["bash", str(SBATCH), "configs/vicreg.yaml", "--trainer.max_epochs=3"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    launched = result.stdout.split()
    start = launched.index("jepa")
    assert launched[start : start + 4] == ["jepa", "fit", "--config", "configs/vicreg.yaml"]
    assert "--trainer.devices=4" in launched and "--trainer.num_nodes=2" in launched
    assert "--trainer.strategy=ddp" in launched
    assert launched[-1] == "--trainer.max_epochs=3"  # extra options are passed on, last (they win)
