"""Collapse-prevention strategies compared on one model, one data set and one budget.

Every variant trains the model of one base config (by default the compact model of
``configs/best.yaml``: encoder, predictor, teacher forcing, learning rate, batch, seed) for the
same number of steps on the same training set; only ``model.strategy`` changes. The five
strategies take the ``init_args`` of their shipped configs (``configs/<name>.yaml``), except the
base config's own strategy, which keeps the base's, and each runs once alone and once wrapped in
:class:`~jepa_world.strategies.InverseDynamics`. Each trained
model is exported and scored by ``jepa probe`` (the course protocol) on the evaluation sets.

A variant counts as collapsed when the ``CollapseMonitor`` warned during training, or when the
encoder's embeddings of the first frames of ``probe_normal/val`` have a mean per-dimension std
below 0.01 or an effective rank below 1.5 after training (the monitor's thresholds).

Everything goes through the command line (``jepa fit``, ``jepa export``, ``jepa probe``), one
variant after another; a variant whose ``result.json`` exists is not run again, so an
interrupted comparison resumes where it stopped. At the end a markdown table is printed and
``strategies.json`` written beside the runs::

    python benchmarks/strategies.py --train data/best --eval data/best_eval --steps 3000
    python benchmarks/strategies.py --only vicreg,sigreg+id   # a subset
    python benchmarks/strategies.py --base configs/vicreg.yaml --steps 600 --out runs/strategies_conv
    python benchmarks/strategies.py --base configs/generic.yaml --settings my_settings/ \
        --sets normal,wall,wall_other --steps 1500 --only vicreg+id,sigreg+id

Training time is wall-clock time of the ``jepa fit`` process (start-up included) on whatever
machine runs it; compare it within one run of this script.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from jepa_world.data.files import open_split
from jepa_world.io import atomic_write_text
from jepa_world.models import load_world_model
from jepa_world.module import embedding_stats

ROOT = Path(__file__).resolve().parents[1]
#: The strategies compared, each with the ``model.strategy`` block of ``configs/<name>.yaml``.
STRATEGIES = ("vicreg", "byol_ema", "variance", "contrastive", "sigreg")
INVERSE_DYNAMICS = {
    "class_path": "jepa_world.strategies.InverseDynamics",
    "init_args": {"weight": 1.0},
}
SETS = ("normal", "wall", "wall_other", "expert")
MIN_STD, MIN_RANK = 1e-2, 1.5


def strategy_block(config: Path) -> dict[str, Any]:
    return yaml.safe_load(config.read_text())["model"]["strategy"]


def plain_and_wrapped(block: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A strategy block without and with inverse dynamics.

    A block that already is ``InverseDynamics(base=...)`` (the shipped configs are) gives its
    base and itself; any other is wrapped in :data:`INVERSE_DYNAMICS`.
    """
    if block["class_path"] == INVERSE_DYNAMICS["class_path"]:
        return block["init_args"]["base"], block
    wrapped = json.loads(json.dumps(INVERSE_DYNAMICS))
    wrapped["init_args"]["base"] = block
    return block, wrapped


def variants(base: Path, settings: Path | None = None) -> dict[str, dict[str, Any]]:
    """Name → ``model.strategy`` block, for every strategy with and without inverse dynamics.

    The blocks come from ``configs/<name>.yaml``, the base config's own strategy from the base,
    or, with ``settings``, every block from ``settings/<name>.yaml`` (a folder of configs or of
    YAML fragments holding ``model.strategy``).
    """
    own, _ = plain_and_wrapped(strategy_block(base))
    out = {}
    for name in STRATEGIES:
        if settings is not None:
            path = settings / f"{name}.yaml"
            if not path.is_file():
                raise FileNotFoundError(f"--settings: {path} is missing (one file per strategy)")
            block = strategy_block(path)
        else:
            block = strategy_block(ROOT / "configs" / f"{name}.yaml")
        plain, wrapped = plain_and_wrapped(block)
        if settings is None and plain["class_path"] == own["class_path"]:
            plain, wrapped = plain_and_wrapped(strategy_block(base))
        out[name] = plain
        out[f"{name}+id"] = wrapped
    return out


def run(cmd: list[str], log: Path, env: dict[str, str]) -> tuple[float, str]:
    """Run ``cmd``, appending its output to ``log``; return (seconds, output). Raises on failure."""
    tic = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - tic
    with log.open("a") as f:
        f.write(f"$ {' '.join(cmd)}\n{proc.stdout}{proc.stderr}\n")
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} {cmd[1]} failed (exit {proc.returncode}); see {log}")
    return seconds, proc.stdout + proc.stderr


@torch.no_grad()
def first_frame_stats(weights: Path, eval_dir: Path, n: int = 1024) -> dict[str, float]:
    """Embedding std and effective rank of the encoder on ``n`` first frames of probe_normal/val."""
    model = load_world_model(weights).eval()
    split = open_split(eval_dir / "probe_normal" / "val")
    frames = torch.from_numpy(np.ascontiguousarray(split.states[:n, 0]))  # float32, course scale
    stats = embedding_stats(model.encoder(frames))
    return {k: float(v) for k, v in stats.items()}


