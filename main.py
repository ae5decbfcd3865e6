"""Evaluate ``model_weights.pth`` with the course's probing protocol and print its losses.

    python main.py [--data DIR] [--weights model_weights.pth] [--device auto]
                   [--trust-modules NAMES] [--trust-pickle]

The data directory defaults to ``$JEPA_DATA_DIR``, else ``data/quickstart``. The output is
the course's: one ``<set> loss: <value>`` line per probe set (pixels², per coordinate).
A weights file is untrusted input: loading it never runs code, and it may only build classes
of jepa_world unless ``--trust-modules`` names more packages.
``jepa export --ckpt ... --out model_weights.pth`` writes the weights file.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

DEFAULT_DATA = "data/quickstart"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        default=os.environ.get("JEPA_DATA_DIR", DEFAULT_DATA),
        help="directory with the probe_* splits (default: $JEPA_DATA_DIR or data/quickstart)",
    )
    parser.add_argument("--weights", default="model_weights.pth", help="weights file to evaluate")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, mps, ...")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    from jepa_world.checkpoints import add_trust_arguments

    add_trust_arguments(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, float]:
    args = parse_args(argv)
    from jepa_world.checkpoints import PICKLE_OPT_IN, CheckpointError, load_model
    from jepa_world.data.files import DataError
    from jepa_world.probing.evaluator import ProbeDataError, evaluate

    try:
        model = load_model(
            args.weights,
            trust_modules=args.trust_modules,
            trust_pickle=args.trust_pickle,
            opt_in=PICKLE_OPT_IN,
        )
        result = evaluate(model, args.data, device=args.device, progress=not args.no_progress)
    except (FileNotFoundError, CheckpointError, ProbeDataError, DataError) as err:
        hint = ""
        if isinstance(err, ProbeDataError):
            hint = f"\n(generate probe data with: jepa data generate --out {args.data} --preset quickstart)"
        sys.exit(f"error: {err}{hint}")
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    if not result.sets:
        sys.exit(f"error: no probe set found under {args.data}")
    for name, loss in result.losses.items():
        print(f"{name} loss: {loss}")
    return result.losses


if __name__ == "__main__":
    main()
