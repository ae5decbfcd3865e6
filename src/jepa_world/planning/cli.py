"""``jepa plan``: goal-reaching episodes with a world model, scored against a floor and a ceiling.

Example::

    jepa plan --ckpt model_weights.pth --episodes 200 --layouts unseen --planner mppi --seed 0 --out plans/

Runs the same episodes three times: with the model (the row that matters), with random actions
(the floor) and with the simulator itself as the model under the same planner (the ceiling),
then prints success rates with 95 % Wilson intervals, the mean final distance, the steps to the
goal and the time per episode. Planners are chosen by short name (``mppi``, ``cem``,
``gradient``) or class path and configured like any class in this project
(``--planner.samples 256``, or ``--config configs/planning/mppi.yaml``).
"""

from __future__ import annotations

import json
import platform
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from jsonargparse import ArgumentParser, lazy_instance
from torch import nn

from jepa_world.devices import describe_device, resolve_device
from jepa_world.planning import PLANNERS
from jepa_world.planning.base import CostMode, Planner
from jepa_world.planning.distance import DistanceMode, resolve_distance
from jepa_world.planning.episodes import (
    EpisodeRecord,
    Episodes,
    sample_episodes,
    save_episodes,
)
from jepa_world.planning.mpc import (
    MPCSettings,
    check_world_model,
    frozen_for_planning,
    plan_episodes,
    record,
)
from jepa_world.planning.mppi import MPPI
from jepa_world.planning.reference import RandomActions, simulator_model
from jepa_world.planning.report import (
    ProgressLines,
    format_table,
    plot_episodes,
    plot_success_curves,
    save_figure,
)

#: Short names of ``--planner``.
PLANNER_NAMES: dict[str, str] = PLANNERS

#: Files ``--out`` may write (and, with ``--overwrite``, replace); nothing else is touched.
RESULT_FILES: tuple[str, ...] = tuple(
    f"{row}.{ext}" for row in ("model", "random", "simulator") for ext in ("npz", "json")
) + ("summary.json", "episodes.png", "success_curve.png")


#: The default ``--planner``: MPPI with its own defaults (the benchmark settings).
DEFAULT_PLANNER = lazy_instance(MPPI)


def load_world_model_file(
    path: str, trust_modules: str | None = None, trust_pickle: bool = False
) -> nn.Module:
    """The world model in a ``.ckpt`` or ``model_weights.pth`` (the one place planning loads files).

    The file is untrusted input (:mod:`jepa_world.checkpoints`): it is read without running code
    and may only build classes of jepa_world and of ``trust_modules``.
    """
    from jepa_world.checkpoints import PICKLE_OPT_IN, load_model

    return load_model(
        path, trust_modules=trust_modules, trust_pickle=trust_pickle, opt_in=PICKLE_OPT_IN
    )


