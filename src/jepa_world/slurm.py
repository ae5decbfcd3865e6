"""Slurm: a run directory that follows the job, so a requeued job resumes where it stopped.

Under Slurm (a batch job, not an interactive ``bash`` session) the directory is
``runs/<name>/slurm-<job id>/`` instead, and it is also the trainer's ``default_root_dir``, where
Lightning writes the ``hpc_ckpt_<n>.ckpt`` of its requeue signal handler and looks for one at
start-up. A requeued job keeps its id, so it finds that checkpoint, resumes from it, and goes on
writing into the same directory and the same TensorBoard run (:func:`pin_slurm_run`); when the
run's ``last.ckpt`` is newer (a job stopped without the requeue signal), it resumes from that
instead (:func:`newest_job_checkpoint`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lightning.pytorch import Trainer

#: ``default_root_dir`` of a run unless the user sets one (the same default as ``jepa fit``'s).
DEFAULT_ROOT_DIR = "runs"


#: Run versions written by :func:`pin_slurm_run`; a config saved by an earlier job carries one.
SLURM_VERSION = re.compile(r"^slurm-[0-9]+(_[0-9]+)?$")


def slurm_job_version(environ: Mapping[str, str] | None = None) -> str | None:
    """``slurm-<job id>`` (``slurm-<array job id>_<task id>`` for an array task) under Slurm.

    ``None`` outside Slurm and in an interactive allocation (job name ``bash`` or
    ``interactive``), exactly when Lightning does not select its ``SLURMEnvironment`` (no
    ``SLURM_NTASKS``): the requeue handler and the resume from ``hpc_ckpt_*.ckpt`` are then off
    too. The id is the one Lightning's handler requeues, and a requeued job keeps it.
    """
    env = os.environ if environ is None else environ
    if "SLURM_NTASKS" not in env or env.get("SLURM_JOB_NAME") in ("bash", "interactive"):
        return None
    if env.get("SLURM_ARRAY_JOB_ID") and env.get("SLURM_ARRAY_TASK_ID"):
        return f"slurm-{env['SLURM_ARRAY_JOB_ID']}_{env['SLURM_ARRAY_TASK_ID']}"
    job = env.get("SLURM_JOB_ID")
    return f"slurm-{job}" if job and job.isdigit() else None


def pin_slurm_run(config: Any, version: str) -> Path:
    """Make the run directory of ``config`` (a parsed ``fit``/``validate`` config) depend on the job.

    Every logger with a ``version`` argument (TensorBoard, CSV) gets ``version`` unless the user
    chose one; a version left by an earlier job (a saved ``config.yaml`` run again) is replaced.
    The trainer's ``default_root_dir``, unless the user chose one, becomes the first such
    logger's run directory ``<save_dir>/<name>/<version>`` (``<default_root_dir>/<version>``
    without one), so the requeue checkpoint lies beside ``checkpoints/`` and the event files of
    the job, and no other job can resume from it. Returns that directory.
    """
    trainer = config.trainer
    loggers = trainer.logger if isinstance(trainer.logger, list) else [trainer.logger]
    root = str(trainer.default_root_dir)
    run_dir: Path | None = None
    for logger in loggers:
        init_args = getattr(logger, "init_args", None)
        if init_args is None or "version" not in init_args:
            continue
        if init_args.version is None or SLURM_VERSION.match(str(init_args.version)):
            init_args.version = version
        if run_dir is None and init_args.get("save_dir") is not None:
            run_dir = (
                Path(init_args.save_dir) / (init_args.get("name") or "") / str(init_args.version)
            )
    chosen = root != DEFAULT_ROOT_DIR and not SLURM_VERSION.match(Path(root).name)
    if chosen:
        return Path(root)
    trainer.default_root_dir = str(run_dir if run_dir is not None else Path(root) / version)
    return Path(trainer.default_root_dir)


def newest_job_checkpoint(trainer: Trainer) -> Path | None:
    """The most recently written of the run's requeue checkpoints and its ``last.ckpt``.

    Lightning resumes a Slurm job from its highest ``hpc_ckpt_<n>.ckpt`` (written on the requeue
    signal) when there is one, and otherwise starts over. A job stopped without that signal
    (preempted with SIGTERM only, out of memory, a node failure) leaves no new one: its
    ``last.ckpt`` is then newer than the requeue checkpoint, or the only checkpoint there is.
    """
    found = [p for p in Path(trainer.default_root_dir).glob("hpc_ckpt_*.ckpt") if p.is_file()]
    last = _checkpoint_dir(trainer) / "last.ckpt"
    if trainer.checkpoint_callback is not None and last.is_file():
        found.append(last)
    return max(found, key=lambda path: path.stat().st_mtime_ns, default=None)


def _checkpoint_dir(trainer: Trainer) -> Path:
    """Where ``ModelCheckpoint`` will write: Lightning's own rule, before its ``setup`` runs."""
    callback = trainer.checkpoint_callback
    if callback is not None and callback.dirpath is not None:
        return Path(callback.dirpath)
    if not trainer.loggers:
        return Path(trainer.default_root_dir) / "checkpoints"
    logger = trainer.loggers[0]
    version = logger.version if isinstance(logger.version, str) else f"version_{logger.version}"
    return (
        Path(logger.save_dir or trainer.default_root_dir)
        / str(logger.name)
        / version
        / "checkpoints"
    )
