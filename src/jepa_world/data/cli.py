"""``jepa data``: generate data sets and draw their trajectories.

The options are read off :func:`~jepa_world.data.generate.generate_dataset` and
:func:`~jepa_world.data.show.show_trajectories` (types, defaults and docstrings), so the
command line and the Python API cannot drift apart.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from jsonargparse import ArgumentParser

from jepa_world.data.files import DataError
from jepa_world.data.generate import generate_dataset
from jepa_world.data.show import show_trajectories


def build_parser() -> ArgumentParser:
    """The ``jepa data`` parser with its ``generate`` and ``show`` subcommands."""
    parser = ArgumentParser(
        prog="jepa data",
        description="Generate two-rooms data sets in the course format, or draw their trajectories.",
    )
    generate = ArgumentParser(description=generate_dataset.__doc__.splitlines()[0])
    generate.add_function_arguments(generate_dataset, as_positional=False)
    show = ArgumentParser(description=show_trajectories.__doc__.splitlines()[0])
    show.add_function_arguments(show_trajectories, as_positional=True, skip={"n"})
    show.add_argument("-n", "--n", type=int, default=8, help="Number of trajectories to draw.")
    commands = parser.add_subcommands()
    commands.add_subcommand("generate", generate, help="write every split of a data set")
    commands.add_subcommand("show", show, help="draw trajectories of a split over their layouts")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``jepa data``."""
    parser = build_parser()
    config = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    command = config.subcommand
    options = config[command].as_dict()
    options.pop("config", None)
    try:
        if command == "generate":
            path = generate_dataset(**options)
            print(f"wrote {path}")
        else:
            path = show_trajectories(**options)
            print(f"wrote {path}")
    except (DataError, FileExistsError, FileNotFoundError, ValueError, OSError) as err:
        raise SystemExit(f"jepa data {command}: {err}") from err
    return 0