def plan_command(
    ckpt: str,
    episodes: int = 200,
    layouts: Literal["seen", "unseen"] = "seen",
    planner: Planner = DEFAULT_PLANNER,
    cost: CostMode = "last",
    distance: DistanceMode = "auto",
    replan_every: int = 5,
    plan_norm: float | None = 1.8,
    seed: int = 0,
    out: str | None = None,
    overwrite: bool = False,
    references: bool = True,
    batch_size: int | None = None,
    candidate_chunk: int | None = None,
    figure_episodes: int = 6,
    trust_modules: str | None = None,
    trust_pickle: bool = False,
    progress: bool = True,
    device: str = "auto",
) -> dict[str, dict[str, Any]]:
    """Plan ``episodes`` goal-reaching episodes with the world model in ``ckpt``; print and save.

    Args:
        ckpt: A Lightning ``.ckpt`` from ``jepa fit`` or a ``model_weights.pth`` from ``jepa export``.
        episodes: Number of episodes (start and goal in opposite rooms, 200 steps each).
        layouts: ``seen``: walls from the training range; ``unseen``: walls from the excluded
            range (the ``probe_wall_other`` columns).
        planner: ``mppi``, ``cem``, ``gradient`` or a class path of a Planner subclass.
        cost: Distances combined over the horizon: ``last`` (the final one), ``weighted`` (final
            + 0.1 x mean), ``sum``.
        distance: How far an imagined representation is from the goal's: ``plain``
            (Euclidean), ``pyramid`` (Euclidean on the code's feature maps blurred at several
            scales, so it keeps growing with the distance between positions where the plain
            one saturates), ``auto``: ``pyramid`` when the encoder's code is feature maps.
        replan_every: Actions executed between two plans (receding horizon).
        plan_norm: Largest action norm the planner proposes (executed actions are always
            clipped to 2.45 px); ``null`` for 2.45.
        seed: Seeds the episodes and the planner.
        out: Directory for the episode files, summary and pictures (refused if it already holds
            files, unless ``overwrite``).
        overwrite: Allow ``out`` to hold files already; only this command's own files are replaced.
        references: Also run the random floor and the simulator ceiling on the same episodes.
        batch_size: Episodes planned together (``null``: all).
        candidate_chunk: Most candidates (episodes x samples) imagined in one predictor call
            (``null``: automatic, on a CPU as many as fit 16 MiB of codes, on a GPU all; ``0``:
            all). Changes the time; the costs are the same up to floating-point rounding.
        figure_episodes: Episodes drawn in ``episodes.png`` (executed path, and the first plan as
            the model imagined it, decoded by a ridge read-out).
        trust_modules: Comma-separated packages besides jepa_world whose classes the file may
            name (also $JEPA_TRUSTED_MODULES); only for files you trust.
        trust_pickle: Open a .ckpt with full unpickling, which can run code (also
            $JEPA_TRUST_PICKLE=1); only for files you trust.
        progress: Print a line to standard error at every tenth of each row's work (minutes so
            far and an estimate of those left), so that a log shows how far a long run has got.
        device: Where the models plan: ``auto`` (a CUDA GPU when torch sees one, else Apple
            MPS, else the CPU), ``cpu``, ``cuda``, ``cuda:N``, ``mps``. Episodes and candidates
            are batched on it; the simulator that executes the actions runs on the CPU.

    Returns:
        The summary of each row (``model``, ``random``, ``simulator``).
    """
    if episodes < 1:
        raise ValueError(f"--episodes must be at least 1, got {episodes}")
    target = Path(out) if out is not None else None
    if target is not None:
        check_out_dir(target, overwrite)
    where = resolve_device(device)
    model = check_world_model(
        load_world_model_file(ckpt, trust_modules, trust_pickle), owner=f"{ckpt}"
    ).to(where)
    settings = MPCSettings(
        replan_every=replan_every,
        cost=cost,
        plan_norm=plan_norm,
        batch_size=batch_size,
        distance=distance,
        candidate_chunk=candidate_chunk,
    )
    chosen = sample_episodes(np.random.default_rng(seed), episodes, layouts)
    common = {
        "episodes": episodes,
        "layouts": layouts,
        "seed": seed,
        "steps": settings.steps,
        "max_norm": settings.max_norm,
        "plan_norm": settings.planning_norm,
        "cost": cost,
        "replan_every": replan_every,
        "planner": planner.settings(),
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads",
        "device": describe_device(where),
    }
    rows: list[tuple[str, nn.Module, Planner, MPCSettings]] = [("model", model, planner, settings)]
    if references:
        floor = MPCSettings(
            replan_every=replan_every, cost=cost, plan_norm=None, batch_size=batch_size
        )
        rows.append(("random", model, RandomActions(planner.horizon), floor))
        rows.append(("simulator", simulator_model().to(where), planner, settings))
    records: dict[str, EpisodeRecord] = {}
    imagined = None
    for name, world, chosen_planner, chosen_settings in rows:
        lines = ProgressLines(f"jepa plan [{name}]") if progress else None
        result = plan_episodes(
            world, chosen, chosen_planner, chosen_settings, seed=seed, device=where, progress=lines
        )
        extra = {
            "row": name,
            "model": ckpt if name != "simulator" else "simulator (true state and physics)",
            "distance": resolve_distance(distance, world),
        }
        if name == "random":
            extra["planner"] = chosen_planner.settings()
            extra["plan_norm"] = chosen_settings.planning_norm
        records[name] = record(chosen, result, {**common, **extra})
        if name == "model" and target is not None:
            imagined = draw_plans(model, chosen, result.first_plans, figure_episodes, seed)
    summaries = {name: rec.summary for name, rec in records.items()}

    print(
        f"jepa plan: {ckpt}, {episodes} episodes, {layouts} layouts, seed {seed}, {planner!r}, "
        f"cost {cost}, distance {resolve_distance(distance, model)}, replan every {replan_every}, plan norm {settings.planning_norm}, "
        f"on {describe_device(where)}"
    )
    print(format_table(summaries))
    if target is not None:
        write_outputs(target, records, figure_episodes, imagined)
        print(f"wrote {target}/ ({', '.join(f'{n}.npz' for n in records)}, summary.json, pictures)")
    return summaries


