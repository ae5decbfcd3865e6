"""Planning with a learned world model: goal-reaching episodes in the two-rooms simulator.

- :mod:`~jepa_world.planning.base`: the planner contract, action clipping, the cost.
- :mod:`~jepa_world.planning.mppi`, :mod:`~jepa_world.planning.cem`,
  :mod:`~jepa_world.planning.gradient`: the planners, one per file, chosen by class path.
- :mod:`~jepa_world.planning.distance`: how far an imagined representation is from the goal's.
- :mod:`~jepa_world.planning.reference`: random actions (floor), the simulator as a model (ceiling).
- :mod:`~jepa_world.planning.episodes`: sampling, success criteria, the episode file.
- :mod:`~jepa_world.planning.mpc`: the receding-horizon loop, :func:`plan_episodes`.
- :mod:`~jepa_world.planning.report`: the printed table, progress lines, the pictures.
- :mod:`~jepa_world.planning.callback`: :class:`PlanningCallback`, imported from its module (it
  needs Lightning, which the rest does not).
"""

from jepa_world.planning.base import (
    COST_MODES,
    CostFn,
    Planner,
    clip_actions,
    representation_cost,
    step_weights,
)
from jepa_world.planning.cem import CEM
from jepa_world.planning.distance import DISTANCE_MODES, DistanceMode, GoalDistance, box_blur
from jepa_world.planning.episodes import (
    CRITERIA,
    EpisodeRecord,
    Episodes,
    load_episodes,
    replay,
    sample_episodes,
    save_episodes,
    success_final,
    success_reach,
    summarise,
    wilson_interval,
)
from jepa_world.planning.gradient import GradientPlanner
from jepa_world.planning.mpc import MPCSettings, PlanResult, plan_episode, plan_episodes
from jepa_world.planning.mppi import MPPI
from jepa_world.planning.reference import RandomActions, simulator_model
from jepa_world.planning.report import ProgressLines

#: Short names accepted by ``jepa plan --planner``.
PLANNERS: dict[str, str] = {
    "mppi": "jepa_world.planning.mppi.MPPI",
    "cem": "jepa_world.planning.cem.CEM",
    "gradient": "jepa_world.planning.gradient.GradientPlanner",
}

__all__ = [
    "CEM",
    "COST_MODES",
    "CRITERIA",
    "DISTANCE_MODES",
    "MPPI",
    "PLANNERS",
    "CostFn",
    "DistanceMode",
    "EpisodeRecord",
    "Episodes",
    "GoalDistance",
    "GradientPlanner",
    "MPCSettings",
    "PlanResult",
    "Planner",
    "ProgressLines",
    "RandomActions",
    "box_blur",
    "clip_actions",
    "load_episodes",
    "plan_episode",
    "plan_episodes",
    "replay",
    "representation_cost",
    "sample_episodes",
    "save_episodes",
    "simulator_model",
    "step_weights",
    "success_final",
    "success_reach",
    "summarise",
    "wilson_interval",
]
