"""Score one weights file with the course template's own evaluator and with ``jepa probe``.

    git clone https://github.com/kevinghst/DL_Final_Proj /tmp/course_template
    pip install omegaconf                       # the template's configs.py imports it
    python benchmarks/template_parity.py --template /tmp/course_template \\
        --data DIR --weights model_weights.pth --seeds 5

The template is run unchanged, in its own process (its modules are called ``models``,
``dataset``, ``evaluator``...), on the CPU: its ``.cuda()`` calls are made no-ops, which is the
only change. Its evaluator is driven the way its ``main.py`` drives it (a prober trained on
``probe_normal/train`` scored on ``normal``, ``wall`` and ``wall_other``; a second one trained on
``probe_expert/train`` scored on ``expert``), with ``torch.manual_seed(seed)`` for each seed.
Our side is :func:`jepa_world.probing.evaluate_repeated` with the same seeds. The script prints
each side's mean ± sd per set, the difference of the means and its standard error, and writes
every number to ``--out`` (JSON).

Data stored as ``uint8`` (the generator's compact format) is handed to the template as it is;
the weights file's model is wrapped so that it rescales such frames to the float values the
course files hold (the template passes frames to the model and never looks at them).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

SETS = ("normal", "wall", "wall_other", "expert")

# Runs inside the template's directory, in a fresh interpreter. It imports the template's
# modules by name and only calls them; nothing of the template is copied here.
_DRIVER = r"""
import json, sys
import numpy as np
import torch
from torch import nn

seed, data, weights, scale, src, trust = sys.argv[1:7]
sys.path.append(src)
torch.Tensor.cuda = lambda self, *a, **k: self
nn.Module.cuda = lambda self, *a, **k: self

from dataset import create_wall_dataloader
from evaluator import ProbingEvaluator
from jepa_world.checkpoints import load_model

class Rescaled(nn.Module):
    def __init__(self, model, scale):
        super().__init__()
        self.model, self.scale, self.repr_dim = model, scale, model.repr_dim
    def forward(self, states, actions):
        return self.model(states=states * self.scale, actions=actions)

torch.manual_seed(int(seed)); np.random.seed(int(seed))
model = load_model(weights, trust_modules=trust.split(",") if trust else None)
model = Rescaled(model.eval(), float(scale)).eval()
torch.set_grad_enabled(True)

def loader(split, train):
    return create_wall_dataloader(f"{data}/{split}", probing=True, device="cpu", train=train)

losses = {}
groups = [("probe_normal/train", {"normal": "probe_normal/val", "wall": "probe_wall/val",
          "wall_other": "probe_wall_other/val"}),
          ("probe_expert/train", {"expert": "probe_expert/val"})]
for train_split, val_splits in groups:
    evaluator = ProbingEvaluator(device="cpu", model=model, probe_train_ds=loader(train_split, True),
                                 probe_val_ds={k: loader(v, False) for k, v in val_splits.items()},
                                 quick_debug=False)
    prober = evaluator.train_pred_prober()
    losses.update(evaluator.evaluate_all(prober=prober))
print("RESULT " + json.dumps(losses))
"""


def frame_scale(data: Path) -> float:
    """Factor that turns the stored frames into the course's float values (1 for float32)."""
    meta_file = data / "dataset.json"
    if not meta_file.exists():
        return 1.0
    generator = json.loads(meta_file.read_text()).get("generator", {})
    return float(generator["scale"]) if generator.get("dtype") == "uint8" else 1.0


def run_template(template: Path, data: Path, weights: Path, seed: int, trust: str) -> dict:
    """One run of the template's evaluator; returns ``{set: loss}``."""
    env = dict(os.environ, TQDM_DISABLE="1", MPLBACKEND="Agg")
    args = [str(seed), str(data), str(weights), str(frame_scale(data)), str(ROOT / "src"), trust]
    proc = subprocess.run(
        [sys.executable, "-c", _DRIVER, *args],
        cwd=template,
        env=env,
        capture_output=True,
        text=True,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(
            f"the template's evaluator failed (seed {seed}, exit {proc.returncode}):\n"
            + proc.stderr[-3000:]
        )
    return json.loads(lines[-1][len("RESULT ") :])


def mean_sd(values: list[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, float("nan")
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def compare(template: dict[str, list[float]], ours: dict[str, list[float]]) -> dict:
    """Per set: each side's mean and sd, the difference of means and its standard error."""
    rows = {}
    for name in SETS:
        if name not in template or name not in ours:
            continue
        (tm, ts), (om, osd) = mean_sd(template[name]), mean_sd(ours[name])
        se = math.sqrt(ts**2 / len(template[name]) + osd**2 / len(ours[name]))
        rows[name] = {
            "template_mean": tm,
            "template_sd": ts,
            "ours_mean": om,
            "ours_sd": osd,
            "difference": om - tm,
            "difference_se": se,
        }
    return rows


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n", 2)[2],
    )
    parser.add_argument("--template", type=Path, required=True, help="checkout of the template")
    parser.add_argument("--data", type=Path, required=True, help="directory with probe_* splits")
    parser.add_argument("--weights", type=Path, default=ROOT / "model_weights.pth")
    parser.add_argument("--seeds", type=int, default=5, help="prober seeds 0..N-1 on each side")
    parser.add_argument("--trust-modules", default="", help="extra packages the file may build")
    parser.add_argument("--out", type=Path, default=None, help="JSON file for every number")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    for needed in ("evaluator.py", "dataset.py", "models.py"):
        if not (args.template / needed).exists():
            sys.exit(f"error: {args.template}: no {needed}; expected a checkout of the template")
    if args.out is not None and args.out.exists():
        sys.exit(f"error: {args.out} already exists; choose another --out")

    from jepa_world.checkpoints import load_model
    from jepa_world.probing import evaluate_repeated

    template: dict[str, list[float]] = {name: [] for name in SETS}
    for seed in range(args.seeds):
        start = time.perf_counter()
        losses = run_template(args.template, args.data, args.weights, seed, args.trust_modules)
        for name, loss in losses.items():
            template[name].append(float(loss))
        print(f"template seed {seed}: {losses} ({time.perf_counter() - start:.0f} s)", flush=True)

    trusted = args.trust_modules.split(",") if args.trust_modules else None
    model = load_model(args.weights, trust_modules=trusted)
    start = time.perf_counter()
    repeated = evaluate_repeated(
        model, args.data, repeats=args.seeds, seed=0, device="cpu", progress=False
    )
    ours: dict[str, list[float]] = {name: [] for name in SETS}
    for run in repeated.runs:
        for name, loss in run.losses.items():
            ours[name].append(float(loss))
    print(f"jepa probe seeds 0..{args.seeds - 1}: {time.perf_counter() - start:.0f} s")

    rows = compare(template, ours)
    print(f"\n{'set':<11} {'template':>18} {'jepa probe':>18} {'difference':>18}")
    for name, row in rows.items():
        print(
            f"{name:<11} {row['template_mean']:>9.4f} ± {row['template_sd']:<6.4f} "
            f"{row['ours_mean']:>9.4f} ± {row['ours_sd']:<6.4f} "
            f"{row['difference']:>+9.4f} ± {row['difference_se']:<6.4f}"
        )
    report = {
        "weights": str(args.weights),
        "data": str(args.data),
        "seeds": list(range(args.seeds)),
        "template": template,
        "ours": ours,
        "comparison": rows,
    }
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.out.with_suffix(args.out.suffix + ".tmp")
        tmp.write_text(json.dumps(report, indent=2) + "\n")
        tmp.replace(args.out)
    return report


if __name__ == "__main__":
    main()
