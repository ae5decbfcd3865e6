"""The shared argument checks: the error names the owner, the field and the value."""

from __future__ import annotations

import math

import pytest

from jepa_world.checks import check_non_negative, check_positive
from jepa_world.models.predictors import MLPPredictor
from jepa_world.strategies import VICReg


def test_positive_accepts_positive_values() -> None:
    check_positive("Owner", a=1, b=0.5)


@pytest.mark.parametrize("value", [0, -1, -0.5, math.nan])
def test_positive_names_owner_field_and_value(value: float) -> None:
    with pytest.raises(ValueError, match=rf"^Owner: width must be > 0, got {value}$"):
        check_positive("Owner", depth=2, width=value)


def test_non_negative_accepts_zero() -> None:
    check_non_negative("Owner", weight=0.0, margin=2)


@pytest.mark.parametrize("value", [-1e-9, math.nan])
def test_non_negative_names_owner_field_and_value(value: float) -> None:
    with pytest.raises(ValueError, match=rf"^Owner: margin must be >= 0, got {value}$"):
        check_non_negative("Owner", weight=1.0, margin=value)


def test_models_and_strategies_use_the_same_wording() -> None:
    with pytest.raises(ValueError, match="^MLPPredictor: depth must be > 0, got 0$"):
        MLPPredictor(repr_dim=8, depth=0)
    with pytest.raises(ValueError, match="^VICReg: std_target must be > 0, got 0.0$"):
        VICReg(std_target=0.0)