def one_variant(
    name: str, block: dict[str, Any], args: argparse.Namespace, env: dict[str, str]
) -> dict:
    out = Path(args.out).resolve() / name
    result_file = out / "result.json"
    if result_file.exists():
        return json.loads(result_file.read_text())
    out.mkdir(parents=True, exist_ok=True)
    log = out / "log.txt"
    log.write_text("")
    fragment = out / "strategy.yaml"
    fragment.write_text(yaml.safe_dump({"model": {"strategy": block}}, sort_keys=False))
    print(f"[{name}] training {args.steps} steps", flush=True)
    seconds, text = run(
        [
            "jepa",
            "fit",
            "--config",
            args.base,
            "--config",
            str(fragment),
            "--data.data_dir",
            args.train,
            "--trainer.max_steps",
            str(args.steps),
            "--seed_everything",
            str(args.seed),
            "--trainer.logger.init_args.save_dir",
            str(out.parent),
            "--trainer.logger.init_args.name",
            name,
            "--trainer.logger.init_args.version",
            "run",
            "--trainer.enable_progress_bar",
            "false",
            "--trainer.enable_model_summary",
            "false",
            *args.fit_args.split(),
        ],
        log,
        env,
    )
    rate = re.search(r"FrameRate: .* = ([0-9.]+) frames/s", text)
    warnings = len(re.findall(r"Representation collapse at step", text))
    weights = out / "model_weights.pth"
    run(
        ["jepa", "export", str(out / "run" / "checkpoints" / "last.ckpt"), "--out", str(weights)],
        log,
        env,
    )
    print(f"[{name}] trained in {seconds:.0f} s; probing", flush=True)
    probe_seconds, _ = run(
        [
            "jepa",
            "probe",
            "--ckpt",
            str(weights),
            "--data",
            args.eval,
            "--out",
            str(out / "probe"),
            "--plots",
            "false",
            "--progress",
            "false",
            "--sets",
            f"[{','.join(args.sets)}]",
            "--command",
            f"benchmarks/strategies.py ({name})",
        ],
        log,
        env,
    )
    report = json.loads((out / "probe" / "probe_results.json").read_text())
    stats = first_frame_stats(weights, Path(args.eval))
    result = {
        "name": name,
        "strategy": block,
        "mse": {s: report["sets"][s]["mse"] for s in SETS if s in report["sets"]},
        "param_count": report["param_count"],
        "train_seconds": round(seconds, 1),
        "frames_per_s": float(rate.group(1)) if rate else None,
        "probe_seconds": round(probe_seconds, 1),
        "collapse_warnings": warnings,
        "embedding": stats,
        "collapsed": warnings > 0 or stats["std"] < MIN_STD or stats["effective_rank"] < MIN_RANK,
        "steps": args.steps,
        "base": args.base,
        "fit_args": args.fit_args,
        "eval": args.eval,
    }
    atomic_write_text(result_file, json.dumps(result, indent=2))
    print(f"[{name}] {json.dumps(result['mse'])}", flush=True)
    return result


def table(results: list[dict]) -> str:
    lines = [
        "| strategy | normal | wall | wall_other | expert | params | train s | collapsed | emb. std | eff. rank |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for r in results:
        mse = [f"{r['mse'].get(s, float('nan')):.3f}" for s in SETS]
        lines.append(
            f"| {r['name']} | {' | '.join(mse)} | {r['param_count']:,} | {r['train_seconds']:.0f} | "
            f"{'yes' if r['collapsed'] else 'no'} | {r['embedding']['std']:.3f} | "
            f"{r['embedding']['effective_rank']:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--base", default="configs/best.yaml", help="the config every variant starts from"
    )
    parser.add_argument("--train", default="data/best", help="training data directory")
    parser.add_argument("--eval", default="data/best_eval", help="evaluation sets (probe_* splits)")
    parser.add_argument("--steps", type=int, default=3000, help="training steps of every variant")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/strategies", help="where the runs and results go")
    parser.add_argument("--only", default="", help="comma-separated variant names (default: all)")
    parser.add_argument(
        "--fit-args",
        default="",
        help="more `jepa fit` options for every variant, "
        "written with '=', e.g. --fit-args=--model.teacher_forcing=false",
    )
    parser.add_argument("--threads", type=int, default=None, help="OMP_NUM_THREADS of the runs")
    parser.add_argument(
        "--settings",
        default=None,
        help="a folder with <strategy>.yaml for each of the five strategies, whose "
        "model.strategy blocks replace those of configs/ (e.g. settings tuned for one model)",
    )
    parser.add_argument(
        "--sets",
        default=",".join(SETS),
        help="comma-separated probe sets (e.g. normal,wall,wall_other: the expert set of a wide "
        "code is the slowest to probe)",
    )
    args = parser.parse_args(argv)
    args.sets = [s for s in args.sets.split(",") if s]
    if not args.sets or set(args.sets) - set(SETS):
        parser.error(f"--sets: choose among {','.join(SETS)}")
    for field in ("train", "eval"):
        if not (Path(getattr(args, field)) / "dataset.json").exists():
            parser.error(
                f"--{field} {getattr(args, field)}: no dataset.json there; generate it first"
            )
    args.base = str(Path(args.base).resolve())
    try:
        everything = variants(Path(args.base), Path(args.settings) if args.settings else None)
    except (FileNotFoundError, KeyError, TypeError) as error:
        parser.error(f"--settings: {error}")
    chosen = [n for n in args.only.split(",") if n] or list(everything)
    unknown = sorted(set(chosen) - set(everything))
    if unknown:
        parser.error(f"--only: unknown variants {unknown}; choose among {list(everything)}")
    env = dict(os.environ)
    if args.threads:
        env["OMP_NUM_THREADS"] = str(args.threads)
    results = []
    for name in chosen:
        try:
            results.append(one_variant(name, everything[name], args, env))
        except RuntimeError as err:  # one broken variant does not lose the others
            print(f"[{name}] {err}", file=sys.stderr, flush=True)
    atomic_write_text(Path(args.out) / "strategies.json", json.dumps(results, indent=2))
    print()
    print(table(results))
    print(
        f"\npython benchmarks/strategies.py {' '.join(argv if argv is not None else sys.argv[1:])}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
