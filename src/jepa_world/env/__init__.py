"""The two-rooms simulator in plain numpy: geometry, transition rule, rendering, samplers.

No torch and no files here; ``jepa_world.data`` turns these arrays into datasets.
"""

from jepa_world.env.geometry import (
    AGENT_PEAK,
    DEFAULT_EXCLUDE_WALL,
    IMAGE_SIZE,
    in_wall,
    parse_wall_range,
)
from jepa_world.env.physics import blocked_steps, simulate
from jepa_world.env.probe_trajectories import expert_trajectories, wall_run_trajectories
from jepa_world.env.render import agent_centroid, layout_from_walls, render, render_agent, wall_mask
from jepa_world.env.trajectories import Trajectories, random_trajectories, sample_layouts

__all__ = [
    "AGENT_PEAK",
    "DEFAULT_EXCLUDE_WALL",
    "IMAGE_SIZE",
    "Trajectories",
    "agent_centroid",
    "blocked_steps",
    "expert_trajectories",
    "in_wall",
    "layout_from_walls",
    "parse_wall_range",
    "random_trajectories",
    "render",
    "render_agent",
    "sample_layouts",
    "simulate",
    "wall_mask",
    "wall_run_trajectories",
]
