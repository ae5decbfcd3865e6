import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from jepa_world.strategies import VICReg
from jepa_world.strategies.base import covariance_penalty, flatten_batch, variance_hinge
from jepa_world.strategies.distributed import gather_batch, is_distributed, shared_seed, world_size


def test_gather_is_the_identity_in_a_single_process():
    x = torch.randn(4, 3, requires_grad=True)
    assert not is_distributed()
    assert world_size() == 1
    assert gather_batch(x) is x


def test_shared_seed_gives_the_same_draws_for_the_same_step():
    assert torch.equal(
        torch.randn(5, generator=shared_seed(7)), torch.randn(5, generator=shared_seed(7))
    )


def _global_batch() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return torch.randn(8, 3, 6, generator=generator), torch.randn(8, 2, 2, generator=generator)


def _worker(rank: int, world: int, init_file: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        full, actions = _global_batch()
        per_rank = full.shape[0] // world
        mine = slice(rank * per_rank, (rank + 1) * per_rank)
        local = full[mine].clone().requires_grad_()
        gathered = gather_batch(local)
        torch.testing.assert_close(gathered, full)

        # Each process computes the global-batch loss on its slice...
        loss = VICReg(prediction_weight=0.0).compute(local, local, local, actions[mine]).loss
        reference = full.clone().requires_grad_()
        z = flatten_batch(reference)
        expected = variance_hinge(z) + 0.04 * covariance_penalty(z)  # VICReg's default weights
        torch.testing.assert_close(loss, expected)
        # ...and its slice receives world_size times its share of the gradient, which DDP's
        # averaging over processes turns back into the global-batch gradient.
        loss.backward()
        expected.backward()
        torch.testing.assert_close(local.grad, world * reference.grad[mine])
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_batch_statistics_span_every_process(tmp_path):
    mp.spawn(_worker, args=(2, str(tmp_path / "rendezvous")), nprocs=2, join=True)
