"""The course template's evaluator interface."""

from __future__ import annotations

from pathlib import Path

from jepa_world.probing.baselines import MockModel
from jepa_world.probing.course import ProbingConfig, ProbingEvaluator


def test_course_style_evaluator(probe_data: Path) -> None:
    evaluator = ProbingEvaluator("cpu", MockModel(8), probe_data, quick_debug=True)
    prober = evaluator.train_pred_prober()
    losses = evaluator.evaluate_all(prober)
    assert list(losses) == ["normal", "wall", "wall_other"]
    assert all(100 < v < 1000 for v in losses.values())


def test_course_config_settings_are_the_ones_used(probe_data: Path) -> None:
    config = ProbingConfig(lr=1e-3, epochs=3, batch_size=32)
    evaluator = ProbingEvaluator("cpu", MockModel(8), probe_data, config=config)
    settings = evaluator.runner.settings
    assert (settings.base_lr, settings.epochs, settings.batch_size) == (1e-3, 3, 32)
