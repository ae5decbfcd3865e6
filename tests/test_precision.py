"""Mixed precision: models run in bf16 (or fp16 on GPU), strategies' statistics stay in fp32.

Batch statistics (standard deviations, covariances, characteristic functions, pairwise
distances) lose too much in 8 mantissa bits, so :class:`~jepa_world.strategies.LossStrategy`
computes them with autocast off on float32 copies. The tests check that directly (inside the
strategy autocast is off, every input is float32, and the terms equal an fp32 computation on
the same inputs) and that ``jepa fit --trainer.precision bf16-mixed`` trains every shipped
strategy config with finite losses.
"""

from __future__ import annotations

import copy
import math
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from jepa_world import cli
from jepa_world.models import ConvEncoder, MLPPredictor
from jepa_world.module import JEPAModule
from jepa_world.strategies import (
    BYOLEMA,
    ContrastiveMargin,
    InverseDynamics,
    LossStrategy,
    SIGReg,
    VarianceOnly,
    VICReg,
)

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"
#: Every shipped config but the quickstart (the VICReg config plus a probing callback).
STRATEGY_CONFIGS = [p for p in sorted(CONFIG_DIR.glob("*.yaml")) if p.stem != "quickstart"]
QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]
#: Short windows, small batches, and the ConvEncoder at a fraction of its width: bf16
#: convolutions are slow on CPUs without bf16 units, and only the arithmetic is under test here.
SMALL = ["--data.window", "5", "--data.batch_size", "4"]
NARROW_CONV = [
    "--model.encoder.init_args.agent_channels=[4,8,8]",
    "--model.encoder.init_args.wall_channels=[2,2,2]",
]

STRATEGIES: dict[str, Callable[[], LossStrategy]] = {
    "vicreg": VICReg,
    "variance": VarianceOnly,
    "sigreg": lambda: SIGReg(num_slices=32),
    "contrastive": ContrastiveMargin,
    "byol_ema": lambda: BYOLEMA(std_weight=1.0),
    "inverse_dynamics": lambda: InverseDynamics(VICReg(), hidden_dim=8),
}


def small_module(strategy: LossStrategy) -> JEPAModule:
    torch.manual_seed(0)
    encoder = ConvEncoder(
        repr_dim=16, wall_dim=4, agent_channels=(4, 8, 8), wall_channels=(2, 2, 2)
    )
    return JEPAModule(encoder, MLPPredictor(repr_dim=16, hidden_dim=32), strategy)


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_strategies_compute_in_fp32_under_bf16_autocast(name):
    module = small_module(STRATEGIES[name]())
    twin = copy.deepcopy(module.strategy)  # same state (SIGReg's step, heads) for the check
    generator = torch.Generator().manual_seed(0)
    batch = {
        "states": torch.rand(6, 4, 2, 65, 65, generator=generator) * 0.09,
        "actions": torch.randn(6, 3, 2, generator=generator),
    }
    seen: dict[str, object] = {}
    compute = module.strategy.compute

    def spy(*inputs: torch.Tensor):
        seen["autocast"] = torch.is_autocast_enabled("cpu")
        seen["inputs"] = [x.detach().clone() for x in inputs]
        return compute(*inputs)

    module.strategy.compute = spy
    conv_dtypes = []
    first_conv = next(
        m for m in module.world_model.encoder.modules() if isinstance(m, torch.nn.Conv2d)
    )
    first_conv.register_forward_hook(lambda _m, _i, out: conv_dtypes.append(out.dtype))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, _ = module.compute_loss(batch)

    assert conv_dtypes and conv_dtypes[0] == torch.bfloat16, "the model itself should run in bf16"
    assert seen["autocast"] is False, f"{name}: autocast must be off inside the strategy"
    inputs = seen["inputs"]
    assert all(x.dtype == torch.float32 for x in inputs), [x.dtype for x in inputs]
    assert out.loss.dtype == torch.float32 and math.isfinite(out.loss.item())
    expected = twin.compute(*inputs)
    for term, value in out.terms.items():
        assert value.dtype == torch.float32, f"{name}: {term} is {value.dtype}"
        torch.testing.assert_close(
            value, expected.terms[term], rtol=0, atol=0, msg=f"{name}: {term}"
        )
    out.loss.backward()
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


@pytest.fixture(autouse=True)
def plain_argv(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["jepa"])


def fit_a_few_steps(config: Path, data: Path, precision: str, accelerator: str, steps: int = 3):
    return cli.run_lightning(
        [
            "fit",
            "--config",
            str(config),
            "--data.data_dir",
            str(data),
            *SMALL,
            *(NARROW_CONV if "models.ConvEncoder" in config.read_text() else []),
            "--data.num_workers",
            "0",
            "--trainer.accelerator",
            accelerator,
            "--trainer.devices",
            "1",
            "--trainer.precision",
            precision,
            "--trainer.max_steps",
            str(steps),
            "--trainer.limit_val_batches",
            "0",
            "--trainer.log_every_n_steps",
            "1",
            *QUIET,
        ]
    )


def assert_trained_with_finite_losses(run, steps: int = 3) -> None:
    trainer = run.trainer
    assert trainer.global_step == steps
    logged = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("train/")}
    assert "train/loss" in logged, sorted(trainer.callback_metrics)
    assert all(math.isfinite(v) for v in logged.values()), logged
    weights = torch.cat([p.detach().reshape(-1) for p in run.model.parameters()])
    assert torch.isfinite(weights).all() and weights.dtype == torch.float32


@pytest.mark.slow
@pytest.mark.parametrize("config", STRATEGY_CONFIGS, ids=[p.stem for p in STRATEGY_CONFIGS])
def test_bf16_mixed_trains_every_strategy_config_on_cpu(config, tiny_data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = fit_a_few_steps(config, tiny_data, "bf16-mixed", "cpu")
    assert run.trainer.precision == "bf16-mixed"
    assert_trained_with_finite_losses(run)


@pytest.mark.slow
@pytest.mark.skipif(
    not torch.cuda.is_available(), reason="16-mixed (fp16 with a gradient scaler) needs a GPU"
)
@pytest.mark.parametrize("config", STRATEGY_CONFIGS, ids=[p.stem for p in STRATEGY_CONFIGS])
def test_fp16_mixed_trains_every_strategy_config_on_gpu(config, tiny_data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = fit_a_few_steps(config, tiny_data, "16-mixed", "gpu")
    assert_trained_with_finite_losses(run)
