import pytest
import torch
from helpers import generated_batch

from jepa_world.models import ConvEncoder, MLPPredictor, WorldModel
from jepa_world.strategies import (
    BYOLEMA,
    ContrastiveMargin,
    InverseDynamics,
    SIGReg,
    VarianceOnly,
    VICReg,
)

#: Every shipped strategy, with the settings of its config file where they matter.
STRATEGIES = {
    "vicreg": lambda: VICReg(),
    "variance": lambda: VarianceOnly(),
    "contrastive": lambda: ContrastiveMargin(),
    "sigreg": lambda: SIGReg(num_slices=64),
    "byol_ema": lambda: BYOLEMA(std_weight=1.0),
    "inverse_dynamics": lambda: InverseDynamics(VICReg(), weight=1.0),
}


def tiny_world_model(seed: int = 0) -> WorldModel:
    torch.manual_seed(seed)
    encoder = ConvEncoder(repr_dim=16, wall_dim=4, agent_channels=(4, 8), wall_channels=(4, 4))
    return WorldModel(encoder, MLPPredictor(repr_dim=16, hidden_dim=32))


@pytest.fixture(scope="session")
def batch():
    return generated_batch()


@pytest.fixture(params=sorted(STRATEGIES))
def strategy_name(request):
    return request.param


def run_strategy(strategy, model, states, actions):
    """One forward pass of the training objective, as JEPAModule runs it (recurrent unroll)."""
    embeddings = model.encode(states)
    predictions = model.unroll(embeddings[:, 0], actions)
    targets = strategy.targets(model, states, embeddings)
    return strategy(predictions, targets, embeddings, actions)


@pytest.fixture
def tools():
    """Helpers shared by the strategy tests."""
    return {
        "world_model": tiny_world_model,
        "run": run_strategy,
        "batch": generated_batch,
        "strategies": STRATEGIES,
    }