def check_out_dir(target: Path, overwrite: bool) -> None:
    """Refuse a directory that already holds files, unless ``overwrite``; a file is refused always."""
    if target.exists() and not target.is_dir():
        raise ValueError(f"--out {target}: exists and is not a directory")
    if target.is_dir() and any(target.iterdir()) and not overwrite:
        raise ValueError(
            f"--out {target}: already holds files; choose an empty or new directory, or pass "
            "--overwrite to replace this command's own result files there"
        )


def draw_plans(
    model: nn.Module, episodes: Episodes, plans: np.ndarray, count: int, seed: int
) -> np.ndarray:
    """The first ``count`` episodes' first plans as the model imagined them, in pixels."""
    from jepa_world.planning.readout import fit_readout, imagined_paths

    drawn = episodes.take(slice(0, count))
    with frozen_for_planning(model):
        readout = fit_readout(model, drawn, seed=seed)
        return imagined_paths(model, drawn, plans[:count], readout)


def write_outputs(
    target: Path,
    records: dict[str, EpisodeRecord],
    figure_episodes: int,
    imagined: np.ndarray | None = None,
) -> None:
    """Episode files per row, ``summary.json``, ``episodes.png`` and ``success_curve.png``.

    ``imagined`` (the model row's first plans as imagined, :func:`draw_plans`) is drawn dashed.
    """
    from jepa_world.io import atomic_path

    target.mkdir(parents=True, exist_ok=True)
    for name, rec in records.items():
        save_episodes(rec, target / name)
    model = records["model"]
    layouts = model.settings.get("layouts")
    save_figure(
        plot_episodes(
            model,
            figure_episodes,
            f"{layouts} layouts: executed path (solid), first plan as imagined (dashed, decoded "
            "by a ridge read-out)",
            imagined,
        ),
        target / "episodes.png",
    )
    save_figure(plot_success_curves(records, f"{layouts} layouts"), target / "success_curve.png")
    # Written last: a folder with a summary.json holds every file of the run.
    summary = {
        name: {"settings": rec.settings, "summary": rec.summary} for name, rec in records.items()
    }
    with atomic_path(target / "summary.json") as tmp:
        Path(tmp).write_text(json.dumps(summary, indent=2, default=str) + "\n")


def build_parser() -> ArgumentParser:
    """The ``jepa plan`` parser (every argument of :func:`plan_command` as a flag)."""
    parser = ArgumentParser(
        prog="jepa plan",
        description=(
            "Goal-reaching episodes in the two-rooms simulator, planned in a world model's "
            "representation space; success rates against a random floor and a simulator ceiling."
        ),
    )
    parser.add_argument("--config", action="config", help="a YAML file of these options")
    parser.add_function_arguments(plan_command, as_positional=False)
    return parser


def expand_planner_names(argv: list[str]) -> list[str]:
    """Replace ``--planner mppi`` (or ``--planner=mppi``) by the class path; reject unknown names."""
    out = list(argv)
    for i, arg in enumerate(out):
        if arg == "--planner" and i + 1 < len(out):
            j, value = i + 1, out[i + 1]
        elif arg.startswith("--planner="):
            j, value = i, arg.partition("=")[2]
        else:
            continue
        if value.lower() in PLANNER_NAMES:
            resolved = PLANNER_NAMES[value.lower()]
        elif "." in value or value.startswith("{"):
            continue
        else:
            raise SystemExit(
                f"jepa plan: unknown planner {value!r}; expected one of "
                f"{', '.join(PLANNER_NAMES)} or the class path of a Planner subclass"
            )
        out[j] = resolved if j == i + 1 else f"--planner={resolved}"
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``jepa plan``."""
    from jepa_world.checkpoints import CheckpointError, normalise_trust_flags

    args = expand_planner_names(normalise_trust_flags(list(sys.argv[1:] if argv is None else argv)))
    parser = build_parser()
    config = parser.parse_args(args)
    config.pop("config", None)
    options = parser.instantiate(config).as_dict() if hasattr(parser, "instantiate") else None
    if options is None:
        options = parser.instantiate_classes(config).as_dict()
    options.pop("config", None)
    try:
        plan_command(**options)
    except (CheckpointError, FileNotFoundError, ValueError, TypeError) as err:
        raise SystemExit(f"jepa plan: {err}") from err
    return 0
