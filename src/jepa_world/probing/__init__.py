"""The course's probing evaluation (protocol §4) and everything around it.

- :mod:`~jepa_world.probing.prober`: the prober, normalisation, schedule, subsampling, metric.
- :mod:`~jepa_world.probing.evaluator`: the protocol on split directories, with the frozen
  model's representations computed once; :func:`probe_checkpoint` behind ``jepa probe``.
- :mod:`~jepa_world.probing.baselines`: :class:`MockModel` (ceiling) and :class:`OracleModel`
  (floor).
- :mod:`~jepa_world.probing.report`: table, ``metrics.txt``, JSON, pictures.
- :mod:`~jepa_world.probing.callback`: :class:`ProbingCallback`, imported from its module (it
  needs Lightning, which the rest does not).
"""

from jepa_world.checkpoints import CheckpointError, load_model
from jepa_world.probing.baselines import MockModel, OracleModel
from jepa_world.probing.evaluator import (
    ALL_SETS,
    PROBE_SETS,
    ProbeDataError,
    ProbeEvaluator,
    ProbeResult,
    ProbingEvaluator,
    SetResult,
    evaluate,
    probe_checkpoint,
)
from jepa_world.probing.prober import (
    LOCATION_MEAN,
    LOCATION_STD,
    Prober,
    denormalise_locations,
    normalise_locations,
    probe_lr,
)
from jepa_world.probing.report import format_table, read_metrics, write_metrics, write_report

__all__ = [
    "ALL_SETS",
    "LOCATION_MEAN",
    "LOCATION_STD",
    "PROBE_SETS",
    "CheckpointError",
    "MockModel",
    "OracleModel",
    "ProbeDataError",
    "ProbeEvaluator",
    "ProbeResult",
    "Prober",
    "ProbingEvaluator",
    "SetResult",
    "denormalise_locations",
    "evaluate",
    "format_table",
    "load_model",
    "normalise_locations",
    "probe_checkpoint",
    "probe_lr",
    "read_metrics",
    "write_metrics",
    "write_report",
]
