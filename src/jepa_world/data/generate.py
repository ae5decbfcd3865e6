"""Generate a full two-rooms data set on disk, streaming chunk by chunk.

Every split is written straight into ``.npy`` memory maps, a chunk of trajectories at a time,
so memory use stays at one chunk whatever the size (the ``course`` preset is 84.5 GB as
float32). Everything goes into a hidden temporary directory beside the target, renamed into
place only when every split and the ``dataset.json`` manifest are complete: an interrupted run
leaves no directory that looks like a data set.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from jepa_world.data.files import (
    SPLIT_FORMAT,
    SPLIT_FORMAT_VERSION,
    SPLIT_META,
    STORAGE_DTYPES,
    DataError,
    storage_scale,
    to_units,
)
from jepa_world.data.presets import (
    PRESETS,
    Preset,
    SplitPlan,
    check_size,
    estimate_bytes,
    plan_splits,
)
from jepa_world.env.geometry import IMAGE_SIZE, parse_wall_range
from jepa_world.env.probe_trajectories import expert_trajectories, wall_run_trajectories
from jepa_world.env.render import render
from jepa_world.env.trajectories import Trajectories, check_probability, random_trajectories
from jepa_world.io import atomic_path

MANIFEST = "dataset.json"
DATASET_FORMAT = "jepa-world dataset"
DATASET_FORMAT_VERSION = 1


def load_manifest(data_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Read ``dataset.json`` of a generated data set.

    Raises:
        DataError: the manifest is missing or unreadable.
    """
    path = Path(data_dir) / MANIFEST
    if not path.is_file():
        raise DataError(f"{path}: file not found; expected the manifest of a generated data set")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise DataError(f"{path}: not valid JSON ({err}); expected the data set manifest") from None


def store_frames(frames: np.ndarray, out: np.ndarray, scale: float) -> None:
    """Write float32 course-scale ``frames`` into ``out`` (stored dtype), clobbering ``frames``.

    Converting during the assignment avoids a second full-size buffer per chunk. float16 goes
    through torch, whose conversion is vectorised (about 4x numpy's here, same bits).
    """
    if out.dtype == np.uint8:
        out[...] = to_units(frames, scale)
    elif out.dtype == np.float16:
        import torch

        torch.from_numpy(out).copy_(torch.from_numpy(frames))
    else:
        out[...] = frames


def _progress(total: int, enabled: bool, desc: str) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="frame", unit_scale=True, disable=not enabled, desc=desc)


def _write_split(
    root: Path,
    plan: SplitPlan,
    sampler: Callable[[np.random.Generator, int], Trajectories],
    seed: int,
    split_index: int,
    dtype: str,
    scale: float,
    chunk_frames: int,
    bar: Any,
) -> None:
    directory = root / plan.name
    directory.mkdir(parents=True)
    shapes = plan.shapes()
    dtypes = {"states": dtype, "actions": "float32", "layouts": "int64", "locations": "float32"}
    paths = {name: directory / f"{name}.npy" for name in shapes}
    for name, shape in shapes.items():  # write the headers and size the files
        np.lib.format.open_memmap(paths[name], "w+", np.dtype(dtypes[name]), tuple(shape)).flush()
    per_chunk = max(1, chunk_frames // plan.steps)
    scratch: np.ndarray | None = None
    for chunk, begin in enumerate(range(0, plan.size, per_chunk)):
        end = min(begin + per_chunk, plan.size)
        # One generator per (seed, split, chunk): a split does not depend on the others' sizes.
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(split_index, chunk)))
        traj = sampler(rng, end - begin)
        # Mapping the files afresh and flushing for each chunk keeps only one chunk's pages in
        # this process and bounds the unwritten data, whatever the split's size.
        maps = {name: np.load(path, mmap_mode="r+") for name, path in paths.items()}
        if dtype == "float32":
            render(traj.locations, traj.wall_x, traj.door_y, out=maps["states"][begin:end])
        else:
            shape = (end - begin, plan.steps, 2, IMAGE_SIZE, IMAGE_SIZE)
            if scratch is None or scratch.shape[0] < shape[0]:
                scratch = np.empty(shape, dtype=np.float32)
            frames = render(traj.locations, traj.wall_x, traj.door_y, out=scratch[: shape[0]])
            store_frames(frames, maps["states"][begin:end], scale)
        maps["actions"][begin:end] = traj.actions
        maps["layouts"][begin:end] = traj.layouts
        if "locations" in maps:
            maps["locations"][begin:end] = traj.locations
        for array in maps.values():
            array.flush()
        del maps
        bar.update((end - begin) * plan.steps)
    meta = {
        "format": SPLIT_FORMAT,
        "format_version": SPLIT_FORMAT_VERSION,
        "split": plan.name,
        "kind": plan.kind,
        "storage_dtype": dtype,
        "scale": scale,
        "size": plan.size,
        "steps": plan.steps,
        "exclude_wall": list(plan.exclude_wall) if plan.exclude_wall else None,
        "only_wall": list(plan.only_wall) if plan.only_wall else None,
    }
    (directory / SPLIT_META).write_text(json.dumps(meta, indent=2) + "\n")


