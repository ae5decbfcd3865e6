"""``jepa export CKPT [--out model_weights.pth]``: the world model of a checkpoint, alone.

The output loads with :func:`jepa_world.models.load_world_model`, without Lightning or a config
file; that is the file the course's ``main.py`` reads. The checkpoint is untrusted input
(:mod:`jepa_world.checkpoints`), and an existing output file is never replaced unless asked.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from jepa_world.checkpoints import (
    PICKLE_OPT_IN,
    CheckpointError,
    add_trust_arguments,
    check_training_checkpoint,
    load_model,
)
from jepa_world.models import count_parameters, save_world_model


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jepa export",
        description="Write the world model of a `jepa fit` checkpoint as a self-contained "
        "model_weights.pth (what `python main.py --weights` and `jepa probe --ckpt` read).",
    )
    parser.add_argument(
        "checkpoint", help="a .ckpt written by `jepa fit` (e.g. runs/.../checkpoints/last.ckpt)"
    )
    parser.add_argument(
        "--out", default="model_weights.pth", help="where to write (default: %(default)s)"
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace --out if it exists (refused otherwise)"
    )
    add_trust_arguments(parser)
    return parser


def main(argv: Sequence[str]) -> int:
    """Entry point of ``jepa export``."""
    options = build_parser().parse_args(list(argv))
    out = Path(options.out)
    try:
        check_training_checkpoint(
            options.checkpoint,
            resume=False,
            trust_pickle=options.trust_pickle,
            opt_in=PICKLE_OPT_IN,
            check_hyperparameters=False,
        )
        model = load_model(
            options.checkpoint,
            trust_modules=options.trust_modules,
            trust_pickle=options.trust_pickle,
            opt_in=PICKLE_OPT_IN,
        )
    except (CheckpointError, FileNotFoundError) as err:
        raise SystemExit(f"jepa export: {err}") from err
    if out.exists() and not options.overwrite:
        raise SystemExit(
            f"jepa export: {out} already exists; pass --overwrite to replace it, or --out PATH"
        )
    path = save_world_model(model, out)
    print(f"wrote {path} ({count_parameters(model):,} trainable parameters)")
    return 0
