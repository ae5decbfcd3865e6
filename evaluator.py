"""The probing evaluator under the names a course-template user expects.

``from evaluator import ProbingEvaluator, Prober`` works from the repository root. The code
lives in :mod:`jepa_world.probing`; this module only re-exports it.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from jepa_world.probing.baselines import MockModel, OracleModel  # noqa: E402
from jepa_world.probing.course import ProbingConfig, ProbingEvaluator  # noqa: E402
from jepa_world.probing.evaluator import ProbeResult, ProbeSettings, evaluate  # noqa: E402
from jepa_world.probing.fitting import train_prober  # noqa: E402
from jepa_world.probing.prober import (  # noqa: E402
    Normalizer,
    Prober,
    location_losses,
    probe_lr,
)

__all__ = [
    "MockModel",
    "Normalizer",
    "OracleModel",
    "ProbeResult",
    "ProbeSettings",
    "Prober",
    "ProbingConfig",
    "ProbingEvaluator",
    "evaluate",
    "location_losses",
    "probe_lr",
    "train_prober",
]
