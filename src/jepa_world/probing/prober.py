"""The course prober and the pieces of its protocol (protocol §4), as plain functions.

Everything here is pure torch and independent of files and models, so each number of the
protocol (normalisation constants, learning-rate schedule, timestep subsampling, the metric
and its units) can be checked on hand-made tensors.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from jepa_world.schedules import cosine_between

#: Mean and standard deviation of the agent's (x, y) location, fixed by the course so that every
#: model is scored in the same normalised units whatever data it was trained on.
LOCATION_MEAN: tuple[float, float] = (31.5863, 32.0618)
LOCATION_STD: tuple[float, float] = (16.1025, 16.1353)
#: Added to the std in the denominator when normalising (not when converting MSE back).
NORMALISATION_EPS: float = 1e-6

#: Width of the prober's hidden layer.
PROBER_HIDDEN: int = 256
#: The course's learning rate for batch 256; it is scaled linearly with the batch size.
PROBE_BASE_LR: float = 2e-4
PROBE_EPOCHS: int = 20
PROBE_BATCH_SIZE: int = 64
PROBE_WARMUP_FRACTION: float = 0.1
PROBE_FINAL_LR_FRACTION: float = 1e-3
#: Trajectories longer than this contribute this many random timesteps per training step.
PROBE_SAMPLE_TIMESTEPS: int = 30


class Prober(nn.Module):
    """``Linear(D, 256) -> ReLU -> Linear(256, 2)``, shared by every timestep.

    Maps a representation ``(..., D)`` to a normalised location ``(..., 2)``. It is kept this
    small on purpose: the probe measures what is linearly-ish decodable from the world model's
    predictions, not what a big decoder could reconstruct.

    Args:
        repr_dim: Size ``D`` of the representations it reads.
        hidden: Width of the hidden layer (256 in the protocol).
        out_dim: Number of outputs (2: the x and y coordinates).
    """

    def __init__(self, repr_dim: int, hidden: int = PROBER_HIDDEN, out_dim: int = 2) -> None:
        super().__init__()
        if repr_dim < 1:
            raise ValueError(f"Prober: repr_dim must be a positive integer, got {repr_dim}")
        self.repr_dim = repr_dim
        self.net = nn.Sequential(nn.Linear(repr_dim, hidden), nn.ReLU(), nn.Linear(hidden, out_dim))

    def forward(self, representations: Tensor) -> Tensor:
        if representations.shape[-1] != self.repr_dim:
            raise ValueError(
                f"Prober: expected representations of size {self.repr_dim} in the last dimension, "
                f"got shape {tuple(representations.shape)}"
            )
        return self.net(representations)


def _location_constants(like: Tensor) -> tuple[Tensor, Tensor]:
    mean = torch.tensor(LOCATION_MEAN, dtype=like.dtype, device=like.device)
    std = torch.tensor(LOCATION_STD, dtype=like.dtype, device=like.device)
    return mean, std


def normalise_locations(locations: Tensor) -> Tensor:
    """Map pixel locations ``(..., 2)`` to the prober's targets: ``(loc - mean) / (std + 1e-6)``."""
    mean, std = _location_constants(locations)
    return (locations - mean) / (std + NORMALISATION_EPS)


def denormalise_locations(normalised: Tensor) -> Tensor:
    """Inverse of :func:`normalise_locations`: the prober's outputs back in pixels."""
    mean, std = _location_constants(normalised)
    return normalised * (std + NORMALISATION_EPS) + mean


