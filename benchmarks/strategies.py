"""Collapse-prevention strategies compared on one model, one data set and one budget.

Every variant trains the model of one base config (by default the compact model of
``configs/best.yaml``: encoder, predictor, teacher forcing, learning rate, batch, seed) for the
same number of steps on the same training set; only ``model.strategy`` changes. The five
strategies take the ``init_args`` of their shipped configs (``configs/<name>.yaml``), except the
base config's own strategy, which keeps the base's, and each runs once alone and once wrapped in
:class:`~jepa_world.strategies.InverseDynamics`. Each trained
model is exported and scored by ``jepa probe`` (the course protocol) on the evaluation sets.

A variant counts as collapsed when, after training, the encoder's embeddings of the first frames
of ``probe_normal/val`` have a mean per-dimension std below 0.01 or an effective rank below 1.5
(the ``CollapseMonitor``'s thresholds). The monitor's warnings during training are counted and
their steps recorded beside that flag: a run can dip below a threshold early on and recover, and
such a run is not a collapsed one.

Everything goes through the command line (``jepa fit``, ``jepa export``, ``jepa probe``), one
variant after another; a variant whose ``result.json`` exists is not run again, and a variant
whose training was interrupted resumes from its ``last.ckpt`` (``jepa fit --ckpt_path``), so a
comparison can be built over several sittings of a few hours each. At the end a markdown table
is printed and ``strategies.json`` written beside the runs.

``--patience N`` trains to convergence: training stops once the validation loss has not
improved for ``N`` validations in a row (Lightning's ``EarlyStopping``), or at ``--steps``,
whichever comes first, and the best checkpoint by validation loss is the one probed. Several
seeds (``--seed``, one ``--out`` each) are summarised by ``benchmarks/strategy_summary.py``::

    python benchmarks/strategies.py --train data/best --eval data/best_eval --steps 3000
    python benchmarks/strategies.py --only vicreg,sigreg+id   # a subset
    python benchmarks/strategies.py --base configs/vicreg.yaml --steps 600 --out runs/strategies_conv
    python benchmarks/strategies.py --base configs/generic.yaml --settings my_settings/ \
        --sets normal,wall,wall_other --steps 1500 --only vicreg+id,sigreg+id
    python benchmarks/strategies.py --base configs/generic.yaml --steps 12000 --patience 3 \
        --val-every 1000 --seed 1 --out runs/convergence/seed1

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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from jepa_world.callbacks import CollapseMonitor
from jepa_world.checkpoints import CheckpointError, read_checkpoint
from jepa_world.data.files import open_split
from jepa_world.io import atomic_write_text
from jepa_world.models import load_world_model
from jepa_world.module import embedding_stats, step_change

ROOT = Path(__file__).resolve().parents[1]
#: The strategies compared, each with the ``model.strategy`` block of ``configs/<name>.yaml``.
STRATEGIES = ("vicreg", "byol_ema", "variance", "contrastive", "sigreg")
INVERSE_DYNAMICS = {
    "class_path": "jepa_world.strategies.InverseDynamics",
    "init_args": {"weight": 1.0},
}
SETS = ("normal", "wall", "wall_other", "expert")
#: Judges the trained model's embeddings with its default thresholds.
MONITOR = CollapseMonitor()
#: Trajectories and frames of each on which the trained code's step change is measured.
STEP_CHANGE_WINDOWS = (256, 9)
#: Seconds between two updates of a variant's training clock (``train_clock.json``).
CLOCK_INTERVAL = 30.0
#: Leading normalised singular values of the first-frame embeddings kept in ``result.json``.
SPECTRUM_LENGTH = 256
#: What ``jepa fit`` names the best checkpoint (``checkpoint.filename`` of the CLI defaults).
BEST_CHECKPOINT = re.compile(r"best-epoch\d+-step(\d+)\.ckpt$")


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


def executable_command(cmd: list[str]) -> list[str]:
    """``cmd`` as it is run: ``jepa ...`` through this interpreter (``python -m jepa_world``).

    The log shows ``jepa ...``; running it as a module of the interpreter running this script
    finds the same installation whether or not its environment's scripts are on ``PATH``
    (``.venv/bin/python benchmarks/strategies.py`` without activating the environment).
    """
    return [sys.executable, "-m", "jepa_world", *cmd[1:]] if cmd[:1] == ["jepa"] else cmd


def run(
    cmd: list[str],
    log: Path,
    env: dict[str, str],
    clock: Path | None = None,
    report: Callable[[], None] | None = None,
) -> float:
    """Run ``cmd``, its output streamed into ``log`` (appended); return its seconds. Raises on failure.

    The output goes to ``log`` as it comes, so a run killed midway leaves what it printed (the
    collapse monitor's warnings, say). With ``clock``, the seconds spent so far are written
    there every :data:`CLOCK_INTERVAL` seconds (``{"done": ..., "running": ...}``, see
    :func:`seconds_so_far`), so the time of a run killed midway is not lost either. ``report``
    is called at the same interval (:class:`FitProgress` prints the training's progress).
    """
    done = seconds_so_far(clock) if clock is not None else 0.0
    tic = time.perf_counter()
    with log.open("a") as out:
        out.write(f"$ {' '.join(cmd)}\n")
        out.flush()
        proc = subprocess.Popen(
            executable_command(cmd), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        while True:
            try:
                proc.wait(timeout=CLOCK_INTERVAL)
                break
            except subprocess.TimeoutExpired:
                if clock is not None:
                    running = time.perf_counter() - tic
                    atomic_write_text(clock, json.dumps({"done": done, "running": running}))
                if report is not None:
                    report()
        out.write("\n")
    seconds = time.perf_counter() - tic
    finished = proc.returncode == 0
    if clock is not None:
        record = {"done": done + seconds, "running": 0.0, "finished": finished}
        atomic_write_text(clock, json.dumps(record))
    if not finished:
        raise RuntimeError(f"{cmd[0]} {cmd[1]} failed (exit {proc.returncode}); see {log}")
    return seconds


def checkpoint_step(path: Path) -> int | None:
    """The ``global_step`` saved in a checkpoint, or ``None`` if it cannot be read (yet)."""
    try:
        return int(read_checkpoint(path)["global_step"])
    except (CheckpointError, KeyError, TypeError, ValueError):
        return None


def progress_line(name: str, step: int, total: int, first_step: int, seconds: float) -> str:
    """``[name] step S of T, M min into this attempt; at most about L min to go at this pace``.

    The pace is this attempt's (steps since ``first_step``, where a resumed attempt began, over
    its ``seconds``); "at most" because early stopping may end the run before ``total``.
    """
    line = f"[{name}] step {step:,} of {total:,}, {seconds / 60:.0f} min into this attempt"
    if first_step < step < total:
        left = (total - step) * seconds / (step - first_step)
        line += f"; at most about {left / 60:.0f} min to go at this pace"
    return line


class FitProgress:
    """Prints a :func:`progress_line` each time ``last.ckpt`` is saved at a new step.

    ``jepa fit`` runs here without a progress bar (its output goes to ``log.txt``); its
    ``last.ckpt`` is rewritten at every validation, so a two-hour variant reports every
    ``--val-every`` steps. The file is read only when its modification time changes, and a
    line is printed only for a step not reported yet (``last.ckpt`` can be written more than
    once at the same step, e.g. by the best-model save and the last-model save of a validation).
    """

    def __init__(self, name: str, last: Path, total_steps: int) -> None:
        self.name, self.last, self.total = name, last, total_steps
        self.tic = time.perf_counter()
        self.first_step = checkpoint_step(last) or 0  # None: a fresh start
        self.seen = last.stat().st_mtime_ns if last.is_file() else None
        self.reported = self.first_step

    def __call__(self) -> None:
        seen = self.last.stat().st_mtime_ns if self.last.is_file() else None
        if seen is None or seen == self.seen:
            return
        step = checkpoint_step(self.last)
        if step is None:  # being replaced: read it at the next call
            return
        self.seen = seen
        if step == self.reported:
            return
        self.reported = step
        seconds = time.perf_counter() - self.tic
        print(progress_line(self.name, step, self.total, self.first_step, seconds), flush=True)


def read_clock(clock: Path) -> dict[str, Any]:
    """What :func:`run` recorded in ``clock`` (nothing yet: zero seconds, not finished)."""
    recorded = json.loads(clock.read_text()) if clock.is_file() else {}
    return {
        "done": float(recorded.get("done", 0.0)),
        "running": float(recorded.get("running", 0.0)),
        "finished": bool(recorded.get("finished", False)),
    }


def seconds_so_far(clock: Path) -> float:
    """Seconds recorded in ``clock`` by :func:`run`: finished runs plus an interrupted one."""
    recorded = read_clock(clock)
    return recorded["done"] + recorded["running"]


@torch.no_grad()
def first_frame_stats(weights: Path, eval_dir: Path, n: int = 1024) -> dict[str, Any]:
    """Embedding statistics of the encoder on ``n`` first frames of probe_normal/val.

    ``std``, ``std_min`` and ``effective_rank`` as logged during training, ``spectrum``: the
    leading :data:`SPECTRUM_LENGTH` singular values of the centred embeddings, normalised to sum
    to 1 over all of them (the distribution whose entropy gives the effective rank), and
    ``step_change`` (:func:`jepa_world.module.step_change`) on the first frames of the first
    trajectories (:data:`STEP_CHANGE_WINDOWS`): near 0 for a code of the layout only.
    """
    model = load_world_model(weights).eval()
    split = open_split(eval_dir / "probe_normal" / "val")
    frames = torch.from_numpy(np.ascontiguousarray(split.states[:n, 0]))  # float32, course scale
    z = model.encoder(frames).reshape(len(frames), -1).float()
    stats: dict[str, Any] = {k: float(v) for k, v in embedding_stats(z).items()}
    stats["spectrum"] = spectrum(z)
    count, length = STEP_CHANGE_WINDOWS
    windows = torch.from_numpy(np.ascontiguousarray(split.states[:count, :length]))
    codes = model.encoder(windows.flatten(0, 1)).reshape(*windows.shape[:2], -1)
    stats["step_change"] = float(step_change(codes))
    return stats


def spectrum(z: torch.Tensor, length: int = SPECTRUM_LENGTH) -> list[float]:
    """Leading singular values of ``z (N, D)`` centred, as fractions of their sum."""
    singular = torch.linalg.svdvals(z - z.mean(dim=0))
    total = float(singular.sum())
    if not total > 0:
        return [0.0] * min(length, len(singular))
    return [float(v) / total for v in singular[:length]]


def best_checkpoint(checkpoints: Path) -> tuple[Path, int] | None:
    """The best-by-validation-loss checkpoint ``jepa fit`` kept in ``checkpoints``, and its step."""
    found = [
        (int(m.group(1)), path)
        for path in checkpoints.glob("best-*.ckpt")
        if (m := BEST_CHECKPOINT.search(path.name))
    ]
    if not found:
        return None
    step, path = max(found)  # save_top_k is 1; the newest wins if older files were left over
    return path, step


def early_stopping_fragment(patience: int) -> dict[str, Any]:
    """``trainer.callbacks`` that stop training after ``patience`` validations without progress."""
    return {
        "trainer": {
            "callbacks": [
                {
                    "class_path": "lightning.pytorch.callbacks.EarlyStopping",
                    "init_args": {"monitor": "val/loss", "mode": "min", "patience": patience},
                }
            ]
        }
    }


def fit_command(
    args: argparse.Namespace, out: Path, fragments: list[Path], resume: Path | None
) -> list[str]:
    """The ``jepa fit`` command line of one variant (``resume``: the checkpoint to continue)."""
    configs = [part for fragment in fragments for part in ("--config", str(fragment))]
    return [
        "jepa",
        "fit",
        "--config",
        args.base,
        *configs,
        "--data.data_dir",
        args.train,
        "--trainer.max_steps",
        str(args.steps),
        "--seed_everything",
        str(args.seed),
        "--trainer.logger.init_args.save_dir",
        str(out.parent),
        "--trainer.logger.init_args.name",
        out.name,
        "--trainer.logger.init_args.version",
        "run",
        "--trainer.enable_progress_bar",
        "false",
        "--trainer.enable_model_summary",
        "false",
        *(["--trainer.val_check_interval", str(args.val_every)] if args.val_every else []),
        *args.fit_args.split(),
        *(["--ckpt_path", str(resume)] if resume is not None else []),
    ]


def one_variant(
    name: str, block: dict[str, Any], args: argparse.Namespace, env: dict[str, str]
) -> dict:
    out = Path(args.out).resolve() / name
    result_file = out / "result.json"
    if result_file.exists():
        return json.loads(result_file.read_text())
    out.mkdir(parents=True, exist_ok=True)
    log = out / "log.txt"
    checkpoints = out / "run" / "checkpoints"
    last = checkpoints / "last.ckpt"
    resume = last if last.is_file() else None
    clock = out / "train_clock.json"
    if resume is None:  # a fresh start: nothing of an earlier attempt counts
        log.write_text("")
        clock.unlink(missing_ok=True)
    fragments = [out / "strategy.yaml"]
    fragments[0].write_text(yaml.safe_dump({"model": {"strategy": block}}, sort_keys=False))
    if args.patience:
        fragments.append(out / "early_stopping.yaml")
        fragments[1].write_text(
            yaml.safe_dump(early_stopping_fragment(args.patience), sort_keys=False)
        )
    if resume is not None and read_clock(clock)["finished"]:
        print(f"[{name}] trained already ({last})", flush=True)
    else:
        what = f"resuming {resume}" if resume is not None else "training"
        print(f"[{name}] {what} (at most {args.steps} steps)", flush=True)
        progress = FitProgress(name, last, args.steps)
        run(fit_command(args, out, fragments, resume), log, env, clock=clock, report=progress)
    seconds = seconds_so_far(clock)
    rates = re.findall(r"FrameRate: .* = ([0-9.]+) frames/s", log.read_text())
    stopped_step = int(read_checkpoint(last)["global_step"])
    best = best_checkpoint(checkpoints)
    probed, probed_step = best if args.weights == "best" and best else (last, stopped_step)
    weights = out / "model_weights.pth"
    # This script wrote any earlier model_weights.pth here (an attempt stopped before probing).
    run(["jepa", "export", str(probed), "--out", str(weights), "--overwrite"], log, env)
    print(f"[{name}] trained in {seconds:.0f} s; probing", flush=True)
    probe_seconds = run(
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
            "--overwrite",  # a report there is this script's, from an attempt stopped midway
            "true",
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
        "frames_per_s": float(rates[-1]) if rates else None,
        "probe_seconds": round(probe_seconds, 1),
        "embedding": stats,
        **collapse_record(log.read_text(), stats),
        "steps": args.steps,
        "stopped_step": stopped_step,
        "early_stopped": stopped_step < args.steps,
        "best_step": best[1] if best else None,
        "probed": args.weights,
        "probed_step": probed_step,
        "patience": args.patience,
        "seed": args.seed,
        "resumed": log.read_text().count("--ckpt_path"),
        "base": args.base,
        "fit_args": args.fit_args,
        "eval": args.eval,
    }
    atomic_write_text(result_file, json.dumps(result, indent=2))
    print(f"[{name}] {json.dumps(result['mse'])}", flush=True)
    return result


def collapse_record(log_text: str, stats: dict) -> dict:
    """The collapse columns: the flag from the trained embeddings, the monitor's warnings beside.

    ``static`` (a code that does not change along the trajectories, ``None`` for records of
    before the step change was measured) counts as collapsed.
    """
    warned_at = [
        int(step) for step in re.findall(r"Representation collapse at step (\d+)", log_text)
    ]
    found = MONITOR.diagnose(stats)
    static = (
        None if stats.get("step_change") is None else found is not None and found[0] == "static"
    )
    return {
        "collapse_warnings": len(warned_at),
        "collapse_warning_steps": warned_at,
        "collapsed": found is not None,
        "static": static,
    }


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
    parser.add_argument("--seed", type=int, default=0, help="seed_everything of every variant")
    parser.add_argument(
        "--patience",
        type=int,
        default=0,
        help="stop a variant after this many validations without a lower val/loss "
        "(0: train all --steps)",
    )
    parser.add_argument(
        "--val-every",
        type=int,
        default=None,
        help="validate (and save last.ckpt) every this many steps (default: the base config's, "
        "which for configs/generic.yaml is once per epoch, ~10,000 steps: too rare for --patience)",
    )
    parser.add_argument(
        "--weights",
        choices=("last", "best"),
        default=None,
        help="which checkpoint is probed: the last, or the best by val/loss "
        "(default: best with --patience, else last)",
    )
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
    if args.patience < 0:
        parser.error(f"--patience must be >= 0, got {args.patience}")
    if args.val_every is not None and args.val_every < 1:
        parser.error(f"--val-every must be >= 1, got {args.val_every}")
    if args.weights is None:
        args.weights = "best" if args.patience else "last"
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
