"""``benchmarks/strategies.py`` builds one plain and one inverse-dynamics variant per strategy."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import strategies  # noqa: E402

INVERSE_DYNAMICS = "jepa_world.strategies.InverseDynamics"


@pytest.mark.parametrize("base", ["generic.yaml", "best.yaml"])
def test_every_strategy_comes_once_plain_and_once_wrapped(base: str) -> None:
    found = strategies.variants(ROOT / "configs" / base)
    assert sorted(found) == sorted([name for s in strategies.STRATEGIES for name in (s, f"{s}+id")])
    for name in strategies.STRATEGIES:
        plain, wrapped = found[name], found[f"{name}+id"]
        assert plain["class_path"] != INVERSE_DYNAMICS, name
        assert wrapped["class_path"] == INVERSE_DYNAMICS, name
        assert wrapped["init_args"]["base"] == plain, name


def test_the_shipped_configs_settings_are_the_ones_compared() -> None:
    found = strategies.variants(ROOT / "configs" / "generic.yaml")
    for name in ("vicreg", "sigreg", "contrastive", "byol_ema"):
        shipped = strategies.strategy_block(ROOT / "configs" / f"{name}.yaml")
        assert found[f"{name}+id"] == shipped, name
