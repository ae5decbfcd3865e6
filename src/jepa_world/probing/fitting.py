"""Training and scoring the course prober on cached representations (protocol §4 steps 4-5)."""

from __future__ import annotations

import math
import warnings

import torch
from torch import Tensor
from torchmetrics import Metric

from jepa_world.probing.prober import (
    PROBE_BASE_LR,
    PROBE_BATCH_SIZE,
    PROBE_EPOCHS,
    PROBE_SAMPLE_TIMESTEPS,
    Prober,
    denormalise_locations,
    normalise_locations,
    probe_lr,
    sample_timesteps,
    squared_error_per_timestep,
)
from jepa_world.probing.representations import fork_rng, progress_bar


def check_pair(representations: Tensor, locations: Tensor, what: str) -> None:
    if representations.shape[:2] != locations.shape[:2] or locations.shape[-1] != 2:
        raise ValueError(
            f"{what}: representations {tuple(representations.shape)} and locations "
            f"{tuple(locations.shape)} do not match; expected (N, T, D) and (N, T, 2)"
        )


def train_prober(
    representations: Tensor,
    locations: Tensor,
    device: torch.device | str = "cpu",
    epochs: int = PROBE_EPOCHS,
    batch_size: int = PROBE_BATCH_SIZE,
    base_lr: float = PROBE_BASE_LR,
    sample_timesteps_above: int = PROBE_SAMPLE_TIMESTEPS,
    seed: int = 0,
    progress: bool = False,
    name: str = "probe",
) -> Prober:
    """Train a fresh :class:`Prober` on cached representations, as protocol §4 step 4.

    Adam, ``epochs`` passes over the trajectories shuffled each epoch, batches of
    ``batch_size`` with the last partial batch dropped, loss = MSE over batch, timesteps and
    both coordinates in normalised units, the learning rate of :func:`probe_lr` set before each
    step, and 30 random timesteps per trajectory when ``T > 30``.

    Args:
        representations: ``(N, T, D)`` frozen predictions (CPU or ``device``).
        locations: ``(N, T, 2)`` true locations in pixels.
        device: Where the prober trains.
        epochs: Passes over the data.
        batch_size: Trajectories per step; when ``N < batch_size`` one batch of ``N`` is used.
        base_lr: Learning rate for batch 256, scaled by ``batch_size / 256``.
        sample_timesteps_above: Timesteps kept per trajectory when ``T`` exceeds it.
        seed: Seeds the prober's initialisation, the shuffling and the timestep draws.
        progress: Show a progress bar over epochs.
        name: For messages.
    """
    check_pair(representations, locations, name)
    if epochs < 1 or batch_size < 1:
        raise ValueError(
            f"{name}: epochs and batch_size must be >= 1, got {epochs} and {batch_size}"
        )
    device = torch.device(device)
    n = representations.shape[0]
    if n == 0:
        raise ValueError(f"{name}: no trajectories to train the prober on")
    batch = min(batch_size, n)
    steps_per_epoch = n // batch
    total_steps = epochs * steps_per_epoch
    targets = normalise_locations(locations.float()).to(representations.device)
    generator = torch.Generator().manual_seed(seed)
    with fork_rng(device):
        torch.manual_seed(seed)
        prober = Prober(representations.shape[-1]).to(device)
    optimizer = torch.optim.Adam(prober.parameters(), lr=probe_lr(0, total_steps, base_lr, batch))
    prober.train()
    step = 0
    loss = torch.zeros(())
    for _ in progress_bar(range(epochs), progress, desc=f"train prober {name}", leave=False):
        order = torch.randperm(n, generator=generator)
        for b in range(steps_per_epoch):
            index = order[b * batch : (b + 1) * batch].to(representations.device)
            reps, tgts = representations[index], targets[index]
            reps, tgts = sample_timesteps(reps, tgts, sample_timesteps_above, generator)
            reps = reps.to(device, torch.float32, non_blocking=True)
            tgts = tgts.to(device, non_blocking=True)
            for group in optimizer.param_groups:
                group["lr"] = probe_lr(step, total_steps, base_lr, batch)
            loss = (prober(reps) - tgts).pow(2).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
    if not math.isfinite(float(loss.detach())):
        raise FloatingPointError(f"{name}: the prober's loss became non-finite")
    prober.eval()
    return prober


