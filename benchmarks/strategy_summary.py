"""A strategy comparison over several seeds: mean and spread, what the spread allows to say, plots.

Reads the ``<variant>/result.json`` files that ``benchmarks/strategies.py`` wrote into one
``--out`` folder per seed (finished variants only, so a comparison still being built can be
looked at), and prints:

- a markdown table: per variant, the seeds found, each probe MSE as ``mean ± half-range`` over
  the seeds (for two seeds, the half-range is half their difference), how many seeds ended
  collapsed (and, in brackets, how many drew a collapse warning during training), effective rank, the step where training stopped and the training time;
- per probe set, which differences are larger than the seed spread: two variants are told
  apart only when their ranges over the seeds do not overlap, and only with two seeds or more
  each.

Figures (``--png PREFIX``): ``PREFIX_mse.png`` (every set, each variant's mean with its range
and every seed as a dot), ``PREFIX_curves.png`` (validation loss and embedding std against the
step, one panel per strategy, with and without inverse dynamics) and ``PREFIX_spectra.png``
(normalised singular values of the first-frame embeddings, the spectrum behind the effective
rank)::

    python benchmarks/strategy_summary.py runs/convergence/seed0 runs/convergence/seed1 \\
        --png docs/results_convergence

``--records DIR`` keeps what the summary needs of each result (the probe MSEs, the embedding
statistics and spectrum, the validation curves) as ``DIR/seed<S>/<variant>/result.json``, a few
kilobytes each; those folders are read back like ``--out`` folders, so a comparison whose runs
were made on several machines is summarised from ``docs/convergence/seed0`` and ``seed1``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from plot_results import save_figure, scalars  # noqa: E402

from jepa_world.io import atomic_write_text  # noqa: E402

SETS = ("normal", "wall", "wall_other", "expert")
#: Order of the strategies in tables and plots (``benchmarks/strategies.py``'s).
STRATEGIES = ("vicreg", "byol_ema", "variance", "contrastive", "sigreg")


def load_results(folders: list[Path]) -> dict[str, list[dict[str, Any]]]:
    """Variant name → its finished results, one per folder (seed) that has it.

    Each result gets ``folder`` (where it was read) added. Raises ``FileNotFoundError`` for a
    folder that does not exist and ``ValueError`` for two folders holding the same seed.
    """
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for folder in folders:
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder}: no such folder (an --out of strategies.py)")
        for path in sorted(folder.glob("*/result.json")):
            result = json.loads(path.read_text())
            result["folder"] = str(path.parent)
            seeds = [r.get("seed") for r in found[result["name"]]]
            if result.get("seed") is not None and result.get("seed") in seeds:
                raise ValueError(
                    f"{path}: seed {result['seed']} of {result['name']} is in two folders; "
                    "give each seed's --out once"
                )
            found[result["name"]].append(result)
    return dict(sorted(found.items(), key=lambda item: variant_order(item[0])))


def variant_order(name: str) -> tuple[int, str]:
    base = name.removesuffix("+id")
    rank = STRATEGIES.index(base) if base in STRATEGIES else len(STRATEGIES)
    return rank, name


def spread(values: list[float]) -> tuple[float, float, float, float]:
    """Mean, half-range, minimum and maximum of ``values`` (NaN entries dropped)."""
    kept = [v for v in values if v is not None and math.isfinite(v)]
    if not kept:
        return (math.nan,) * 4
    low, high = min(kept), max(kept)
    return sum(kept) / len(kept), (high - low) / 2, low, high


def summarise(results: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """One row per variant: seeds, per-set (mean, half-range, min, max) and the other columns."""
    rows = []
    for name, runs in results.items():
        mse = {s: spread([r["mse"].get(s, math.nan) for r in runs]) for s in SETS}
        rows.append(
            {
                "name": name,
                "seeds": sorted(r.get("seed", 0) for r in runs),
                "mse": mse,
                "collapsed": sum(bool(r["collapsed"]) for r in runs),
                "warned": sum(r.get("collapse_warnings", 0) > 0 for r in runs),
                "effective_rank": spread([r["embedding"]["effective_rank"] for r in runs]),
                "stopped_step": spread([r.get("stopped_step", r["steps"]) for r in runs]),
                "train_seconds": spread([r["train_seconds"] for r in runs]),
            }
        )
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| variant | seeds | normal | wall | wall_other | expert | collapsed | eff. rank | "
        "stopped at step | train min |",
        "|---|---|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    for row in rows:
        cells = [_pm(row["mse"][s], 3) for s in SETS]
        n = len(row["seeds"])
        lines.append(
            f"| {row['name']} | {','.join(map(str, row['seeds']))} | {' | '.join(cells)} | "
            f"{row['collapsed']}/{n}{_warned(row['warned'])} | "
            f"{_pm(row['effective_rank'], 1)} | "
            f"{_pm(row['stopped_step'], 0)} | "
            f"{_pm(tuple(v / 60 for v in row['train_seconds']), 1)} |"
        )
    return "\n".join(lines)


def _warned(count: int) -> str:
    return f" (warned {count})" if count else ""


def _pm(stats: tuple[float, float, float, float], digits: int) -> str:
    mean, half, _, _ = stats
    if not math.isfinite(mean):
        return "-"
    return f"{mean:.{digits}f}" if half == 0 else f"{mean:.{digits}f} ± {half:.{digits}f}"


def separations(rows: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Per set: the best variant by mean, and for every other one whether the seeds tell them apart.

    Two variants are told apart when both have at least two seeds and their [min, max] ranges
    over the seeds do not overlap. The others are compared with the best variant that has two
    seeds or more (a second line names it when a one-seed variant has the best mean). Sets no
    variant was probed on are left out.
    """
    out = {}
    for s in SETS:
        scored = [r for r in rows if math.isfinite(r["mse"][s][0])]
        if not scored:
            continue
        scored.sort(key=lambda r: r["mse"][s][0])
        tested = [r for r in scored if len(r["seeds"]) >= 2]
        best = tested[0] if tested else scored[0]
        lines = [f"best by mean: {scored[0]['name']} ({scored[0]['mse'][s][0]:.3f})"]
        if best is not scored[0]:
            lines.append(f"best with two seeds or more: {best['name']} ({best['mse'][s][0]:.3f})")
        for other in scored:
            if other is best:
                continue
            if len(best["seeds"]) < 2 or len(other["seeds"]) < 2:
                verdict = "not tested (fewer than two seeds)"
            elif other["mse"][s][2] > best["mse"][s][3]:
                verdict = "worse, beyond the seed spread"
            else:
                verdict = "within the seed spread"
            lines.append(f"{other['name']} ({other['mse'][s][0]:.3f}): {verdict}")
        out[s] = lines
    return out


