"""Device choice shared by probing and planning: ``auto``, explicit names, and the errors."""

from __future__ import annotations

import pytest
import torch

from jepa_world import devices
from jepa_world.devices import describe_device, resolve_device


@pytest.fixture
def no_accelerator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(devices, "_mps_available", lambda: False)


@pytest.fixture
def two_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)


def test_auto_is_the_cpu_without_an_accelerator(no_accelerator: None) -> None:
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")


def test_auto_prefers_a_gpu(two_gpus: None) -> None:
    assert resolve_device("auto") == torch.device("cuda")
    assert resolve_device("cuda:1") == torch.device("cuda", 1)


def test_a_gpu_that_is_not_there_is_refused_at_once(no_accelerator: None) -> None:
    with pytest.raises(ValueError, match="device 'cuda': torch sees no CUDA GPU"):
        resolve_device("cuda")
    with pytest.raises(ValueError, match="MPS is not available"):
        resolve_device("mps")


def test_a_gpu_index_past_the_last_is_refused(two_gpus: None) -> None:
    with pytest.raises(ValueError, match=r"has 2 CUDA GPU\(s\), numbered 0-1"):
        resolve_device("cuda:2")


def test_a_name_torch_does_not_know_is_refused() -> None:
    with pytest.raises(ValueError, match="'gpu0': not a torch device"):
        resolve_device("gpu0")


def test_a_torch_device_passes_through_and_is_described() -> None:
    cpu = torch.device("cpu")
    assert resolve_device(cpu) is cpu
    assert describe_device(cpu) == f"cpu ({torch.get_num_threads()} torch threads)"
