"""Encoders, predictors and the world model of the course contract (protocol §3).

An encoder maps frames ``(N, 2, 65, 65)`` to ``(N, D)`` and rescales raw inputs itself; a
predictor maps ``(z (N, D), a (N, 2))`` to the next ``z``; both expose ``repr_dim`` and record
their constructor arguments in ``init_args`` so that a saved world model rebuilds from its file.
"""

from jepa_world.models.coordinate import CoordinateEncoder, CoordinatePredictor
from jepa_world.models.encoders import RAW_PEAK, ConvEncoder, ResNetEncoder
from jepa_world.models.generic import GenericEncoder, GenericPredictor
from jepa_world.models.predictors import GRUPredictor, MLPPredictor
from jepa_world.models.spatial import SpatialEncoder, SpatialPredictor
from jepa_world.models.weights_file import WorldModelFileError, load_world_model, save_world_model
from jepa_world.models.world_model import WorldModel, count_parameters, encode_sequence

__all__ = [
    "RAW_PEAK",
    "ConvEncoder",
    "CoordinateEncoder",
    "CoordinatePredictor",
    "GenericEncoder",
    "GenericPredictor",
    "GRUPredictor",
    "MLPPredictor",
    "ResNetEncoder",
    "SpatialEncoder",
    "SpatialPredictor",
    "WorldModel",
    "WorldModelFileError",
    "count_parameters",
    "encode_sequence",
    "load_world_model",
    "save_world_model",
]
