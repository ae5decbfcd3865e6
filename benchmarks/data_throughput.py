"""Data throughput: generation frames/s per storage dtype and DataModule windows/s per worker count.

Usage:
    python benchmarks/data_throughput.py [--train-size 4000] [--batches 60] [--scratch /tmp]

Generation writes a train/ split of ``--train-size`` trajectories (T = 17; the probe splits are
one trajectory each) to a scratch directory, once per dtype, and reports frames/s and bytes.
The DataModule part reads windows of 17 frames, batch 64, from the uint8 set, after one
warm-up pass so the page cache holds the files, with 0 and 2 workers (best of three passes).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

from jepa_world.data.datamodule import TrajectoryDataModule
from jepa_world.data.generate import generate_dataset

ONE = dict(
    probe_train_size=1,
    probe_val_size=1,
    wall_size=1,
    wall_other_size=1,
    expert_train_size=1,
    expert_val_size=1,
)


def directory_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def bench_generation(root: Path, train_size: int, dtype: str) -> tuple[float, int, int]:
    out = root / f"gen_{dtype}"
    started = time.perf_counter()
    generate_dataset(str(out), "tiny", train_size=train_size, dtype=dtype, progress=False, **ONE)
    seconds = time.perf_counter() - started
    frames = train_size * 17 + 5 * 17 + 2 * 65
    return frames / seconds, frames, directory_bytes(out)


def bench_loader(data: Path, workers: int, batches: int, batch_size: int) -> float:
    dm = TrajectoryDataModule(str(data), batch_size=batch_size, num_workers=workers, val_fraction=0)
    dm.setup("fit")
    loader = dm.train_dataloader()
    for _, _ in zip(range(batches), loader, strict=False):  # warm-up: workers and page cache
        pass
    rates = []
    for _ in range(3):  # best of three: the machine may be shared
        started = time.perf_counter()
        seen = 0
        for _, batch in zip(range(batches), loader, strict=False):
            seen += batch["states"].shape[0]
        rates.append(seen / (time.perf_counter() - started))
    return max(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-size", type=int, default=4000)
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--scratch", default=tempfile.gettempdir())
    args = parser.parse_args()

    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}"
    )
    root = Path(tempfile.mkdtemp(prefix="jepa_bench_", dir=args.scratch))
    try:
        print(f"generation, train_size={args.train_size} (T=17):")
        for dtype in ("float32", "float16", "uint8"):
            rate, frames, size = bench_generation(root, args.train_size, dtype)
            print(f"  {dtype:8s} {rate:10,.0f} frames/s  ({frames:,} frames, {size / 1e9:.2f} GB)")
        print(f"DataModule, window 17, batch {args.batch_size}, uint8 storage:")
        for workers in (0, 2):
            rate = bench_loader(root / "gen_uint8", workers, args.batches, args.batch_size)
            print(f"  num_workers={workers}  {rate:10,.0f} windows/s")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
