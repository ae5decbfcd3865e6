"""The default preset's probe sets are large enough for the exact course prober.

With too few probe-train trajectories the course prober (learning rate 5e-5) stops long before
it has fitted even a perfect code, and `jepa probe` reports the prober's shortfall as the
model's. Here the true positions, written in a code of the quickstart model's size (130
numbers) by `OracleModel(130)`, go through the exact protocol at the quickstart preset's sizes; they must
score under 0.1 px². Only the first frames are rendered, which is all the protocol reads.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from jepa_world.data.presets import PRESETS
from jepa_world.env import render
from jepa_world.env.probe_trajectories import expert_trajectories
from jepa_world.env.trajectories import random_trajectories
from jepa_world.probing.baselines import OracleModel
from jepa_world.probing.fitting import evaluate_prober, train_prober
from jepa_world.probing.prober import mse_pixels_per_timestep
from jepa_world.probing.representations import compute_representations

CODE_SIZE = 130  # repr_dim of configs/quickstart.yaml's (and configs/best.yaml's) model


def _split(trajectories) -> SimpleNamespace:
    first = render(trajectories.locations[:, :1], trajectories.wall_x, trajectories.door_y)
    return SimpleNamespace(
        states=first, actions=trajectories.actions, locations=trajectories.locations
    )


def _oracle_score(train, val) -> float:
    model, cpu = OracleModel(CODE_SIZE), torch.device("cpu")
    reps_train = compute_representations(model, _split(train), cpu)
    prober = train_prober(reps_train, torch.from_numpy(train.locations))
    reps_val = compute_representations(model, _split(val), cpu)
    mse, _ = evaluate_prober(prober, reps_val, torch.from_numpy(val.locations))
    return float(mse_pixels_per_timestep(mse).mean())


@pytest.mark.slow
def test_quickstart_probe_sets_let_the_course_prober_fit_a_perfect_code() -> None:
    preset = PRESETS["quickstart"]
    rng = np.random.default_rng(11)
    normal = _oracle_score(
        random_trajectories(rng, preset.probe_train_size),
        random_trajectories(rng, preset.probe_val_size),
    )
    expert = _oracle_score(
        expert_trajectories(rng, preset.expert_train_size),
        expert_trajectories(rng, preset.expert_val_size),
    )
    assert normal < 0.1, normal
    assert expert < 0.1, expert
