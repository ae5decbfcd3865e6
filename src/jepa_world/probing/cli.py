"""``jepa probe``: score a checkpoint with the course probes and write its report.

The options are read off :func:`~jepa_world.probing.evaluator.probe_checkpoint`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from jsonargparse import ArgumentParser

from jepa_world.checkpoints import CheckpointError
from jepa_world.data.files import DataError
from jepa_world.probing.evaluator import ProbeDataError, probe_checkpoint


def build_parser() -> ArgumentParser:
    """The ``jepa probe`` parser (every option of :func:`probe_checkpoint` as a flag)."""
    parser = ArgumentParser(
        prog="jepa probe",
        description=(
            "Train the course prober on a frozen model's predicted representations and report the "
            "MSE (pixels², per coordinate) on probe_normal, probe_wall, probe_wall_other and "
            "probe_expert. Writes metrics.txt, probe_results.json and pictures. "
            "Checkpoints and weights files are untrusted input: they are read without running "
            "code and may only build classes of jepa_world unless --trust_modules (or "
            "$JEPA_TRUSTED_MODULES) names more packages; --trust_pickle allows full unpickling "
            "of a .ckpt you trust."
        ),
    )
    parser.add_function_arguments(probe_checkpoint, as_positional=False)
    return parser


def normalise_flags(argv: list[str]) -> list[str]:
    """Accept the spelling of the other commands: ``--trust-pickle`` and ``--trust-modules X``."""
    out = []
    for arg in argv:
        if arg == "--trust-pickle":
            out.append("--trust_pickle=true")
        elif arg == "--trust-modules" or arg.startswith("--trust-modules="):
            out.append(arg.replace("--trust-modules", "--trust_modules", 1))
        else:
            out.append(arg)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``jepa probe``."""
    parser = build_parser()
    config = parser.parse_args(normalise_flags(list(sys.argv[1:] if argv is None else argv)))
    options = config.as_dict()
    options.pop("config", None)
    try:
        probe_checkpoint(**options)
    except (CheckpointError, ProbeDataError, DataError, FileNotFoundError) as err:
        raise SystemExit(f"jepa probe: {err}") from err
    return 0
