"""Collapse-prevention strategies: one small module per file, chosen by class path in YAML.

Adding a strategy means adding one file with a :class:`LossStrategy` subclass and one config.
"""

from jepa_world.strategies.base import LossStrategy, StrategyOutput
from jepa_world.strategies.byol_ema import BYOLEMA
from jepa_world.strategies.contrastive import ContrastiveMargin
from jepa_world.strategies.inverse_dynamics import InverseDynamics
from jepa_world.strategies.sigreg import SIGReg
from jepa_world.strategies.variance import VarianceOnly
from jepa_world.strategies.vicreg import VICReg

__all__ = [
    "BYOLEMA",
    "ContrastiveMargin",
    "InverseDynamics",
    "LossStrategy",
    "SIGReg",
    "StrategyOutput",
    "VICReg",
    "VarianceOnly",
]
