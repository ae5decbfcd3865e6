"""Training throughput: the data pipeline, a bare PyTorch loop and ``jepa fit``, on the same work.

Usage:
    python benchmarks/throughput.py [--steps 12] [--warmup 3] [--repeats 2] [--small 1500]
                                    [--threads N] [--compare-logging] [--profile N] [--skip-memory]
                                    [--models default,compact] [--fit-args=...]

For the default model (``configs/vicreg.yaml``: the generic SpatialEncoder + SpatialPredictor,
VICReg + inverse dynamics) and the compact model (CoordinateEncoder + CoordinatePredictor, when
``jepa_world.models.coordinate`` imports; its own config if ``configs/`` has one, else the VICReg
config with the two classes swapped in), it prints training frames per second (``batch × window`` frames per step) of

- (a) the DataModule's training loader alone (the model-independent pipeline, measured once);
- (b) a bare PyTorch loop: the same module, loader, batch, AdamW parameter groups,
  learning-rate schedule, gradient clipping and strategy hook (EMA) as ``jepa fit``, and nothing
  else;
- (c) ``jepa fit`` itself, in-process through the project's CLI with the config's defaults
  (TensorBoard logging, progress bar, checkpointing, the project's callbacks);

and the ratios (c)/(b) (target >= 0.95) and (a)/(c) (target >= 3).

(b) and (c) run interleaved, step by step, in one process: one callback added to ``jepa fit``
runs one bare step (on its own copy of the module, with its own loader) after every ``jepa fit``
step. On a machine shared with other jobs, whose load changes from one minute to the next, this
is what makes the two comparable: each ``jepa fit`` step has a bare step beside it that saw the
same load. A ``jepa fit`` step is timed from the end of the bare step before it to its own end
(data, forward, backward, optimizer, Lightning's hooks, logging, progress bar), a bare step from
the end of that ``jepa fit`` step to its own end. A rate is ``frames per step / median step
time`` over ``--steps`` steps after ``--warmup``, so start-up, validation and the final
checkpoint are outside it. Each of ``--repeats`` runs gives a paired ratio (c)/(b); the table
shows their median, by wall clock and by CPU time of the process (all its threads; the loader
workers are other processes), and the best rates. Validation is switched off to save time: it
never falls inside the measured steps anyway.

Memory: ``jepa fit`` runs in a fresh process on two data sets, of ``--small`` and of
``4 × --small`` trajectories (uint8, T = 17), and a sampler reads ``/proc`` every 0.2 s. It
reports the peak resident memory of the training process, split into anonymous plus shared
memory (model, optimizer, activations, batches received from the workers) and file-backed
pages (libraries and the memory-mapped data it has touched), and the peak total of its loader
workers.

``--compare-logging`` adds a second interleaved run per repeat, (c') against (b), in which
``JEPAModule`` logs every loss term and the learning rate at every step instead of only on the
steps the loggers write, to show what that logging costs.
``--profile N`` runs (c) once more per model under cProfile, over the timed steps only, and
prints the N functions with the most cumulative time. ``--threads`` sets torch's CPU threads (on
a CPU shared with other jobs, one thread per process avoids OpenMP threads waiting on each
other).

Data sets are generated under ``--scratch`` (kept and reused by later runs). On a machine with
a CUDA GPU everything runs on ``cuda:0``; otherwise on CPU.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import math
import os
import platform
import pstats
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import torch
from lightning.pytorch.callbacks import Callback
from memory import MemorySampler  # benchmarks/memory.py, beside this script

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs"
DEFAULT_CONFIG = CONFIGS / "vicreg.yaml"
WINDOW = 17
#: Probe splits are not used here: one trajectory each keeps generation fast.
ONE_EACH = dict(
    probe_train_size=1,
    probe_val_size=1,
    wall_size=1,
    wall_other_size=1,
    expert_train_size=1,
    expert_val_size=1,
)
QUIET = ["--trainer.enable_model_summary", "false"]


@dataclass
class ModelSpec:
    """A model to benchmark: its config file and command-line overrides."""

    name: str
    config: Path
    overrides: list[str]


@dataclass
class Pair:
    """One interleaved run: frames per wall second and per CPU second of (b) and of (c)."""

    bare: tuple[float, float]
    fit: tuple[float, float]

    def ratio(self, column: int) -> float:
        return self.fit[column] / self.bare[column]


@dataclass
class Rates:
    """Every repeat of one model: (c) against (b), and (c') against (b) when compared."""

    pairs: list[Pair]
    every_step: list[Pair]
    params: int

    @staticmethod
    def best(pairs: list[Pair], which: str) -> float:
        return max(getattr(pair, which)[0] for pair in pairs)

    @staticmethod
    def ratio(pairs: list[Pair], column: int) -> float:
        """Median over repeats of the paired ratio: wall clock (column 0) or CPU time (1)."""
        return statistics.median(pair.ratio(column) for pair in pairs)


class Clock:
    """Wall-clock and CPU times (this process, all its threads) of moments in a run."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def tick(self) -> None:
        _sync(self.device)
        self.wall.append(time.perf_counter())
        self.cpu.append(time.process_time())


def median_rate(starts: list[float], ends: list[float], frames_per_step: int) -> float:
    """``frames_per_step / median(end - start)``."""
    return frames_per_step / statistics.median(b - a for a, b in zip(starts, ends, strict=True))


class StepClock(Callback):
    """Ticks ``clock`` at the end of every training step of a ``jepa fit`` run; then runs one
    step of ``bare`` (if any) and ticks ``bare_clock``; runs ``profiler`` (if any) over the steps
    after the first ``warmup``."""

    def __init__(
        self,
        clock: Clock,
        warmup: int = 0,
        profiler: cProfile.Profile | None = None,
        bare: BareLoop | None = None,
        bare_clock: Clock | None = None,
    ) -> None:
        self.clock, self.warmup, self.profiler = clock, warmup, profiler
        self.bare, self.bare_clock = bare, bare_clock

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:  # noqa: ANN001
        self.clock.tick()
        if self.bare is not None and self.bare_clock is not None:
            self.bare.step()
            self.bare_clock.tick()
        if self.profiler is not None and len(self.clock.wall) == self.warmup:
            self.profiler.enable()

    def on_train_end(self, trainer, pl_module) -> None:  # noqa: ANN001
        if self.profiler is not None:
            self.profiler.disable()


# ---------------------------------------------------------------------------------------------
# Set-up
# ---------------------------------------------------------------------------------------------


def model_specs() -> list[ModelSpec]:
    """The default model and, when it imports, the compact coordinate model."""
    specs = [ModelSpec("default (generic, vicreg.yaml)", DEFAULT_CONFIG, [])]
    try:
        import jepa_world.models.coordinate  # noqa: F401
    except ImportError as err:
        print(f"compact model skipped: jepa_world.models.coordinate does not import ({err})")
        return specs
    own = [p for p in sorted(CONFIGS.glob("*.yaml")) if "CoordinateEncoder" in p.read_text()]
    if own:
        specs.append(ModelSpec(f"compact (coordinate, {own[0].name})", own[0], []))
    else:
        swap = [
            "--model.encoder=jepa_world.models.coordinate.CoordinateEncoder",
            "--model.predictor=jepa_world.models.coordinate.CoordinatePredictor",
        ]
        specs.append(ModelSpec("compact (coordinate, vicreg.yaml)", DEFAULT_CONFIG, swap))
    return specs


def ensure_data(root: Path, train_size: int) -> Path:
    """A uint8 data set with ``train_size`` training trajectories (generated once, then reused)."""
    from jepa_world.data.generate import generate_dataset, load_manifest

    out = root / f"train{train_size}"
    if out.is_dir():
        found = load_manifest(out).get("sizes", {}).get("train_size")
        if found != train_size:
            raise SystemExit(
                f"{out}: holds {found} training trajectories, expected {train_size}; remove it"
            )
        return out
    started = time.perf_counter()
    generate_dataset(
        str(out), "tiny", train_size=train_size, dtype="uint8", progress=False, **ONE_EACH
    )
    print(f"generated {out} ({train_size} trajectories) in {time.perf_counter() - started:.0f} s")
    return out


def accelerator() -> tuple[torch.device, list[str]]:
    if torch.cuda.is_available():
        return torch.device("cuda:0"), ["--trainer.accelerator=gpu", "--trainer.devices=1"]
    return torch.device("cpu"), ["--trainer.accelerator=cpu", "--trainer.devices=1"]


def describe_machine(device: torch.device) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    text = (
        f"{cpu}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
        f"torch threads {torch.get_num_threads()}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}"
    )
    if device.type == "cuda":
        text += f", GPU {torch.cuda.get_device_name(device)}"
    return text


def _load() -> str:
    try:
        return "/".join(f"{x:.1f}" for x in os.getloadavg()) + " (1/5/15 min)"
    except OSError:
        return "unknown"


def common_args(spec: ModelSpec, data: Path, args: argparse.Namespace) -> list[str]:
    """What both (b) and (c) parse: the config, the data and the batch."""
    return [
        "--config",
        str(spec.config),
        *spec.overrides,
        "--data.data_dir",
        str(data),
        "--data.window",
        str(WINDOW),
        "--data.batch_size",
        str(args.batch_size),
        *(["--data.num_workers", str(args.num_workers)] if args.num_workers is not None else []),
        "--trainer.precision",
        args.precision,
    ]


def build(spec: ModelSpec, data: Path, args: argparse.Namespace):
    """The module and DataModule ``jepa fit`` would build from the same arguments (seeded)."""
    from jepa_world import cli
    from jepa_world.data.datamodule import TrajectoryDataModule
    from jepa_world.module import JEPAModule

    built = cli.JEPACLI(
        JEPAModule,
        TrajectoryDataModule,
        trainer_defaults=cli.TRAINER_DEFAULTS,
        save_config_callback=None,
        auto_configure_optimizers=False,
        run=False,
        args=common_args(spec, data, args),
    )
    return built.model, built.datamodule, float(built.trainer.gradient_clip_val or 0.0)


def endless(loader) -> Iterator[dict[str, torch.Tensor]]:
    while True:
        yield from loader


# ---------------------------------------------------------------------------------------------
# (a), (b), (c)
# ---------------------------------------------------------------------------------------------


def bench_pipeline(datamodule, warmup: int, steps: int) -> float:
    """(a) Frames/s of the training loader alone (its workers started during the warm-up)."""
    datamodule.prepare_data()
    datamodule.setup("fit")
    batches = endless(datamodule.train_dataloader())
    for _ in range(warmup):
        next(batches)
    frames = 0
    started = time.perf_counter()
    for _ in range(steps):
        batch = next(batches)
        frames += batch["states"].shape[0] * batch["states"].shape[1]
    return frames / (time.perf_counter() - started)


class BareLoop:
    """(b) The loop a user would write by hand for the training step of ``jepa fit``: the same
    module, loader, batch, AdamW parameter groups, learning-rate schedule, gradient clipping and
    strategy hook (EMA), and nothing else."""

    def __init__(
        self, module, datamodule, clip: float, device: torch.device, precision: str, total: int
    ) -> None:
        self.module = module.to(device).train()
        self.device, self.clip, self.total = device, clip, total
        datamodule.prepare_data()
        datamodule.setup("fit")
        self.optimizer, self.schedule = module.build_optimizer(total)
        self.autocast = _autocast(device, precision)
        self.loader = datamodule.train_dataloader()
        self.batches = endless(self.loader)
        self.steps = 0

    def close(self) -> None:
        """Let go of the loader: its persistent worker processes stop with its last reference
        (the data module's, which :func:`bench_pair` drops on return)."""
        self.batches.close()
        del self.batches, self.loader

    def step(self) -> None:
        batch = {k: v.to(self.device, non_blocking=True) for k, v in next(self.batches).items()}
        with self.autocast:
            out, _ = self.module.compute_loss(batch)
        self.optimizer.zero_grad(set_to_none=True)
        out.loss.backward()
        if self.clip > 0:
            torch.nn.utils.clip_grad_norm_(self.module.parameters(), self.clip)
        self.optimizer.step()
        self.schedule.step()
        self.steps += 1
        self.module.strategy.on_after_optimizer_step(
            self.module.world_model, self.steps, self.total
        )


def run_fit(
    spec: ModelSpec, data: Path, args: argparse.Namespace, device_args: list[str], clock: StepClock
) -> None:
    """``jepa fit`` for ``warmup + steps`` steps, built as :func:`jepa_world.cli.run_lightning`
    builds it, with ``clock`` added to its callbacks."""
    from jepa_world import cli
    from jepa_world.data.datamodule import TrajectoryDataModule
    from jepa_world.module import JEPAModule

    cli.JEPACLI(
        JEPAModule,
        TrajectoryDataModule,
        save_config_kwargs={"overwrite": True},
        trainer_defaults={**cli.TRAINER_DEFAULTS, "callbacks": [clock]},
        auto_configure_optimizers=False,
        args=[
            "fit",
            *common_args(spec, data, args),
            *device_args,
            *QUIET,
            "--trainer.max_steps",
            str(args.warmup + args.steps),
            "--trainer.limit_val_batches",
            "0",
            *shlex.split(args.fit_args),
        ],
    )


def bench_pair(
    spec: ModelSpec,
    data: Path,
    args: argparse.Namespace,
    device: torch.device,
    device_args: list[str],
) -> Pair:
    """(b) and (c) interleaved step by step: after each ``jepa fit`` step, one bare step.

    A ``jepa fit`` step is timed from the end of the previous bare step to its own end, a bare
    step from the end of the ``jepa fit`` step before it to its own end, so every moment of the
    run belongs to exactly one of them and the two see the same load from other jobs.
    """
    module, datamodule, clip = build(spec, data, args)
    bare = BareLoop(module, datamodule, clip, device, args.precision, args.warmup + args.steps)
    fit_clock, bare_clock = Clock(device), Clock(device)
    try:
        run_fit(
            spec, data, args, device_args, StepClock(fit_clock, bare=bare, bare_clock=bare_clock)
        )
    finally:
        bare.close()
        gc.collect()  # the finished trainer's loader workers go with it
    frames = args.batch_size * WINDOW
    w = args.warmup
    rates = []
    for fit_ends, bare_ends in ((fit_clock.wall, bare_clock.wall), (fit_clock.cpu, bare_clock.cpu)):
        fit_rate = median_rate(bare_ends[w - 1 : -1], fit_ends[w:], frames)
        bare_rate = median_rate(fit_ends[w:], bare_ends[w:], frames)
        rates.append((bare_rate, fit_rate))
    return Pair(bare=(rates[0][0], rates[1][0]), fit=(rates[0][1], rates[1][1]))


def _autocast(device: torch.device, precision: str):
    if precision.startswith("bf16"):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    if precision.startswith("16"):
        return torch.autocast(device.type, dtype=torch.float16)
    return nullcontext()


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench_model(
    spec: ModelSpec,
    data: Path,
    args: argparse.Namespace,
    device: torch.device,
    device_args: list[str],
) -> Rates:
    rates = Rates([], [], 0)
    for _ in range(args.repeats):
        rates.pairs.append(bench_pair(spec, data, args, device, device_args))
        line = (
            f"bare {rates.pairs[-1].bare[0]:,.0f}, jepa fit {rates.pairs[-1].fit[0]:,.0f} frames/s"
        )
        line += f" (per CPU second {rates.pairs[-1].bare[1]:,.0f}, {rates.pairs[-1].fit[1]:,.0f})"
        if args.compare_logging:
            with every_term_logged_every_step():
                rates.every_step.append(bench_pair(spec, data, args, device, device_args))
            pair = rates.every_step[-1]
            line += (
                f"; with every term logged every step: bare {pair.bare[0]:,.0f}, jepa fit "
                f"{pair.fit[0]:,.0f} (per CPU second {pair.bare[1]:,.0f}, {pair.fit[1]:,.0f})"
            )
        print(f"  {spec.name}: {line}", flush=True)
    module, _, _ = build(spec, data, args)
    rates.params = sum(p.numel() for p in module.world_model.parameters() if p.requires_grad)
    return rates


@contextmanager
def every_term_logged_every_step() -> Iterator[None]:
    """``JEPAModule`` logging its loss terms and learning rate at every step, for comparison
    (it logs them only on the steps its loggers write)."""
    from jepa_world.module import JEPAModule

    original = JEPAModule.log_terms_every_step
    JEPAModule.log_terms_every_step = True
    try:
        yield
    finally:
        JEPAModule.log_terms_every_step = original


# ---------------------------------------------------------------------------------------------
# Memory
# ---------------------------------------------------------------------------------------------


def measure_memory(
    spec: ModelSpec, data: Path, args: argparse.Namespace, device_args: list[str], scratch: Path
) -> dict[str, int]:
    """Run ``jepa fit`` for ``--memory-steps`` steps in a fresh process; peak memory in kB."""
    command = [
        sys.executable,
        "-m",
        "jepa_world.cli",
        "fit",
        *common_args(spec, data, args),
        *device_args,
        *QUIET,
        "--trainer.max_steps",
        str(args.memory_steps),
        "--trainer.limit_val_batches",
        "0",
        "--trainer.enable_progress_bar",
        "false",
    ]
    with open(scratch / f"memory_{data.name}.log", "w") as log:
        process = subprocess.Popen(command, cwd=scratch, stdout=log, stderr=subprocess.STDOUT)
        with MemorySampler(process.pid) as sampler:
            code = process.wait()
    if code != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({code}); see {log.name}")
    return sampler.peak


def bytes_on_disk(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*.npy"))


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=12, help="timed steps per measurement")
    parser.add_argument("--warmup", type=int, default=3, help="steps before the timing starts")
    parser.add_argument(
        "--repeats", type=int, default=2, help="interleaved runs per model (0: memory only)"
    )
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--num-workers", type=int, default=None, help="default: the config's")
    parser.add_argument("--precision", default="32-true", help="as --trainer.precision")
    parser.add_argument(
        "--small", type=int, default=1500, help="trajectories of the smaller data set"
    )
    parser.add_argument("--memory-steps", type=int, default=10, help="steps of each memory run")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (default: torch's)"
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="profile jepa fit's timed steps (cProfile) and print the top N functions",
    )
    parser.add_argument(
        "--models", default="default,compact", help="comma-separated: default, compact"
    )
    parser.add_argument(
        "--fit-args",
        default="",
        help="extra `jepa fit` options for (c), written "
        "with '=', e.g. --fit-args=--trainer.enable_progress_bar=false",
    )
    parser.add_argument(
        "--compare-logging",
        action="store_true",
        help="also time jepa fit with every loss term logged at every step",
    )
    parser.add_argument(
        "--scratch", default="/tmp/jepa_throughput", help="data sets and run output"
    )
    args = parser.parse_args(argv)
    needed = math.ceil((args.warmup + args.steps) * args.batch_size / 0.9)
    if args.small < needed:
        parser.error(
            f"--small {args.small}: one epoch must hold the measured steps; use >= {needed}"
        )

    if args.threads is not None:
        torch.set_num_threads(args.threads)
        os.environ["OMP_NUM_THREADS"] = str(args.threads)  # for the memory runs' processes
    scratch = Path(args.scratch).resolve()
    scratch.mkdir(parents=True, exist_ok=True)
    os.chdir(scratch)  # `runs/` of the in-process `jepa fit` goes here, not into the repository
    device, device_args = accelerator()
    print(f"machine: {describe_machine(device)}; load average {_load()}")
    small, large = ensure_data(scratch, args.small), ensure_data(scratch, 4 * args.small)
    wanted = {name.strip() for name in args.models.split(",")}
    specs = [spec for spec in model_specs() if spec.name.split()[0] in wanted]
    if not specs:
        parser.error(f"--models {args.models}: expected some of default, compact")

    _, datamodule, _ = build(specs[0], large, args)
    workers = datamodule.num_workers
    pipeline = bench_pipeline(datamodule, args.warmup, args.steps * 3) if args.repeats else math.nan
    del datamodule
    if args.repeats:
        print(f"  (a) data pipeline: {pipeline:,.0f} frames/s (num_workers={workers})", flush=True)
    results = [
        (spec, bench_model(spec, large, args, device, device_args))
        for spec in specs
        if args.repeats
    ]

    for spec in specs if args.profile else []:
        profiler = cProfile.Profile()
        run_fit(spec, large, args, device_args, StepClock(Clock(device), args.warmup, profiler))
        print(f"\ncProfile of `jepa fit`, {spec.name}, {args.steps} steps, by cumulative time:")
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(args.profile)

    memory: list[tuple[Path, dict[str, int]]] = []
    if not args.skip_memory:
        for data in (small, large):
            memory.append((data, measure_memory(specs[0], data, args, device_args, scratch)))

    print()
    print(
        f"python benchmarks/throughput.py {' '.join(argv if argv is not None else sys.argv[1:])}".rstrip()
    )
    print(
        f"machine: {describe_machine(device)}; device {device}; precision {args.precision}; "
        f"load average at the end {_load()}"
    )
    print(
        f"batch {args.batch_size} x window {WINDOW} = {args.batch_size * WINDOW} frames/step; "
        f"median of {args.steps} timed steps after {args.warmup}; {args.repeats} repeats; "
        f"num_workers={workers}; data {large.name} (uint8)"
    )
    print()
    if results:
        extra = args.compare_logging
        print(
            "| model | trainable params | (a) data frames/s | (b) bare loop frames/s | (c) jepa fit frames/s | "
            "(c)/(b) | (c)/(b), CPU time | (a)/(c) |"
            + (" (c')/(b), every term logged every step | (c')/(b), CPU time |" if extra else "")
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|" + ("---:|---:|" if extra else ""))
        for spec, rates in results:
            fit = Rates.best(rates.pairs, "fit")
            row = (
                f"| {spec.name} | {rates.params:,} | {pipeline:,.0f} | {Rates.best(rates.pairs, 'bare'):,.0f} | "
                f"{fit:,.0f} | {Rates.ratio(rates.pairs, 0):.3f} | {Rates.ratio(rates.pairs, 1):.3f} | "
                f"{pipeline / fit:.1f} |"
            )
            if extra:
                row += f" {Rates.ratio(rates.every_step, 0):.3f} | {Rates.ratio(rates.every_step, 1):.3f} |"
            print(row)
    if memory:
        print()
        print(f"`jepa fit`, {specs[0].name}, {args.memory_steps} steps; peak resident memory:")
        print()
        print(
            "| train trajectories | on disk | training process, anonymous + shared | "
            "training process, file-backed | loader workers, anonymous + shared | "
            "loader workers, file-backed |"
        )
        print("|---:|---:|---:|---:|---:|---:|")
        for data, peak in memory:
            print(
                f"| {data.name.removeprefix('train')} | {bytes_on_disk(data) / 1e9:.2f} GB | "
                + " | ".join(
                    f"{peak[k] / 1024:,.0f} MB"
                    for k in ("anon", "file", "workers_anon", "workers_file")
                )
                + " |"
            )


if __name__ == "__main__":
    main()