def id_effects(rows: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Per strategy run both with and without inverse dynamics: what the ID head changes, per set.

    Each line gives the two means, their ratio (without / with) and whether the seeds tell the
    two apart (at least two seeds each and [min, max] ranges that do not overlap). Strategies
    with only one of the two rows are left out.
    """
    by_name = {r["name"]: r for r in rows}
    out = {}
    for name in sorted(by_name, key=variant_order):
        if name.endswith("+id") or f"{name}+id" not in by_name:
            continue
        plain, with_id = by_name[name], by_name[f"{name}+id"]
        lines = []
        for s in SETS:
            (m0, _, lo0, hi0), (m1, _, lo1, hi1) = plain["mse"][s], with_id["mse"][s]
            if not (math.isfinite(m0) and math.isfinite(m1)):
                continue
            if len(plain["seeds"]) < 2 or len(with_id["seeds"]) < 2:
                verdict = "not tested (fewer than two seeds)"
            elif lo0 > hi1:
                verdict = "ID better, beyond the seed spread"
            elif lo1 > hi0:
                verdict = "ID worse, beyond the seed spread"
            else:
                verdict = "within the seed spread"
            lines.append(f"{s} {m0:.3f} without, {m1:.3f} with ({m0 / m1:.1f}x): {verdict}")
        out[name] = lines
    return out


def plot_mse(results: dict[str, list[dict[str, Any]]], rows: list[dict], out: Path) -> None:
    sets = [s for s in SETS if any(math.isfinite(r["mse"][s][0]) for r in rows)]
    fig, axes = plt.subplots(1, len(sets), figsize=(3.6 * len(sets), 4.2), squeeze=False)
    for ax, s in zip(axes[0], sets, strict=True):
        for k, row in enumerate(rows):
            mean, _, low, high = row["mse"][s]
            if not math.isfinite(mean):
                continue
            ax.bar(k, mean, 0.7, color="C0" if row["name"].endswith("+id") else "C1", alpha=0.6)
            ax.plot([k, k], [low, high], color="black", lw=1.5)
            dots = [r["mse"][s] for r in results[row["name"]] if s in r["mse"]]
            ax.plot([k] * len(dots), dots, "k.", ms=5)
        ax.set_xticks(range(len(rows)), [r["name"] for r in rows], rotation=60, ha="right")
        ax.set_yscale("log")
        ax.set_title(s)
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].set_ylabel("probe MSE (px²): mean, range and seeds")
    fig.suptitle("Strategies: probe MSE over seeds (blue: with inverse dynamics)")
    save_figure(fig, out)


def _thousands(x: float, _pos: int | None = None) -> str:
    """Tick label for a step count: 12000 -> "12k" (full numbers run into each other)."""
    return f"{x / 1000:g}k" if x else "0"


CURVE_TAGS = ("val/loss", "val/embedding_std")


def run_curves(result: dict[str, Any]) -> dict[str, list[list[float]]]:
    """The training curves of a result: tag -> ``[step, value]`` pairs, in step order.

    Taken from the result itself when it carries them (a record written by ``--records``),
    otherwise from the TensorBoard files of its run folder; empty when neither has them.
    """
    if "curves" in result:
        return result["curves"]
    run = Path(result["folder"]) / "run"
    curves = {}
    for tag in CURVE_TAGS:
        steps, values = scalars(run, tag) if run.is_dir() else ([], [])
        # A resumed run logs the steps redone after its checkpoint twice: keep the later value
        # of each step (event files are read in the order written).
        latest = dict(zip(steps, values, strict=True))
        curves[tag] = [[k, latest[k]] for k in sorted(latest)]
    return curves


def write_records(
    results: dict[str, list[dict[str, Any]]], out: Path, overwrite: bool
) -> list[Path]:
    """Write every result, its curves included, to ``out/seed<S>/<variant>/result.json``.

    A record is what the summary needs without the run folder (checkpoints, TensorBoard files),
    small enough to keep beside the figures, so that a comparison built over several machines
    can be summarised again. A record that exists with other contents is replaced only with
    ``overwrite``; one with the same contents is left alone. Returns the files written.
    """
    changed = []  # checked in full before anything is written
    for runs in results.values():
        for result in runs:
            record = {k: v for k, v in result.items() if k != "folder"}
            record["curves"] = run_curves(result)
            path = out / f"seed{result.get('seed', 0)}" / result["name"] / "result.json"
            text = json.dumps(record, indent=2) + "\n"
            old = path.read_text() if path.is_file() else None
            if old == text:
                continue
            if old is not None and not overwrite:
                raise FileExistsError(
                    f"{path} exists with other contents; pass --overwrite to replace it"
                )
            changed.append((path, text))
    written = []
    for path, text in changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, text)
        written.append(path)
    return written


def plot_curves(results: dict[str, list[dict[str, Any]]], out: Path) -> None:
    bases = sorted({n.removesuffix("+id") for n in results}, key=lambda b: variant_order(b))
    fig, axes = plt.subplots(2, len(bases), figsize=(3.4 * len(bases), 6), squeeze=False)
    for col, base in enumerate(bases):
        for name, style in ((base, "--"), (f"{base}+id", "-")):
            for k, result in enumerate(results.get(name, [])):
                curves = run_curves(result)
                for row, tag in enumerate(CURVE_TAGS):
                    points = curves.get(tag, [])
                    if not points:
                        continue
                    steps, values = [p[0] for p in points], [p[1] for p in points]
                    label = f"{name} seed {result.get('seed', 0)}"
                    axes[row][col].plot(steps, values, style, color=f"C{k}", label=label)
        axes[0][col].set_title(base)
        axes[1][col].set_xlabel("step")
        for row in range(2):
            ax = axes[row][col]
            if not ax.lines:  # records without curves (their run folders were not kept)
                ax.text(
                    0.5, 0.5, "no curves kept", ha="center", va="center", transform=ax.transAxes
                )
                ax.set_xticks([])
                ax.set_yticks([])
            ax.xaxis.set_major_formatter(_thousands)
        if axes[0][col].lines:
            axes[0][col].legend(fontsize=6)
    axes[0][0].set_ylabel("val/loss (the strategy's own)")
    axes[1][0].set_ylabel("val/embedding_std")
    fig.suptitle("Training curves (dashed: without inverse dynamics)")
    save_figure(fig, out)


def plot_spectra(results: dict[str, list[dict[str, Any]]], out: Path) -> None:
    fig, ax = plt.subplots(figsize=(7, 4.6))
    for k, (name, runs) in enumerate(results.items()):
        for j, result in enumerate(runs):
            values = result["embedding"].get("spectrum")
            if not values:
                continue
            rank = result["embedding"]["effective_rank"]
            label = f"{name} (eff. rank {rank:.0f})" if j == 0 else None
            style = "-" if name.endswith("+id") else "--"
            ax.plot(range(1, len(values) + 1), values, style, color=f"C{k % 10}", label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("singular value index")
    ax.set_ylabel("share of the sum of singular values")
    ax.set_title("Embedding spectra of first frames (each seed a line)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    save_figure(fig, out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path, help="one strategies.py --out per seed")
    parser.add_argument(
        "--png", default=None, help="write PREFIX_mse.png, PREFIX_curves.png, PREFIX_spectra.png"
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace figures of these names that already exist (refused otherwise)",
    )
    parser.add_argument(
        "--records",
        type=Path,
        default=None,
        help="also write every result with its training curves to "
        "RECORDS/seed<S>/<variant>/result.json: small files to keep (docs/convergence), which "
        "this script reads back like an --out folder when the runs themselves are gone",
    )
    args = parser.parse_args(argv)
    figures = (
        [Path(f"{args.png}_{part}.png") for part in ("mse", "curves", "spectra")]
        if args.png
        else []
    )
    existing = [str(f) for f in figures if f.exists()]
    if existing and not args.overwrite:
        parser.error(
            f"{', '.join(existing)} already exist; choose another --png prefix, or pass "
            "--overwrite to replace them"
        )
    try:
        results = load_results(args.folders)
    except (FileNotFoundError, ValueError) as err:
        parser.error(str(err))
    if not results:
        parser.error(
            "no finished variant (no */result.json) in " + ", ".join(map(str, args.folders))
        )
    if args.records is not None:
        try:
            written = write_records(results, args.records, args.overwrite)
        except FileExistsError as err:
            parser.error(str(err))
        print(f"wrote {len(written)} record(s) under {args.records}")
    rows = summarise(results)
    print(table(rows))
    print("\nDifferences larger than the seed spread (ranges over the seeds that do not overlap):")
    for s, lines in separations(rows).items():
        print(f"- {s}: " + "; ".join(lines))
    effects = id_effects(rows)
    if effects:
        print("\nInverse dynamics, without against with, per strategy (same test):")
        for name, lines in effects.items():
            print(f"- {name}: " + "; ".join(lines))
    if args.png:
        prefix = Path(args.png)
        prefix.parent.mkdir(parents=True, exist_ok=True)
        plot_mse(results, rows, figures[0])
        plot_curves(results, figures[1])
        plot_spectra(results, figures[2])
        print(f"\nwrote {prefix}_mse.png, {prefix}_curves.png, {prefix}_spectra.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
