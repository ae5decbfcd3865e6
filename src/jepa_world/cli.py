"""The ``jepa`` command: ``fit`` and ``validate`` through LightningCLI, plus project subcommands.

``jepa fit --config configs/vicreg.yaml`` trains; every option of the module, the data and the
trainer is a typed constructor argument, so ``--help``, ``--print_config`` and command-line
overrides come for free. Subcommands that are not Lightning's (``data``, ``probe``, ``export``)
are looked up in :data:`COMMANDS` and receive the rest of the command line.

A run writes everything under one directory, ``runs/<name>/version_<n>/``: the resolved
``config.yaml``, TensorBoard event files, and ``checkpoints/`` with ``last.ckpt`` and the best
checkpoint by validation loss.

Under Slurm the run directory follows the job, so a requeued job resumes into it
(:mod:`jepa_world.slurm`).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
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
from jepa_world.slurm import (
    DEFAULT_ROOT_DIR,
    newest_job_checkpoint,
    pin_slurm_run,
    slurm_job_version,
)

#: Lightning subcommands offered (``test`` and ``predict`` have no meaning for a JEPA).
LIGHTNING_COMMANDS: tuple[str, ...] = ("fit", "validate")

#: Trainer defaults for every run; any of them can be overridden in YAML or on the command line.
TRAINER_DEFAULTS: dict[str, object] = {
    "default_root_dir": DEFAULT_ROOT_DIR,
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
    "export": Command("jepa_world.export:main", "write model_weights.pth from a checkpoint"),
    "plan": Command(
        "jepa_world.planning.cli:main", "goal-reaching episodes planned with a world model"
    ),
}


#: Set to 1 to let `jepa fit` show the traceback of a configuration or data error.
TRACEBACK_ENV = "JEPA_TRACEBACK"


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
        safe_resume(fit)
        if slurm_job_version() is None or fit.get("ckpt_path") is not None:
            return
        newest = newest_job_checkpoint(self.trainer)
        if newest is not None:
            fit.ckpt_path = str(newest)
            rank_zero_info(f"jepa fit: resuming this Slurm job from {newest}")

    def before_validate(self) -> None:
        """Read ``--ckpt_path`` without full unpickling, as in ``fit``."""
        safe_resume(self.config_init[self.subcommand])


def safe_resume(config: Any) -> None:
    """Have Lightning open the resumed checkpoint with ``weights_only=True`` unless the user opted out.

    Lightning's own default is full unpickling, which runs whatever code a crafted file holds.
    ``--weights_only false`` (or ``$JEPA_TRUST_PICKLE=1``) is the explicit opt-in for files the
    user trusts.
    """
    from jepa_world.trust import trust_pickle_requested

    if config.get("weights_only") is None:
        config.weights_only = not trust_pickle_requested()


#: ``--ckpt_path`` values that Lightning resolves itself.
_CKPT_KEYWORDS = ("last", "best", "hpc", "registry")


def resolve_ckpt_path(config: Any, subcommand: str) -> None:
    """Make ``--ckpt_path`` do what a user rerunning a killed job expects, or fail clearly.

    ``last``: Lightning looks for ``last.ckpt`` only in the new run's own, fresh
    ``version_<n>`` directory, finds nothing and trains from scratch. Here, when the logger is
    a TensorBoard or CSV logger with no fixed version and no ``checkpoint.dirpath`` is set, the
    newest ``<save_dir>/<name>/*/checkpoints/last.ckpt`` is resumed and the run goes on in that
    directory; with none, a new run starts and says so.

    The file is then checked (:func:`~jepa_world.checkpoints.check_training_checkpoint`) before
    Lightning reads it, so a missing, truncated or foreign file is named in one line, and a
    file that needs full unpickling, or whose hyperparameters name classes outside the trusted
    packages (which Lightning would import and build), is refused. Trusted: this package,
    ``$JEPA_TRUSTED_MODULES``, and the classes the user's own config names; full unpickling
    only with ``--weights_only false`` or ``$JEPA_TRUST_PICKLE=1``.
    """
    ckpt_path = config.get("ckpt_path")
    if not ckpt_path or "://" in str(ckpt_path):
        return
    if ckpt_path == "last":
        _resolve_last(config, subcommand)
        ckpt_path = config.get("ckpt_path")
    if not ckpt_path or ckpt_path in _CKPT_KEYWORDS:
        return
    from jepa_world.checkpoints import FIT_PICKLE_OPT_IN, CheckpointError, check_training_checkpoint
    from jepa_world.trust import class_paths_in

    try:
        check_training_checkpoint(
            ckpt_path,
            resume=subcommand == "fit",
            trust_pickle=config.get("weights_only") is False,
            trust_modules=list(class_paths_in(_plain(config.get("model")))),
            opt_in=FIT_PICKLE_OPT_IN,
        )
    except CheckpointError as err:
        raise SystemExit(f"jepa {subcommand}: --ckpt_path: {err}") from err


def _plain(value: Any) -> Any:
    """A parsed config section as plain dicts and lists."""
    as_dict = getattr(value, "as_dict", None)
    return as_dict() if callable(as_dict) else value


def _resolve_last(config: Any, subcommand: str) -> None:
    """``--ckpt_path last``: the newest ``last.ckpt`` of the run's logger directory, if any."""
    checkpoint = config.get("checkpoint")
    logger = config.get("trainer", {}).get("logger")
    init = logger.get("init_args") if hasattr(logger, "get") else None
    if (
        (checkpoint is not None and checkpoint.get("dirpath"))
        or init is None
        or str(logger.get("class_path", "")).rpartition(".")[2]
        not in ("TensorBoardLogger", "CSVLogger")
        or init.get("version") is not None
    ):
        return
    root = Path(init.get("save_dir") or ".") / (init.get("name") or "")
    found = sorted(root.glob("*/checkpoints/last.ckpt"), key=lambda path: path.stat().st_mtime)
    if not found:
        print(
            f"jepa {subcommand}: --ckpt_path last: no {root}/*/checkpoints/last.ckpt yet; starting a new run",
            file=sys.stderr,
        )
        config.ckpt_path = None
        return
    init.version = found[-1].parent.parent.name
    config.ckpt_path = str(found[-1])
    print(f"jepa {subcommand}: resuming {config.ckpt_path}", file=sys.stderr)


def _help_epilog() -> str:
    lines = ["other commands (each has its own --help):"]
    lines += [f"  {name:<10} {command.help}" for name, command in COMMANDS.items()]
    lines.append(
        "examples:  jepa fit --config configs/quickstart.yaml   |   tensorboard --logdir runs/"
    )
    lines.append(
        "files are untrusted input: --ckpt_path is read with weights_only=True and may only name "
        "classes of jepa_world, of $JEPA_TRUSTED_MODULES (comma-separated) or of your config; "
        "--weights_only false (or JEPA_TRUST_PICKLE=1) allows full unpickling of a file you trust"
    )
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
    from jepa_world.models import WorldModelFileError
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


if __name__ == "__main__":
    sys.exit(main())
