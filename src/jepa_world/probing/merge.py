"""Join `jepa probe` reports of the same model made one group of sets at a time.

A wide code makes course-size probing long (the expert set alone caches 10,000 × 65
representations), so the sets are often probed in separate runs (``--sets [normal]``, ``--sets
[expert]``, perhaps on different machines). This joins their ``probe_results.json`` files into one
report (``metrics.txt`` in the course format, the JSON, both pictures), after checking that they
describe the same model scored the same way::

    python -m jepa_world.probing.merge runs/probe/normal runs/probe/walls runs/probe/expert \\
        --out runs/probe/all --command "jepa fit --config configs/generic.yaml"

A report is read as data (JSON), never as code.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from jepa_world.probing.report import JSON_FILE, report_files, write_report
from jepa_world.probing.results import (
    ALL_SETS,
    ProbeResult,
    SetResult,
    TrajectoryExamples,
)

#: Prober settings that must agree for two reports to be joined (the rest, such as the progress
#: bar or the cache size, does not change a number).
PROBER_KEYS: tuple[str, ...] = ("epochs", "batch_size", "seed", "base_lr", "max_train", "max_val")


def result_from_dict(payload: dict[str, Any], source: str = JSON_FILE) -> ProbeResult:
    """Rebuild a :class:`ProbeResult` from what ``write_json`` wrote (one prober seed)."""
    if "repeats" in payload:
        raise ValueError(
            f"{source}: a report of several prober seeds (--repeats) cannot be joined; probe "
            "each group of sets with the same single seed"
        )
    try:
        sets = {}
        for name, raw in payload["sets"].items():
            examples = raw.get("examples")
            sets[name] = SetResult(
                **{**raw, "examples": TrajectoryExamples(**examples) if examples else None}
            )
        return ProbeResult(
            sets=sets,
            skipped=dict(payload.get("skipped", {})),
            notes=list(payload.get("notes", [])),
            param_count=int(payload["param_count"]),
            repr_dim=int(payload["repr_dim"]),
            seconds=dict(payload.get("seconds", {})),
            config=dict(payload.get("config", {})),
        )
    except (KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"{source}: not a jepa probe report ({error!r})") from None


def read_result(path: str | Path) -> ProbeResult:
    """A report's result: ``path`` is its folder or its ``probe_results.json``."""
    path = Path(path)
    if path.is_dir():
        path = path / JSON_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such report (expected jepa probe's {JSON_FILE})")
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(payload, dict):
        raise ValueError(f"{path}: not a jepa probe report (expected a JSON object)")
    return result_from_dict(payload, source=str(path))


def merge_results(parts: list[ProbeResult], sources: list[str] | None = None) -> ProbeResult:
    """One result holding every set of ``parts``.

    Raises:
        ValueError: when fewer than two parts are given, a set appears twice, or the parts
            disagree on the model (parameters, code size), the data or the prober's settings.
    """
    names = sources or [f"report {i}" for i in range(len(parts))]
    if len(parts) < 2:
        raise ValueError("merge: give at least two reports")
    first = parts[0]

    def identity(result: ProbeResult) -> dict[str, Any]:
        keys = PROBER_KEYS + ("data_dir",)
        return {
            "param_count": result.param_count,
            "repr_dim": result.repr_dim,
            **{key: result.config.get(key) for key in keys},
        }

    reference = identity(first)
    sets: dict[str, SetResult] = {}
    for name, part in zip(names, parts, strict=True):
        if identity(part) != reference:
            differ = sorted(k for k, v in identity(part).items() if reference[k] != v)
            raise ValueError(
                f"{name} and {names[0]} do not describe the same model scored the same way: "
                f"{', '.join(differ)} differ"
            )
        for set_name, result in part.sets.items():
            if set_name in sets:
                raise ValueError(f"{name}: set {set_name!r} is already in an earlier report")
            sets[set_name] = result
    order = [n for n in ALL_SETS if n in sets] + [n for n in sets if n not in ALL_SETS]
    seconds: dict[str, float] = {}
    for part in parts:
        for key, value in part.seconds.items():
            seconds[key] = seconds.get(key, 0.0) + value
    return ProbeResult(
        sets={n: sets[n] for n in order},
        skipped={},
        notes=[note for part in parts for note in part.notes],
        param_count=first.param_count,
        repr_dim=first.repr_dim,
        seconds=seconds,
        config=dict(first.config),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m jepa_world.probing.merge",
        description="Join jepa probe reports of the same model, each holding other sets, into "
        "one report (metrics.txt, probe_results.json, pictures).",
    )
    parser.add_argument("reports", nargs="+", help="report folders (or their JSON files)")
    parser.add_argument("--out", required=True, help="folder for the joined report")
    parser.add_argument(
        "--command",
        required=True,
        help="the training command metrics.txt records (one line), as jepa probe --command",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace a report already in --out"
    )
    args = parser.parse_args(argv)
    out = Path(args.out)
    existing = [p for p in report_files(out) if p.exists()]
    if existing and not args.overwrite:
        parser.error(f"{existing[0]} already exists; pass --overwrite to replace the report")
    try:
        merged = merge_results([read_result(r) for r in args.reports], sources=args.reports)
        out.mkdir(parents=True, exist_ok=True)
        written = write_report(merged, out, command=args.command)
    except (OSError, ValueError) as error:
        parser.exit(2, f"error: {error}\n")
    for name, result in merged.sets.items():
        print(f"{name:<11} {result.mse:.4f} px²")
    for kind, path in written.items():
        print(f"{kind}: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