def probe_lr(
    step: int,
    total_steps: int,
    base_lr: float = PROBE_BASE_LR,
    batch_size: int = PROBE_BATCH_SIZE,
    warmup_fraction: float = PROBE_WARMUP_FRACTION,
    final_fraction: float = PROBE_FINAL_LR_FRACTION,
) -> float:
    """Learning rate of the prober at optimiser step ``step`` (0-based) of ``total_steps``.

    The peak ``base_lr * batch_size / 256`` (5e-5 for the protocol's batch 64) is reached by a
    linear warm-up over the first ``int(warmup_fraction * total_steps)`` steps, starting from 0;
    a half cosine then takes it to ``final_fraction`` of the peak at ``step == total_steps``.

    Args:
        step: The optimiser step, counted from 0 over all epochs.
        total_steps: Number of optimiser steps of the whole training (epochs × batches).
        base_lr: Learning rate for a batch of 256.
        batch_size: Batch size actually used (the linear scaling rule).
        warmup_fraction: Fraction of the steps spent warming up.
        final_fraction: Final learning rate as a fraction of the peak.
    """
    if total_steps < 1:
        raise ValueError(f"probe_lr: total_steps must be >= 1, got {total_steps}")
    peak = base_lr * batch_size / 256
    warmup_steps = int(warmup_fraction * total_steps)
    if step < warmup_steps:
        return peak * step / warmup_steps
    progress = (step - warmup_steps) / max(total_steps - warmup_steps, 1)
    return cosine_between(progress, peak, peak * final_fraction)


def sample_timesteps(
    representations: Tensor,
    targets: Tensor,
    n: int = PROBE_SAMPLE_TIMESTEPS,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """Keep ``n`` random distinct timesteps per trajectory, only when ``T > n``.

    The protocol bounds the cost of long (expert) trajectories this way; each trajectory draws
    its own timesteps. Returns the inputs unchanged when ``T <= n``.

    Args:
        representations: ``(B, T, D)``.
        targets: ``(B, T, 2)``.
        n: Timesteps kept per trajectory.
        generator: Source of randomness (on the CPU), for reproducibility.
    """
    batch, horizon = representations.shape[:2]
    if targets.shape[:2] != (batch, horizon):
        raise ValueError(
            f"sample_timesteps: representations {tuple(representations.shape)} and targets "
            f"{tuple(targets.shape)} disagree on (B, T)"
        )
    if horizon <= n:
        return representations, targets
    # argsort of i.i.d. uniforms is a uniformly random permutation per row.
    order = torch.rand(batch, horizon, generator=generator).argsort(dim=1)[:, :n]
    order = order.to(representations.device)
    reps = representations.gather(1, order[..., None].expand(-1, -1, representations.shape[-1]))
    tgts = targets.gather(1, order[..., None].expand(-1, -1, targets.shape[-1]))
    return reps, tgts


def squared_error_per_timestep(predicted: Tensor, targets: Tensor) -> Tensor:
    """Mean over the batch of the squared error: ``(B, T, 2) -> (T, 2)`` (course's location loss)."""
    if predicted.shape != targets.shape:
        raise ValueError(
            f"predicted {tuple(predicted.shape)} and targets {tuple(targets.shape)} differ in shape"
        )
    return (predicted - targets).pow(2).mean(dim=0)


def mse_pixels_per_timestep(normalised_mse: Tensor) -> Tensor:
    """Turn a ``(T, 2)`` MSE in normalised units into pixels² per timestep ``(T,)``.

    Multiplies each coordinate by its std² (without the epsilon, as the course does) and
    averages over the two coordinates.
    """
    if normalised_mse.shape[-1] != 2:
        raise ValueError(f"expected a (T, 2) MSE, got shape {tuple(normalised_mse.shape)}")
    _, std = _location_constants(normalised_mse)
    return (normalised_mse * std.pow(2)).mean(dim=-1)


#: The course's name for :func:`squared_error_per_timestep`.
location_losses = squared_error_per_timestep


class Normalizer:
    """The course template's normaliser, over the functions above (kept for familiar code)."""

    def normalize_location(self, locations: Tensor) -> Tensor:
        return normalise_locations(locations)

    def unnormalize_location(self, normalised: Tensor) -> Tensor:
        return denormalise_locations(normalised)

    def unnormalize_mse(self, normalised_mse: Tensor) -> Tensor:
        """``(..., 2)`` MSE in normalised units to pixels², per coordinate (std², no epsilon)."""
        _, std = _location_constants(normalised_mse)
        return normalised_mse * std.pow(2)


def probe_metric(normalised_mse: Tensor) -> float:
    """The protocol's single number: pixels², averaged over x/y and then over all timesteps."""
    return float(mse_pixels_per_timestep(normalised_mse).mean())
