"""Argument checks shared by models and strategies.

Each raises a ``ValueError`` that names the owner (the class being built) and the field, so a
bad value in a YAML config points at the line to change. NaN fails both checks.
"""

from __future__ import annotations


def check_positive(owner: str, **values: int | float) -> None:
    """Raise unless every value is > 0, e.g. ``check_positive("VICReg", std_target=0.0)``."""
    for name, value in values.items():
        if not value > 0:
            raise ValueError(f"{owner}: {name} must be > 0, got {value}")


def check_non_negative(owner: str, **values: int | float) -> None:
    """Raise unless every value is >= 0 (a weight or a margin)."""
    for name, value in values.items():
        if not value >= 0:
            raise ValueError(f"{owner}: {name} must be >= 0, got {value}")
