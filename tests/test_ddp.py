"""Data-parallel training: two CPU processes (gloo) must train the model one process would.

- Every strategy's batch statistics (VICReg variance and covariance, SIGReg, contrastive
  negatives, BYOL's variance hinge), its loss and the DDP-averaged gradients on two ranks equal
  those of one process on the same global batch, step after step; EMA targets stay identical on
  both ranks.
- A real ``jepa fit --trainer.devices=2 --trainer.strategy=ddp`` run, with the probing callback,
  finishes (no rank left waiting), writes one run directory with one checkpoint set, logs each
  epoch-level figure once, and ends with identical weights and EMA targets on both ranks.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import lightning.pytorch as pl
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

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

REPO = Path(__file__).resolve().parents[1]
WORLD = 2
GLOBAL_BATCH = 8
STEPS = 3

#: Strategy builders by name (module level so that spawned processes can rebuild them). The
#: hinges' thresholds sit far from the values reached, so that no rounding difference can put
#: a dimension (or a pair) on the other side of a kink, where the gradient jumps.
STRATEGIES: dict[str, Callable[[], LossStrategy]] = {
    "vicreg": lambda: VICReg(std_target=4.0),
    "variance": lambda: VarianceOnly(std_target=4.0),
    "sigreg": lambda: SIGReg(num_slices=16),
    "contrastive": lambda: ContrastiveMargin(margin=20.0),
    "byol_ema": lambda: BYOLEMA(std_weight=1.0, std_target=4.0, base_momentum=0.9),
    "inverse_dynamics": lambda: InverseDynamics(VICReg(std_target=4.0), hidden_dim=8),
}
#: Terms computed on the gathered (global) batch: equal on every rank.
GLOBAL_TERMS = {"variance", "covariance", "sigreg", "negatives"}


def small_module(strategy: str) -> JEPAModule:
    torch.manual_seed(0)
    encoder = ConvEncoder(
        repr_dim=16, wall_dim=4, agent_channels=(4, 8, 8), wall_channels=(2, 2, 2)
    )
    return JEPAModule(encoder, MLPPredictor(repr_dim=16, hidden_dim=32), STRATEGIES[strategy]())


def global_batch(step: int) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(100 + step)
    return {
        "states": torch.rand(GLOBAL_BATCH, 5, 2, 65, 65, generator=generator) * 0.09,
        "actions": torch.randn(GLOBAL_BATCH, 4, 2, generator=generator),
    }


class _Loss(nn.Module):
    """What DDP wraps: one training step's loss of a JEPAModule (as Lightning's wrapper does)."""

    def __init__(self, module: JEPAModule) -> None:
        super().__init__()
        self.module = module

    def forward(self, batch: dict[str, torch.Tensor]):
        out, _ = self.module.compute_loss(batch)
        return out.loss, out.terms


def _flat(parameters) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in parameters])


def _same_on_every_rank(x: torch.Tensor) -> bool:
    parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, x.contiguous())
    return all(torch.equal(parts[0], part) for part in parts[1:])


def train_a_few_steps(module: JEPAModule, batches, rank: int = 0, world: int = 1):
    """``STEPS`` SGD steps on this rank's share of each global batch; yields (output, module).

    SGD rather than Adam: Adam's first steps are sign-like and would magnify rounding
    differences of gradients near zero.
    """
    model = nn.parallel.DistributedDataParallel(_Loss(module)) if world > 1 else _Loss(module)
    optimizer = torch.optim.SGD(module.parameters(), lr=0.02)
    share = GLOBAL_BATCH // world
    for step, full in enumerate(batches, start=1):
        loss, terms = model({k: v[rank * share : (rank + 1) * share] for k, v in full.items()})
        optimizer.zero_grad()
        loss.backward()
        yield step, loss.detach(), terms
        optimizer.step()
        module.strategy.on_after_optimizer_step(module.world_model, step, STEPS)


def one_process_reference(name: str) -> dict[str, object]:
    """Losses, terms and gradients of every step on the whole global batch, and the final weights."""
    module = small_module(name)
    steps = []
    for _, loss, terms in train_a_few_steps(module, [global_batch(s) for s in range(1, STEPS + 1)]):
        grads = {n: p.grad.clone() for n, p in module.named_parameters() if p.grad is not None}
        steps.append(
            {"loss": loss, "terms": {k: v.detach() for k, v in terms.items()}, "grads": grads}
        )
    target = getattr(module.strategy, "target_encoder", None)
    return {
        "steps": steps,
        "weights": _flat(module.parameters()),
        "target": _flat(target.parameters()) if target is not None else None,
    }


def _check_strategy(name: str, expected: dict, rank: int) -> None:
    module = small_module(name)
    batches = [global_batch(s) for s in range(1, STEPS + 1)]
    for step, loss, terms in train_a_few_steps(module, batches, rank, WORLD):
        where = f"{name}, step {step}, rank {rank}"
        reference = expected["steps"][step - 1]
        assert set(terms) == set(reference["terms"]), where
        for term in GLOBAL_TERMS & set(terms):
            torch.testing.assert_close(
                terms[term],
                reference["terms"][term],
                msg=lambda m, w=where, t=term: f"{w}: {t}\n{m}",
            )
        # Local terms (prediction, inverse dynamics) are means over equal shares: their mean
        # over ranks is the global mean, so the ranks' mean loss is the global loss.
        mean_loss = loss.clone()
        dist.all_reduce(mean_loss)
        torch.testing.assert_close(
            mean_loss / WORLD, reference["loss"], msg=lambda m, w=where: f"{w}: loss\n{m}"
        )
        for param_name, p in module.named_parameters():
            if param_name not in reference["grads"]:
                assert p.grad is None, f"{where}: {param_name} has a gradient on two ranks only"
                continue
            torch.testing.assert_close(
                p.grad,
                reference["grads"][param_name],
                rtol=1e-3,
                atol=1e-5,  # float sums in another order
                msg=lambda m, w=where, n=param_name: f"{w}: gradient of {n}\n{m}",
            )

    weights = _flat(module.parameters())
    assert _same_on_every_rank(weights), f"{name}: weights differ between ranks"
    torch.testing.assert_close(weights, expected["weights"], rtol=1e-4, atol=1e-6)
    target = getattr(module.strategy, "target_encoder", None)
    if target is not None:
        flat_target = _flat(target.parameters())
        assert _same_on_every_rank(flat_target), f"{name}: EMA targets differ between ranks"
        torch.testing.assert_close(flat_target, expected["target"], rtol=1e-4, atol=1e-6)
        assert not torch.equal(flat_target, _flat(module.world_model.encoder.parameters()))


def _worker(rank: int, init_file: str, reference_file: str) -> None:
    torch.set_num_threads(1)
    references = torch.load(reference_file)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=WORLD)
    try:
        for name in STRATEGIES:
            _check_strategy(name, references[name], rank)
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_two_ranks_train_like_one_process_on_the_global_batch(tmp_path):
    # The reference runs here, in a process without a process group: truly one process.
    torch.save(
        {name: one_process_reference(name) for name in STRATEGIES}, tmp_path / "reference.pt"
    )
    mp.spawn(
        _worker,
        args=(str(tmp_path / "rendezvous"), str(tmp_path / "reference.pt")),
        nprocs=WORLD,
        join=True,
    )


# ---------------------------------------------------------------------------------------------
# A real `jepa fit` on two processes
# ---------------------------------------------------------------------------------------------

DUMP_ENV = "JEPA_TEST_RANK_DUMP"


class RankStateDump(pl.Callback):
    """Saves each rank's full state (world model, EMA target) when training ends.

    Loaded by class path inside the ``jepa fit`` subprocess below (this directory is put on its
    ``PYTHONPATH``); checkpoints hold rank 0's weights only, so this is how the test sees rank 1.
    """

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        out = Path(os.environ[DUMP_ENV])
        out.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu().clone() for k, v in pl_module.state_dict().items()}
        torch.save(state, out / f"rank{trainer.global_rank}.pt")


def run_process_group(command: list[str], cwd: Path, env: dict[str, str], timeout: float):
    """Run ``command`` in its own session; on timeout kill every process it started (ranks)."""
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        pytest.fail(
            f"`jepa fit` on 2 processes still running after {timeout} s (deadlock?):\n{output[-3000:]}"
        )
    return process.returncode, output


def scalar_values(run_dir: Path) -> dict[str, float]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir))
    events.Reload()
    return {tag: events.Scalars(tag)[-1].value for tag in events.Tags()["scalars"]}


def scalar_counts(run_dir: Path) -> dict[str, int]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir))
    events.Reload()
    return {tag: len(events.Scalars(tag)) for tag in events.Tags()["scalars"]}


@pytest.mark.slow
def test_two_process_fit_finishes_with_one_checkpoint_set(tiny_data, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(Path(__file__).parent), env.get("PYTHONPATH")])
    )
    env[DUMP_ENV] = str(tmp_path / "ranks")
    env["OMP_NUM_THREADS"] = "1"
    steps = 3
    command = [
        sys.executable,
        "-m",
        "jepa_world.cli",
        "fit",
        "--config",
        str(REPO / "configs" / "byol_ema.yaml"),
        "--data.data_dir",
        str(tiny_data),
        "--data.batch_size",
        "4",
        "--data.window",
        "5",
        "--model.encoder.init_args.agent_channels=2",
        "--model.predictor.init_args.dynamic_channels=2",
        "--data.num_workers",
        "0",
        "--trainer.max_epochs",
        "1",
        "--trainer.limit_train_batches",
        str(steps),
        "--trainer.limit_val_batches",
        "2",
        f"--trainer.val_check_interval={steps}",  # the config validates every 500 steps
        "--trainer.log_every_n_steps",
        "1",
        "--trainer.devices=2",
        "--trainer.accelerator=cpu",
        "--trainer.strategy=ddp",
        "--trainer.enable_progress_bar=false",
        "--trainer.enable_model_summary=false",
        "--trainer.callbacks+=jepa_world.probing.callback.ProbingCallback",
        "--trainer.callbacks.init_args.sets=[normal,wall]",
        "--trainer.callbacks.init_args.epochs=2",
        # 32 trajectories per val set in batches of 10 (three kept): rank 0 scores two, rank 1
        # one, so only the reduction of the sums (not an average of the two ranks) is right.
        "--trainer.callbacks.init_args.batch_size=10",
        "--trainer.callbacks+=test_ddp.RankStateDump",
    ]
    code, output = run_process_group(command, tmp_path, env, timeout=240)
    assert code == 0, output[-3000:]

    runs = tmp_path / "runs" / "byol_ema"
    assert [p.name for p in runs.iterdir()] == ["version_0"], "one run directory for both ranks"
    run_dir = runs / "version_0"
    checkpoints = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    assert len(checkpoints) == 2 and "last.ckpt" in checkpoints, checkpoints
    assert len(list(run_dir.glob("events.out.tfevents.*"))) == 1

    checkpoint = torch.load(
        run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False
    )
    assert checkpoint["global_step"] == steps  # optimizer steps, each over both ranks' batches

    counts = scalar_counts(run_dir)
    assert counts["probe/normal"] == 1, counts  # probed once, logged once
    assert counts["val/loss"] == 1, counts
    assert counts["train/loss"] == steps, counts

    rank0, rank1 = (torch.load(tmp_path / "ranks" / f"rank{r}.pt") for r in (0, 1))
    assert rank0.keys() == rank1.keys()
    assert any(".target_encoder." in key for key in rank0)  # BYOL-EMA's target, inside ID
    for key in rank0:
        assert torch.equal(rank0[key], rank1[key]), f"{key} differs between the two ranks"
    for key, value in checkpoint["state_dict"].items():
        assert torch.equal(value, rank0[key]), f"checkpoint's {key} is not the trained one"

    # The two ranks' shares of the val sets, reduced, give what one process computes alone.
    from jepa_world.checkpoints import load_model
    from jepa_world.probing.callback import ProbingCallback

    callback = ProbingCallback(
        data_dir=str(tiny_data), sets=["normal", "wall"], epochs=2, batch_size=10
    )
    module = SimpleNamespace(world_model=load_model(run_dir / "checkpoints" / "last.ckpt"))
    module.device = torch.device("cpu")
    callback.setup(SimpleNamespace(), module, "fit")
    alone = callback.runner(module).run(callback.sets).losses
    logged = scalar_values(run_dir)
    for name in ("normal", "wall"):
        assert logged[f"probe/{name}"] == pytest.approx(alone[name], rel=1e-5), (logged, alone)
