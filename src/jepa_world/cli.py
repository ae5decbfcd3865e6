"""The ``jepa`` command: ``fit`` and ``validate`` through LightningCLI, plus project subcommands.

``jepa fit --config configs/vicreg.yaml`` trains; every option of the module, the data and the
trainer is a typed constructor argument, so ``--help``, ``--print_config`` and command-line
overrides come for free. Subcommands that are not Lightning's (``data``, ``probe``, ``export``)
are looked up in :data:`COMMANDS` and receive the rest of the command line.

A run writes everything under one directory, ``runs/<name>/version_<n>/``: the resolved
``config.yaml``, TensorBoard event files, and ``checkpoints/`` with ``last.ckpt`` and the best
checkpoint by validation loss.

Under Slurm (a batch job, not an interactive ``bash`` session) the directory is
``runs/<name>/slurm-<job id>/`` instead, and it is also the trainer's ``default_root_dir``, where
Lightning writes the ``hpc_ckpt_<n>.ckpt`` of its requeue signal handler and looks for one at
start-up. A requeued job keeps its id, so it finds that checkpoint, resumes from it, and goes on
writing into the same directory and the same TensorBoard run (:func:`pin_slurm_run`); when the
run's ``last.ckpt`` is newer (a job stopped without the requeue signal), it resumes from that
instead (:func:`newest_job_checkpoint`).
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from lightning.pytorch import Trainer
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI
from lightning.pytorch.utilities import rank_zero_info

from jepa_world.callbacks import (
    CollapseMonitor,
    FrameRate,
    NaNGuard,
    ResumableCheckpoint,
    use_atomic_checkpoints,
)
from jepa_world.data.files import DataError
from jepa_world.module import JEPAModule

#: Lightning subcommands offered (``test`` and ``predict`` have no meaning for a JEPA).
LIGHTNING_COMMANDS: tuple[str, ...] = ("fit", "validate")

#: Trainer defaults for every run; any of them can be overridden in YAML or on the command line.
TRAINER_DEFAULTS: dict[str, object] = {
    "default_root_dir": "runs",
    "logger": {
        "class_path": "lightning.pytorch.loggers.TensorBoardLogger",
        "init_args": {"save_dir": "runs", "name": "jepa"},
    },
    "max_epochs": 10,
    "log_every_n_steps": 10,
    "gradient_clip_val": 1.0,
}


class Command(NamedTuple):
    """A subcommand outside Lightning: ``"module:function"`` taking ``argv`` and its help line."""

    target: str
    help: str


#: Subcommands that are not Lightning's. Each target is imported only when its command runs.
COMMANDS: dict[str, Command] = {
    "data": Command("jepa_world.data.cli:main", "generate, check or show trajectory data sets"),
    "probe": Command("jepa_world.probing.cli:main", "evaluate a checkpoint with the course probes"),
    "export": Command("jepa_world.cli:export_main", "write model_weights.pth from a checkpoint"),
    "plan": Command("jepa_world.planning.cli:main", "goal-reaching episodes planned with a world model"),
}


#: Run versions written by :func:`pin_slurm_run`; a config saved by an earlier job carries one.
SLURM_VERSION = re.compile(r"^slurm-[0-9]+(_[0-9]+)?$")
#: Set to 1 to let `jepa fit` show the traceback of a configuration or data error.
TRACEBACK_ENV = "JEPA_TRACEBACK"


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
            run_dir = Path(init_args.save_dir) / (init_args.get("name") or "") / str(init_args.version)
    chosen = root != TRAINER_DEFAULTS["default_root_dir"] and not SLURM_VERSION.match(Path(root).name)
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
    return Path(logger.save_dir or trainer.default_root_dir) / str(logger.name) / version / "checkpoints"


class JEPACLI(LightningCLI):
    """LightningCLI with the project's callbacks always present and configurable.

    ``checkpoint`` (:class:`~jepa_world.callbacks.ResumableCheckpoint`: ``last.ckpt`` and the best
    by ``val/loss``), ``collapse``
    (:class:`~jepa_world.callbacks.CollapseMonitor`), ``nan_guard``
    (:class:`~jepa_world.callbacks.NaNGuard`) and ``frame_rate``
    (:class:`~jepa_world.callbacks.FrameRate`) are added to every run, and their options are
    exposed as ``--checkpoint.*``, ``--collapse.*``, ``--nan_guard.*`` and ``--frame_rate.*``.
    """

    @staticmethod
    def subcommands() -> dict[str, set[str]]:
        return {k: v for k, v in LightningCLI.subcommands().items() if k in LIGHTNING_COMMANDS}

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_lightning_class_args(ResumableCheckpoint, "checkpoint")
        parser.set_defaults(
            {
                "checkpoint.monitor": "val/loss",
                "checkpoint.mode": "min",
                "checkpoint.save_last": True,
                "checkpoint.save_top_k": 1,
                "checkpoint.filename": "best-epoch{epoch:03d}-step{step:06d}",
                "checkpoint.auto_insert_metric_name": False,
            }
        )
        parser.add_lightning_class_args(CollapseMonitor, "collapse")
        parser.add_lightning_class_args(NaNGuard, "nan_guard")
        parser.add_lightning_class_args(FrameRate, "frame_rate")

    def parse_arguments(self, parser: LightningArgumentParser, args: Any) -> None:
        """Parse, then settle ``--ckpt_path`` before Lightning reads the checkpoint (see
        :func:`resolve_ckpt_path`)."""
        super().parse_arguments(parser, args)
        subcommand = self.config.get("subcommand")
        if subcommand:
            resolve_ckpt_path(self.config[subcommand], subcommand)

    def instantiate_trainer(self, **kwargs: Any) -> Trainer:
        """The trainer, writing checkpoints atomically (:class:`~jepa_world.callbacks.AtomicCheckpointIO`)."""
        trainer = super().instantiate_trainer(**kwargs)
        use_atomic_checkpoints(trainer)
        return trainer

    def before_instantiate_classes(self) -> None:
        """Under Slurm, name the run after the job so that a requeued job resumes into it."""
        version = slurm_job_version()
        if version is not None:
            pin_slurm_run(self.config[self.subcommand] if self.subcommand else self.config, version)

    def before_fit(self) -> None:
        """Under Slurm, without ``--ckpt_path``, resume from the job's newest checkpoint.

        Set on the instantiated config only, so the saved ``config.yaml`` does not carry it.
        """
        fit = self.config_init[self.subcommand]
        if slurm_job_version() is None or fit.get("ckpt_path") is not None:
            return
        newest = newest_job_checkpoint(self.trainer)
        if newest is not None:
            fit.ckpt_path = str(newest)
            rank_zero_info(f"jepa fit: resuming this Slurm job from {newest}")


#: ``--ckpt_path`` values that Lightning resolves itself.
_CKPT_KEYWORDS = ("last", "best", "hpc", "registry")


def resolve_ckpt_path(config: Any, subcommand: str) -> None:
    """Make ``--ckpt_path`` do what a user rerunning a killed job expects, or fail clearly.

    ``last``: Lightning looks for ``last.ckpt`` only in the new run's own, fresh
    ``version_<n>`` directory, finds nothing and trains from scratch. Here, when the logger is
    a TensorBoard or CSV logger with no fixed version and no ``checkpoint.dirpath`` is set, the
    newest ``<save_dir>/<name>/*/checkpoints/last.ckpt`` is resumed and the run goes on in that
    directory; with none, a new run starts and says so. A file path is checked first
    (:func:`~jepa_world.probing.evaluator.check_training_checkpoint`), so a missing, truncated
    or foreign file is named in one line instead of failing inside ``torch.load``.
    """
    ckpt_path = config.get("ckpt_path")
    if not ckpt_path or "://" in str(ckpt_path):
        return
    if ckpt_path not in _CKPT_KEYWORDS:
        from jepa_world.probing.evaluator import CheckpointError, check_training_checkpoint

        try:
            check_training_checkpoint(ckpt_path, resume=subcommand == "fit")
        except CheckpointError as err:
            raise SystemExit(f"jepa {subcommand}: --ckpt_path: {err}") from err
        return
    checkpoint = config.get("checkpoint")
    logger = config.get("trainer", {}).get("logger")
    init = logger.get("init_args") if hasattr(logger, "get") else None
    if (
        ckpt_path != "last"
        or (checkpoint is not None and checkpoint.get("dirpath"))
        or init is None
        or str(logger.get("class_path", "")).rpartition(".")[2] not in ("TensorBoardLogger", "CSVLogger")
        or init.get("version") is not None
    ):
        return
    root = Path(init.get("save_dir") or ".") / (init.get("name") or "")
    found = sorted(root.glob("*/checkpoints/last.ckpt"), key=lambda path: path.stat().st_mtime)
    if not found:
        print(f"jepa {subcommand}: --ckpt_path last: no {root}/*/checkpoints/last.ckpt yet; "
              "starting a new run", file=sys.stderr)  # fmt: skip
        config.ckpt_path = None
        return
    init.version = found[-1].parent.parent.name
    config.ckpt_path = str(found[-1])
    print(f"jepa {subcommand}: resuming {config.ckpt_path}", file=sys.stderr)


