"""``jepa probe``: score a checkpoint with the course probes and write its report.

The options are :func:`probe_checkpoint`'s arguments and the fields of
:class:`~jepa_world.probing.evaluator.ProbeSettings`, as flags.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from jsonargparse import ArgumentParser

from jepa_world.checkpoints import (
    PICKLE_OPT_IN,
    CheckpointError,
    load_model,
    normalise_trust_flags,
)
from jepa_world.data.files import DataError
from jepa_world.probing.evaluator import ProbeSettings, evaluate_repeated
from jepa_world.probing.results import ALL_SETS, ProbeResult, RepeatedResult
from jepa_world.probing.splits import ProbeDataError

#: Report folder, beside the checkpoint (or beside its run's ``checkpoints/``), when no --out is given.
REPORT_DIR = "probe"


class ReportExistsError(FileExistsError):
    """The report folder already holds a report that this command did not write."""


def default_report_dir(ckpt: str | Path) -> Path:
    """``<run>/probe/<stem>`` for ``<run>/checkpoints/<stem>.ckpt``, else ``<dir>/probe/<stem>``.

    Never the checkpoint's own folder: a released ``model_weights.pth`` sits beside its
    ``metrics.txt``, which an evaluation on other data must not replace.
    """
    path = Path(ckpt)
    parent = path.parent.parent if path.parent.name == "checkpoints" else path.parent
    return parent / REPORT_DIR / path.stem


def find_training_command(path: str | Path) -> str | None:
    """How the model at ``path`` was trained, when the files around it say so.

    A ``metrics.txt`` beside the file (written with the model) gives its command; else a
    ``config.yaml`` saved by ``jepa fit`` in the run directory (up to two levels up) gives
    ``jepa fit --config <that file>``.
    """
    from jepa_world.probing.report import read_metrics

    path = Path(path).resolve()
    metrics = path.parent / "metrics.txt"
    if metrics.is_file():
        try:
            command = read_metrics(metrics).command
        except ValueError:
            command = None
        if command:
            return command
    for folder in (path.parent, path.parent.parent, path.parent.parent.parent):
        config = folder / "config.yaml"
        if config.is_file():
            return f"jepa fit --config {config}"
    return None


def probe_checkpoint(
    ckpt: str,
    data: str = "data/quickstart",
    out: str | None = None,
    sets: list[str] | None = None,
    repeats: int = 1,
    command: str | None = None,
    plots: bool = True,
    overwrite: bool = False,
    trust_modules: str | None = None,
    trust_pickle: bool = False,
    settings: ProbeSettings | None = None,
) -> ProbeResult | RepeatedResult:
    """Run the full probing protocol on a checkpoint, print the table and write the report.

    Writes ``metrics.txt`` (course format), ``probe_results.json`` (per-timestep curves, every
    repeat) and the pictures into ``out``.

    Args:
        ckpt: A Lightning ``.ckpt`` written by ``jepa fit``, or a ``model_weights.pth``.
        data: Directory holding the ``probe_*`` splits.
        out: Where the report goes (default: ``<run>/probe/<checkpoint name>``, never the
            checkpoint's own folder).
        sets: Sets to score, among normal, wall, wall_other, expert (default: all; missing
            ones are skipped with a note).
        repeats: Train the probers with this many seeds (seed, seed+1, ...) and report mean ±
            sd; metrics.txt gets the means. The prober's own noise is as large as the
            differences between good models: use 4 or more to compare them.
        command: The training command recorded in metrics.txt (default: read from the run's
            files when possible).
        plots: Also save the pictures.
        overwrite: Replace a report already in ``out``; without it an existing report is refused.
        trust_modules: Comma-separated packages besides jepa_world whose classes the file may
            name (also read from $JEPA_TRUSTED_MODULES); only for files you trust.
        trust_pickle: Open a .ckpt with full unpickling, which can run code (also
            $JEPA_TRUST_PICKLE=1); only for files you trust.
        settings: How the protocol runs (device, prober epochs, batch size, seed, subsets).
    """
    from jepa_world.probing.report import (
        format_repeated_table,
        format_table,
        report_files,
        write_report,
    )

    out_dir = Path(out) if out is not None else default_report_dir(ckpt)
    existing = [path for path in report_files(out_dir, plots) if path.exists()]
    if existing and not overwrite:
        raise ReportExistsError(
            f"{out_dir}: already holds a report ({', '.join(p.name for p in existing)}); pass "
            "--overwrite true to replace it, or --out DIR to write elsewhere"
        )
    model = load_model(
        ckpt, trust_modules=trust_modules, trust_pickle=trust_pickle, opt_in=PICKLE_OPT_IN
    )
    requested = tuple(sets) if sets else ALL_SETS
    repeated = evaluate_repeated(model, data, repeats, sets=requested, settings=settings)
    result = repeated.first
    if not result.sets:
        raise ProbeDataError(
            f"{data}: none of the probe sets {', '.join(requested)} is there "
            f"({'; '.join(result.skipped.values())}); generate them with `jepa data generate`"
        )
    recorded = command or find_training_command(ckpt) or "unknown (pass --command to record it)"
    written = write_report(repeated if repeats > 1 else result, out_dir, recorded, plots=plots)
    print(format_repeated_table(repeated) if repeats > 1 else format_table(result))
    for note in result.notes:
        print(f"note: {note}")
    for what, path in written.items():
        print(f"{what}: {path}")
    return repeated if repeats > 1 else result


def build_parser() -> ArgumentParser:
    """The ``jepa probe`` parser: :func:`probe_checkpoint`'s options and the probe settings."""
    parser = ArgumentParser(
        prog="jepa probe",
        description=(
            "Train the course prober on a frozen model's predicted representations and report the "
            "MSE (pixels², per coordinate) on probe_normal, probe_wall, probe_wall_other and "
            "probe_expert. Writes metrics.txt, probe_results.json and pictures into --out "
            "(default <run>/probe/<checkpoint name>) and never replaces a report unless "
            "--overwrite true. Checkpoints and weights files are untrusted input: they are read "
            "without running code and may only build classes of jepa_world unless "
            "--trust_modules (or $JEPA_TRUSTED_MODULES) names more packages; --trust_pickle "
            "allows full unpickling of a .ckpt you trust."
        ),
    )
    parser.add_function_arguments(probe_checkpoint, as_positional=False, skip={"settings"})
    parser.add_class_arguments(ProbeSettings, nested_key=None)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``jepa probe``."""
    parser = build_parser()
    config = parser.parse_args(normalise_trust_flags(list(sys.argv[1:] if argv is None else argv)))
    options = config.as_dict()
    options.pop("config", None)
    fields = set(ProbeSettings.__dataclass_fields__)
    settings = ProbeSettings(**{k: options.pop(k) for k in list(options) if k in fields})
    try:
        probe_checkpoint(**options, settings=settings)
    except (CheckpointError, ProbeDataError, DataError, OSError, ValueError) as err:
        raise SystemExit(f"jepa probe: {err}") from err
    return 0
