"""The released generic model: ``releases/generic/model_weights.pth`` and its ``metrics.txt``.

The files come from ``configs/generic.yaml`` (docs/results.md, "The generic model"). These tests
check that they belong together, that the model is the generic kind (learned maps, no fixed
reader), that it meets the targets it was released for, and that it really tracks the agent on
freshly simulated trajectories through the course prober, so a broken or swapped file fails.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import course_probe_scores

from jepa_world.env import random_trajectories, wall_run_trajectories
from jepa_world.models import SpatialEncoder, SpatialPredictor, count_parameters, load_world_model
from jepa_world.probing import read_metrics

RELEASE = Path(__file__).resolve().parents[1] / "releases" / "generic"
#: The best published results (protocol), which the release must beat on every set, px².
PUBLISHED = {"normal": 0.325, "wall": 0.742, "wall_other": 2.80, "expert": 1.67}
BUDGET = 250_000
#: Measured with the course prober on the fresh sets below (600 probe-train trajectories, a
#: sixteenth of the course's trajectories): normal 0.50, wall 0.88, wall_other 0.64 px²; the
#: limits leave about 3x for the prober's noise; a MockModel scores over 200.
TRACKING_LIMITS = {"normal": 1.5, "wall": 2.5, "wall_other": 2.0}


@pytest.fixture(scope="module")
def model():
    return load_world_model(RELEASE / "model_weights.pth").eval()


def test_metrics_file_matches_the_weights_and_beats_the_published_results(model):
    metrics = read_metrics(RELEASE / "metrics.txt")
    assert metrics.param_count == count_parameters(model) <= BUDGET
    assert metrics.command
    assert set(metrics.losses) == set(PUBLISHED)
    for name, published in PUBLISHED.items():
        assert 0 < metrics.losses[name] < published, (name, metrics.losses[name])


def test_released_model_is_the_generic_kind(model):
    assert isinstance(model.encoder, SpatialEncoder)
    assert isinstance(model.predictor, SpatialPredictor)


def test_released_model_tracks_the_agent_on_fresh_trajectories(model):
    torch.manual_seed(0)
    rng = np.random.default_rng(2718)
    sets = {
        "normal": random_trajectories(rng, 200),
        "wall": wall_run_trajectories(rng, 200),
        "wall_other": random_trajectories(rng, 200, exclude_wall=None, only_wall=(40, 44)),
    }
    scores = course_probe_scores(model, random_trajectories(rng, 600), sets)
    for name, limit in TRACKING_LIMITS.items():
        assert scores[name] < limit, scores
