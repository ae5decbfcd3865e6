"""The course's probing evaluation (protocol §4) and everything around it.

- :mod:`~jepa_world.probing.prober`: the prober, normalisation, schedule, subsampling, metric.
- :mod:`~jepa_world.probing.results`: the course's sets and the result types.
- :mod:`~jepa_world.probing.representations`: the frozen model's representations, cached.
- :mod:`~jepa_world.probing.cache_space`: room for those caches, checked before a run.
- :mod:`~jepa_world.probing.fitting`: training and scoring a prober on them.
- :mod:`~jepa_world.probing.splits`: opening the probe splits of a data directory.
- :mod:`~jepa_world.probing.settings`: :class:`ProbeSettings`, every knob a caller may change.
- :mod:`~jepa_world.probing.evaluator`: :func:`evaluate` (the protocol on a data directory),
  :class:`ProbeRunner`, :func:`evaluate_repeated`.
- :mod:`~jepa_world.probing.course`: the course template's ``ProbingEvaluator`` interface.
- :mod:`~jepa_world.probing.baselines`: :class:`MockModel` (ceiling) and :class:`OracleModel`
  (floor).
- :mod:`~jepa_world.probing.report`: table, ``metrics.txt``, JSON; :mod:`~.plots`: pictures
  (imported on demand: it loads matplotlib).
- :mod:`~jepa_world.probing.cli`: ``jepa probe`` (:func:`probe_checkpoint`).
- :mod:`~jepa_world.probing.callback`: :class:`ProbingCallback`, imported from its module (it
  needs Lightning, which the rest does not).
"""

from jepa_world.probing.baselines import MockModel, OracleModel
from jepa_world.probing.cache_space import CacheSpaceError
from jepa_world.probing.course import ProbingConfig, ProbingEvaluator
from jepa_world.probing.evaluator import ProbeRunner, ProbeSettings, evaluate, evaluate_repeated
from jepa_world.probing.prober import (
    LOCATION_MEAN,
    LOCATION_STD,
    Prober,
    denormalise_locations,
    normalise_locations,
    probe_lr,
)
from jepa_world.probing.report import format_table, read_metrics, write_metrics, write_report
from jepa_world.probing.results import ALL_SETS, PROBE_SETS, ProbeResult, RepeatedResult, SetResult
from jepa_world.probing.splits import ProbeDataError

__all__ = [
    "ALL_SETS",
    "CacheSpaceError",
    "LOCATION_MEAN",
    "LOCATION_STD",
    "PROBE_SETS",
    "MockModel",
    "OracleModel",
    "ProbeDataError",
    "ProbeResult",
    "ProbeRunner",
    "ProbeSettings",
    "Prober",
    "ProbingConfig",
    "ProbingEvaluator",
    "RepeatedResult",
    "SetResult",
    "denormalise_locations",
    "evaluate",
    "evaluate_repeated",
    "format_table",
    "normalise_locations",
    "probe_lr",
    "read_metrics",
    "write_metrics",
    "write_report",
]
