"""Gathering embeddings across processes, with gradients, for global batch statistics.

Variance, covariance, negatives and distribution tests are properties of a *batch*. Under data
parallelism each process holds a slice of it; computing those statistics per slice would change
the objective with the number of processes (a variance over 32 samples is not a variance over
256). :func:`gather_batch` concatenates the slices of every process along the batch dimension.

Gradients: the backward pass of :func:`gather_batch` sums the gradient of the gathered batch over
processes and hands each process the rows of its own slice. Every process computes the same
global loss, so each slice receives ``world_size`` times its true gradient, and the averaging
done by DistributedDataParallel divides that factor out again: the parameters see the gradient
of the global-batch objective. When no process group is running the functions are identities.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import Tensor


def is_distributed() -> bool:
    """True when a process group with more than one process is running."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def gather_batch(x: Tensor) -> Tensor:
    """Concatenate ``x`` from every process along dim 0, keeping gradients; identity if alone.

    Every process must call it with tensors of the same shape (equal per-process batch sizes,
    which ``drop_last`` in the training loader guarantees).
    """
    if not is_distributed():
        return x
    return _GatherWithGrad.apply(x)


class _GatherWithGrad(torch.autograd.Function):
    """All-gather along dim 0 whose backward is a sum over processes of the slice's gradient.

    Written on ``all_gather`` and ``all_reduce`` only, which every backend (gloo included)
    supports, rather than on a reduce-scatter.
    """

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, x: Tensor) -> Tensor:
        ctx.rows = x.shape[0]
        ctx.rank = dist.get_rank()
        parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, x.contiguous())
        return torch.cat(parts, dim=0)

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: Tensor) -> Tensor:
        grad = grad.contiguous().clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        start = ctx.rank * ctx.rows
        return grad[start : start + ctx.rows]


def shared_seed(step: int) -> torch.Generator:
    """A CPU generator seeded by ``step``: the same random draws on every process.

    Used for random projections, which must agree across processes for a statistic over the
    gathered batch to be one statistic.
    """
    generator = torch.Generator()
    generator.manual_seed(int(step))
    return generator