class ProbeMSE(Metric):
    """The course's location loss as a torchmetrics metric: the mean over batches of each batch's
    per-timestep, per-coordinate squared error, ``(T, 2)`` in normalised units.

    Its states are sums, reduced by summation across processes, so the same metric gives the
    global figure when every rank scores its own shard of a set (``sync_on_compute``, the
    default, under DDP). Batches must have equal sizes, as the protocol's ``drop_last`` ensures.
    """

    full_state_update = False

    def __init__(self, horizon: int, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.add_state(
            "squared", default=torch.zeros(horizon, 2, dtype=torch.float64), dist_reduce_fx="sum"
        )
        self.add_state(
            "batches", default=torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum"
        )

    def update(self, predicted: Tensor, targets: Tensor) -> None:  # type: ignore[override]
        self.squared += squared_error_per_timestep(predicted, targets).double()
        self.batches += 1

    def compute(self) -> Tensor:
        return (self.squared / self.batches).float()


def shard_starts(n: int, batch_size: int, rank: int = 0, world_size: int = 1) -> list[int]:
    """First rows of the scoring batches of an ``n``-trajectory set that process ``rank`` of
    ``world_size`` scores: batch ``b`` goes to process ``b mod world_size``.

    The batches are the protocol's (``min(batch_size, n)`` rows each, the last partial batch
    dropped), so the processes together score exactly what one process would.
    """
    if not 0 <= rank < world_size:
        raise ValueError(f"rank must be in [0, {world_size}), got {rank}")
    if n <= 0:
        return []
    batch = min(batch_size, n)
    return list(range(rank * batch, (n // batch) * batch, world_size * batch))


def evaluate_prober(
    prober: Prober,
    representations: Tensor,
    locations: Tensor,
    batch_size: int = PROBE_BATCH_SIZE,
    name: str = "probe",
    sync: bool = False,
) -> tuple[Tensor, Tensor]:
    """Score a trained prober, as protocol §4 step 5.

    Batches of ``batch_size`` in order with the last partial batch dropped (one batch of all
    trajectories when there are fewer). Equal batch sizes make the mean over batches of the
    per-batch means equal to the mean over the kept trajectories, which is what is computed.

    With ``sync`` (a multi-process run), each process passes its own whole batches of the set
    (:func:`shard_starts`) and the returned MSE is the whole set's, reduced across processes;
    every process must call it, in the same order.

    Returns:
        ``(mse, predicted)``: the ``(T, 2)`` MSE in normalised units and the decoded locations
        ``(N_kept, T, 2)`` in pixels (on the CPU).
    """
    check_pair(representations, locations, name)
    n = representations.shape[0]
    if n == 0 and not sync:
        raise ValueError(f"{name}: no trajectories to evaluate")
    batch = max(1, min(batch_size, n))
    kept = (n // batch) * batch
    device = next(prober.parameters()).device
    # The sums stay on the CPU in float64 (which not every accelerator offers).
    metric = ProbeMSE(locations.shape[1], sync_on_compute=sync)
    decoded = [torch.empty(0, locations.shape[1], 2)]
    prober.eval()
    with torch.no_grad():
        for start in range(0, kept, batch):
            reps = representations[start : start + batch].to(device, torch.float32)
            tgts = normalise_locations(locations[start : start + batch].float()).to(device)
            pred = prober(reps)
            metric.update(pred.cpu(), tgts.cpu())
            decoded.append(denormalise_locations(pred).cpu())
    if sync and kept == 0:
        # This process has no batch of the set; it still takes part in the reduction.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return metric.compute(), torch.cat(decoded)
    return metric.compute(), torch.cat(decoded)