def _help_epilog() -> str:
    lines = ["other commands (each has its own --help):"]
    lines += [f"  {name:<10} {command.help}" for name, command in COMMANDS.items()]
    lines.append("examples:  jepa fit --config configs/quickstart.yaml   |   tensorboard --logdir runs/")
    return "\n".join(lines)


def _load_command(name: str) -> Callable[[list[str]], int | None]:
    module_name, _, function = COMMANDS[name].target.partition(":")
    try:
        module = importlib.import_module(module_name)
        return getattr(module, function)
    except (ImportError, AttributeError) as err:
        raise SystemExit(
            f"jepa {name}: not available in this installation ({COMMANDS[name].target} cannot be "
            f"loaded: {err})"
        ) from err


def run_lightning(argv: Sequence[str] | None = None) -> JEPACLI:
    """Run ``fit``/``validate`` with the project's CLI; returns the CLI object (trainer, model)."""
    from jepa_world.data.datamodule import TrajectoryDataModule

    return JEPACLI(
        JEPAModule,
        TrajectoryDataModule,
        save_config_kwargs={"overwrite": True},
        trainer_defaults=TRAINER_DEFAULTS,
        parser_kwargs={
            "prog": "jepa",
            "description": "jepa: train, evaluate and export JEPA world models of the two-rooms task.",
            "epilog": _help_epilog(),
            "formatter_class": argparse.RawDescriptionHelpFormatter,
        },
        auto_configure_optimizers=False,
        args=list(argv) if argv is not None else None,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``jepa`` console script."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in COMMANDS:
        result = _load_command(args[0])(args[1:])
        return int(result or 0)
    from jepa_world.models.world_model import WorldModelFileError
    from jepa_world.probing.evaluator import ProbeDataError

    command = args[0] if args else "fit"
    try:
        run_lightning(argv)  # None: LightningCLI reads sys.argv itself
    except (DataError, ProbeDataError, WorldModelFileError) as err:  # the message says it all
        raise SystemExit(f"jepa {command}: {err}") from err
    except ValueError as err:
        # The project's checks (config values, data, window and batch sizes) raise these with a
        # message that names the field and the expectation; a traceback adds nothing for a user.
        if os.environ.get(TRACEBACK_ENV, "") not in ("", "0"):
            raise
        raise SystemExit(
            f"jepa {command}: {type(err).__name__}: {err}\n"
            f"(set {TRACEBACK_ENV}=1 to see where it was raised)"
        ) from err
    return 0


def export_main(argv: Sequence[str]) -> int:
    """``jepa export CKPT [--out model_weights.pth]``: the world model of a checkpoint, alone.

    The output loads with :func:`jepa_world.models.load_world_model`, without Lightning or a
    config file; that is the file the course's ``main.py`` reads.
    """
    parser = argparse.ArgumentParser(prog="jepa export", description=export_main.__doc__.splitlines()[0])
    parser.add_argument("checkpoint", help="a .ckpt written by `jepa fit` (e.g. runs/.../checkpoints/last.ckpt)")
    parser.add_argument("--out", default="model_weights.pth", help="where to write (default: %(default)s)")
    options = parser.parse_args(list(argv))
    from jepa_world.models.world_model import count_parameters, save_world_model
    from jepa_world.probing.evaluator import CheckpointError, check_training_checkpoint

    try:
        check_training_checkpoint(options.checkpoint, resume=False)
    except CheckpointError as err:
        raise SystemExit(f"jepa export: {err}") from err
    try:
        module = JEPAModule.load_from_checkpoint(options.checkpoint, map_location="cpu", weights_only=False)
    except Exception as err:  # a foreign or truncated file fails in many ways inside torch/Lightning
        raise SystemExit(
            f"jepa export: {options.checkpoint} is not a JEPAModule checkpoint written by `jepa fit` "
            f"({type(err).__name__}: {err})"
        ) from err
    path = save_world_model(module.world_model, options.out)
    print(f"wrote {path} ({count_parameters(module.world_model):,} trainable parameters)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