def generate_dataset(
    out: str,
    preset: str = "quickstart",
    seed: int = 0,
    train_size: int | None = None,
    probe_train_size: int | None = None,
    probe_val_size: int | None = None,
    wall_size: int | None = None,
    wall_other_size: int | None = None,
    expert_train_size: int | None = None,
    expert_val_size: int | None = None,
    steps: int = 17,
    expert_steps: int = 65,
    cross_wall_rate: float = 0.1,
    exclude_wall: str | tuple[int, int] | None = "40-44",
    dtype: str | None = None,
    kappa: float = 5.0,
    step_mean: float = 1.0,
    step_sd: float = 0.4,
    step_min: float = 0.2,
    step_max: float = 1.8,
    door_sd: float = 1.4,
    door_edge_rate: float = 0.0,
    wall_door_fraction: float = 0.25,
    wall_min_distance: float = 2.0,
    wall_max_distance: float = 15.0,
    expert_speed: float = 0.9,
    expert_box_half_width: float = 3.0,
    expert_lane_half_height: float = 2.0,
    chunk_frames: int = 4096,
    overwrite: bool = False,
    progress: bool = True,
) -> Path:
    """Generate every split of a two-rooms data set into the directory ``out``.

    Args:
        out: Directory to create (for example data/quickstart). Refused if it exists, unless
            overwrite is set.
        preset: Sizes and storage dtype to start from: tiny (seconds, for tests), quickstart
            (a few minutes of CPU training, about 1.8 GB) or course (the course sizes).
        seed: Seed of every random draw; the same seed and settings give the same files.
        train_size: Trajectories in train/ (default: from the preset).
        probe_train_size: Trajectories in probe_normal/train (default: from the preset).
        probe_val_size: Trajectories in probe_normal/val (default: from the preset).
        wall_size: Trajectories in probe_wall/val (default: from the preset).
        wall_other_size: Trajectories in probe_wall_other/val (default: from the preset).
        expert_train_size: Trajectories in probe_expert/train (default: from the preset).
        expert_val_size: Trajectories in probe_expert/val (default: from the preset).
        steps: Frames per trajectory in the random and wall-run splits (course: 17).
        expert_steps: Frames per expert trajectory (not published; 65 lets most paths cross).
        cross_wall_rate: Fraction of random trajectories built to pass through the door.
        exclude_wall: Wall columns kept out of training and used by probe_wall_other, as
            LOW-HIGH (for example 30-34), or none.
        dtype: How states are stored: float32 (course format), float16 or uint8 (a quarter of
            the disk; read back as float32). Default: from the preset.
        kappa: Von Mises concentration of the heading change per step.
        step_mean: Mean step length of random walks, before truncation.
        step_sd: Standard deviation of the step length, before truncation.
        step_min: Shortest step of a random walk.
        step_max: Longest step of a random walk.
        door_sd: Spread (px) of a cross-wall trajectory's door point around the door centre.
        door_edge_rate: Fraction of train/ trajectories (never of a probe set) that start
            beside the door, just beyond its edge, and walk into the wall: extra examples of
            blocking where the course data has few. 0 keeps the course distribution; 0.33 cut
            the generic model's imagined walks through the wall there from 57 % to 7 % of
            pushes (docs/planning.md).
        wall_door_fraction: Fraction of probe_wall runs whose row lies in the door band.
        wall_min_distance: Closest probe_wall start to the wall centre, px.
        wall_max_distance: Farthest probe_wall start from the wall centre, px.
        expert_speed: Expert step length, px.
        expert_box_half_width: Half width of the expert's crossing box around the wall, px.
        expert_lane_half_height: Expert crossing rows are uniform within door_y +- this, px.
        chunk_frames: Frames rendered per chunk; bounds memory (about 34 kB per frame).
        overwrite: Replace an existing directory at out.
        progress: Show a progress bar.

    Returns:
        The path of the finished data set.
    """
    if preset not in PRESETS:
        raise ValueError(f"preset: expected one of {', '.join(PRESETS)}, got {preset!r}")
    base = PRESETS[preset]
    sizes = {
        "train_size": train_size,
        "probe_train_size": probe_train_size,
        "probe_val_size": probe_val_size,
        "wall_size": wall_size,
        "wall_other_size": wall_other_size,
        "expert_train_size": expert_train_size,
        "expert_val_size": expert_val_size,
    }
    resolved = {k: check_size(k, getattr(base, k) if v is None else v) for k, v in sizes.items()}
    dtype = base.dtype if dtype is None else dtype
    if dtype not in STORAGE_DTYPES:
        raise ValueError(f"dtype: expected one of {', '.join(STORAGE_DTYPES)}, got {dtype!r}")
    check_size("steps", steps, 2)
    check_probability("cross_wall_rate", cross_wall_rate)
    check_probability("door_edge_rate", door_edge_rate)
    check_size("expert_steps", expert_steps, 2)
    check_size("chunk_frames", chunk_frames)
    excluded = parse_wall_range(exclude_wall)
    plans = plan_splits(
        Preset(**resolved, dtype=dtype, about=base.about), steps, expert_steps, excluded
    )
    scale = storage_scale(dtype)

    target = Path(out)
    if target.exists() and not overwrite:
        raise FileExistsError(
            f"{target}: already exists; expected a new directory (pass overwrite=True, "
            "--overwrite true on the command line, to replace it)"
        )
    needed = estimate_bytes(plans, dtype)
    parent = target.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(parent).free
    if needed > free:
        raise OSError(
            f"{target}: needs about {needed / 1e9:.1f} GB as {dtype}, but {parent} has "
            f"{free / 1e9:.1f} GB free; try dtype uint8 (a quarter of float32) or smaller sizes"
        )

    walk = dict(
        kappa=kappa, step_mean=step_mean, step_sd=step_sd, step_min=step_min, step_max=step_max
    )
    generator = {
        "steps": steps,
        "expert_steps": expert_steps,
        "cross_wall_rate": cross_wall_rate,
        "exclude_wall": list(excluded) if excluded else None,
        "dtype": dtype,
        "scale": scale,
        **walk,
        "door_sd": door_sd,
        "door_edge_rate": door_edge_rate,
        "wall_door_fraction": wall_door_fraction,
        "wall_min_distance": wall_min_distance,
        "wall_max_distance": wall_max_distance,
        "expert_speed": expert_speed,
        "expert_box_half_width": expert_box_half_width,
        "expert_lane_half_height": expert_lane_half_height,
        "chunk_frames": chunk_frames,
    }

    def sampler_for(plan: SplitPlan) -> Callable[[np.random.Generator, int], Trajectories]:
        where = dict(exclude_wall=plan.exclude_wall, only_wall=plan.only_wall)
        if plan.kind == "random":
            return lambda rng, n: random_trajectories(
                rng,
                n,
                plan.steps,
                cross_wall_rate=cross_wall_rate,
                door_sd=door_sd,
                door_edge_rate=door_edge_rate if plan.name == "train" else 0.0,
                **walk,
                **where,
            )
        if plan.kind == "wall_run":
            return lambda rng, n: wall_run_trajectories(
                rng,
                n,
                plan.steps,
                door_fraction=wall_door_fraction,
                min_distance=wall_min_distance,
                max_distance=wall_max_distance,
                **where,
            )
        return lambda rng, n: expert_trajectories(
            rng,
            n,
            plan.steps,
            speed=expert_speed,
            box_half_width=expert_box_half_width,
            lane_half_height=expert_lane_half_height,
            min_step=step_min,
            **where,
        )

    started = time.perf_counter()
    total_frames = sum(p.size * p.steps for p in plans)
    with atomic_path(target, overwrite=overwrite) as tmp:
        tmp.mkdir()
        with _progress(total_frames, progress, f"generating {target.name}") as bar:
            for index, plan in enumerate(plans):
                bar.set_postfix_str(plan.name)
                _write_split(
                    tmp, plan, sampler_for(plan), seed, index, dtype, scale, chunk_frames, bar
                )
        from jepa_world import __version__

        manifest = {
            "format": DATASET_FORMAT,
            "format_version": DATASET_FORMAT_VERSION,
            "jepa_world_version": __version__,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "preset": preset,
            "seed": seed,
            "sizes": resolved,
            "generator": generator,
            "splits": {
                p.name: {
                    "kind": p.kind,
                    "size": p.size,
                    "steps": p.steps,
                    "exclude_wall": list(p.exclude_wall) if p.exclude_wall else None,
                    "only_wall": list(p.only_wall) if p.only_wall else None,
                    "shapes": p.shapes(),
                }
                for p in plans
            },
            "frames": total_frames,
            "bytes": estimate_bytes(plans, dtype),
            "seconds": round(time.perf_counter() - started, 2),
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return target
