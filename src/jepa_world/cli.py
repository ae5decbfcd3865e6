"""The ``jepa`` command: ``fit`` and ``validate`` through LightningCLI, plus project subcommands.

``jepa fit --config configs/vicreg.yaml`` trains; every option of the module, the data and the
trainer is a typed constructor argument, so ``--help``, ``--print_config`` and command-line
overrides come for free. Subcommands that are not Lightning's (``data``, ``probe``, ``export``)
are looked up in :data:`COMMANDS` and receive the rest of the command line.

A run writes everything under one directory, ``runs/<name>/version_<n>/``: the resolved
``config.yaml``, TensorBoard event files, and ``checkpoints/`` with ``last.ckpt`` and the best
checkpoint by validation loss.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import NamedTuple

from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from jepa_world.callbacks import CollapseMonitor, FrameRate, NaNGuard
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
}


class JEPACLI(LightningCLI):
    """LightningCLI with the project's callbacks always present and configurable.

    ``checkpoint`` (ModelCheckpoint: ``last.ckpt`` and the best by ``val/loss``), ``collapse``
    (:class:`~jepa_world.callbacks.CollapseMonitor`), ``nan_guard``
    (:class:`~jepa_world.callbacks.NaNGuard`) and ``frame_rate``
    (:class:`~jepa_world.callbacks.FrameRate`) are added to every run, and their options are
    exposed as ``--checkpoint.*``, ``--collapse.*``, ``--nan_guard.*`` and ``--frame_rate.*``.
    """

    @staticmethod
    def subcommands() -> dict[str, set[str]]:
        return {k: v for k, v in LightningCLI.subcommands().items() if k in LIGHTNING_COMMANDS}

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_lightning_class_args(ModelCheckpoint, "checkpoint")
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
    run_lightning(argv)  # None: LightningCLI reads sys.argv itself
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
    from pathlib import Path

    from jepa_world.models.world_model import count_parameters, save_world_model

    if not Path(options.checkpoint).is_file():
        raise SystemExit(f"jepa export: no checkpoint at {options.checkpoint}")
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
