"""The protocol on cached representations and on generated probe sets."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from jepa_world.probing.baselines import MockModel, OracleModel
from jepa_world.probing.evaluator import ProbeRunner, ProbeSettings, evaluate, evaluate_repeated
from jepa_world.probing.fitting import evaluate_prober, train_prober
from jepa_world.probing.prober import Prober, normalise_locations
from jepa_world.probing.representations import compute_representations, frozen
from jepa_world.probing.splits import ProbeDataError


def _walks(n: int, horizon: int = 17, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    start = torch.rand(n, 1, 2, generator=g) * 50 + 7
    steps = torch.randn(n, horizon - 1, 2, generator=g)
    return torch.cat([start, start + steps.cumsum(1)], dim=1).clamp(4.5, 59.5)


def _tiled(locations: torch.Tensor, copies: int = 64) -> torch.Tensor:
    return normalise_locations(locations).repeat(1, 1, copies)


def test_prober_learns_locations_from_an_informative_representation() -> None:
    train, val = _walks(256), _walks(128, seed=1)
    prober = train_prober(_tiled(train, 128), train, epochs=40)
    mse, decoded = evaluate_prober(prober, _tiled(val, 128), val)
    assert mse.shape == (17, 2)
    assert float(mse.mean()) * 16.1**2 < 2.0  # pixels², against ~250 for a blind guess
    assert decoded.shape == (128, 17, 2)
    assert (decoded - val).abs().mean() < 1.0


def test_training_is_seeded_and_leaves_the_global_random_stream_alone() -> None:
    train = _walks(128)
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    first = train_prober(_tiled(train, 4), train, epochs=2, seed=7)
    assert torch.equal(torch.rand(3), expected_next)
    second = train_prober(_tiled(train, 4), train, epochs=2, seed=7)
    for a, b in zip(first.parameters(), second.parameters(), strict=True):
        assert torch.equal(a, b)


def test_scoring_drops_the_last_partial_batch() -> None:
    val = _walks(100)
    prober = Prober(8)
    reps = torch.randn(100, 17, 8)
    mse, decoded = evaluate_prober(prober, reps, val, batch_size=64)
    assert decoded.shape[0] == 64  # 100 = 64 + 36: the 36 are dropped, as with drop_last
    with torch.no_grad():
        expected = (prober(reps[:64]) - normalise_locations(val[:64])).pow(2).mean(dim=0)
    assert torch.allclose(mse, expected, atol=1e-6)


def test_mismatched_inputs_are_rejected() -> None:
    with pytest.raises(ValueError, match="do not match"):
        train_prober(torch.zeros(10, 17, 4), torch.zeros(10, 16, 2))
    with pytest.raises(ValueError, match="epochs"):
        train_prober(torch.zeros(10, 17, 4), torch.zeros(10, 17, 2), epochs=0)


class _Frozenness(nn.Module):
    """Contract-honouring model that records whether it ran in eval mode without gradients."""

    repr_dim = 3

    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.Linear(2, 3)
        self.calls: list[tuple[bool, bool]] = []

    def forward(self, states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        assert states.shape[1] == 1  # only the first frame is ever given
        self.calls.append((self.training, torch.is_grad_enabled()))
        b, steps, _ = actions.shape
        return self.layer(torch.zeros(b, steps + 1, 2))


def test_representations_are_computed_frozen_and_modes_are_restored(probe_data: Path) -> None:
    model = _Frozenness()
    model.train()
    model.layer.eval()  # a submodule deliberately in eval mode must stay so
    evaluator = ProbeRunner(model, probe_data, ProbeSettings(device="cpu", progress=False))
    reps = evaluator.representations("probe_normal/val")
    assert reps.shape == (64, 17, 3)
    assert model.calls and all(call == (False, False) for call in model.calls)
    assert model.training and not model.layer.training
    calls = len(model.calls)
    evaluator.representations("probe_normal/val")
    assert len(model.calls) == calls  # cached, not recomputed


def test_frozen_restores_modes_after_an_error() -> None:
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout())
    model.train()
    with pytest.raises(RuntimeError), frozen(model):
        raise RuntimeError("boom")
    assert all(m.training for m in model.modules())


class _BadShape(nn.Module):
    repr_dim = 4

    def forward(self, states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        return torch.zeros(actions.shape[0], actions.shape[1], 4)  # t = 0 missing


class _NaNModel(nn.Module):
    repr_dim = 4

    def forward(self, states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        return torch.full((actions.shape[0], actions.shape[1] + 1, 4), float("nan"))


def test_contract_violations_get_clear_errors(probe_data: Path) -> None:
    from jepa_world.data.files import open_split

    split = open_split(probe_data / "probe_normal/val")
    with pytest.raises(ValueError, match=r"expects \(B, T, repr_dim\) = \(64, 17, 4\)"):
        compute_representations(_BadShape(), split, torch.device("cpu"), name="probe_normal/val")
    with pytest.raises(FloatingPointError, match="non-finite"):
        compute_representations(_NaNModel(), split, torch.device("cpu"))
    with pytest.raises(TypeError, match="repr_dim"):
        ProbeRunner(nn.Linear(2, 2), probe_data)


def test_large_caches_spill_to_disk_with_the_same_values(probe_data: Path) -> None:
    from jepa_world.data.files import open_split

    split = open_split(probe_data / "probe_normal/val")
    cpu = torch.device("cpu")
    in_ram = compute_representations(OracleModel(4), split, cpu, batch_size=16)
    on_disk = compute_representations(OracleModel(4), split, cpu, batch_size=16, max_cache_bytes=0)
    assert torch.equal(in_ram, on_disk)


def test_mock_model_scores_the_variance_of_the_locations(
    probe_data: Path, location_variance: Callable[[Path], float]
) -> None:
    result = evaluate(MockModel(64), probe_data, sets=("normal", "wall"), progress=False)
    for name, split in (("normal", "probe_normal/val"), ("wall", "probe_wall/val")):
        variance = location_variance(probe_data / split)
        assert result.losses[name] == pytest.approx(variance, rel=0.10), name
    assert len(result.sets["normal"].per_timestep) == 17
    assert result.sets["normal"].mse == pytest.approx(np.mean(result.sets["normal"].per_timestep))


def test_oracle_scores_near_zero(probe_data: Path) -> None:
    # 256 training trajectories give the default 20 epochs only 80 prober steps at a learning
    # rate of at most 5e-5; 100 epochs let the prober fit what the oracle knows.
    result = evaluate(
        OracleModel(256),
        probe_data,
        sets=("normal", "wall", "wall_other"),
        epochs=100,
        progress=False,
    )
    for name, loss in result.losses.items():
        assert loss < 1.0, (name, loss)  # pixels², against a variance of ~170-270


def test_sets_share_the_normal_prober_and_expert_has_its_own(probe_data: Path) -> None:
    evaluator = ProbeRunner(
        MockModel(8), probe_data, ProbeSettings(device="cpu", epochs=1, progress=False)
    )
    result = evaluator.run(("normal", "wall", "expert"))
    assert set(evaluator._probers) == {"probe_normal/train", "probe_expert/train"}
    assert result.sets["wall"].train_split == "probe_normal/train"
    assert result.sets["expert"].train_split == "probe_expert/train"
    assert len(result.sets["expert"].per_timestep) == 33  # every timestep is scored


def test_missing_sets_are_skipped_with_a_note(probe_data: Path, tmp_path: Path) -> None:
    partial = tmp_path / "data"
    (partial / "probe_normal").mkdir(parents=True)
    for split in ("train", "val"):
        (partial / "probe_normal" / split).symlink_to(probe_data / "probe_normal" / split)
    result = evaluate(MockModel(8), partial, epochs=1, progress=False)
    assert list(result.sets) == ["normal"]
    assert set(result.skipped) == {"wall", "wall_other", "expert"}
    assert any("skipped wall:" in note and "probe_wall/val" in note for note in result.notes)
    with pytest.raises(ProbeDataError, match="required"):
        ProbeRunner(MockModel(8), partial, ProbeSettings(progress=False)).run(
            ("wall",), require=("wall",)
        )
    with pytest.raises(ProbeDataError, match="not found"):
        evaluate(MockModel(8), tmp_path / "nowhere", progress=False)


def test_repeats_reuse_the_representations_and_report_the_prober_noise(probe_data: Path) -> None:
    calls: list[int] = []

    class Counting(OracleModel):
        def forward(self, states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
            calls.append(states.shape[0])
            return super().forward(states, actions)

    repeated = evaluate_repeated(
        Counting(16), probe_data, 3, sets=("normal",), epochs=2, seed=5, progress=False
    )
    assert repeated.seeds == [5, 6, 7]
    values = repeated.values("normal")
    assert len(values) == 3 and len(set(values)) == 3  # other prober seeds, other scores
    assert repeated.means["normal"] == pytest.approx(float(np.mean(values)))
    assert repeated.stdevs["normal"] == pytest.approx(float(np.std(values, ddof=1)))
    # Each split went through the model once, whatever the number of repeats.
    single = []
    calls_before = len(calls)
    evaluate(Counting(16), probe_data, sets=("normal",), epochs=2, seed=5, progress=False)
    single = calls[calls_before:]
    assert sum(calls[:calls_before]) == sum(single)
    assert (
        repeated.runs[0].losses
        == evaluate(
            OracleModel(16), probe_data, sets=("normal",), epochs=2, seed=5, progress=False
        ).losses
    )


def test_settings_are_checked_and_unknown_names_refused() -> None:
    with pytest.raises(ValueError, match="ProbeSettings.epochs must be >= 1"):
        ProbeSettings(epochs=0)
    with pytest.raises(ValueError, match="max_val"):
        ProbeSettings(max_val=0)
    with pytest.raises(TypeError, match="unknown probe setting"):
        ProbeSettings().replace(epoch=3)
    with pytest.raises(ValueError, match="repeats"):
        evaluate_repeated(MockModel(8), ".", 0)


def test_probe_mse_metric_equals_the_course_formula() -> None:
    """torchmetrics' ProbeMSE against the course loop: mean over batches of each batch's
    per-timestep, per-coordinate MSE, × std², averaged over x/y and time."""
    from jepa_world.probing.fitting import ProbeMSE
    from jepa_world.probing.prober import (
        LOCATION_STD,
        mse_pixels_per_timestep,
    )

    g = torch.Generator().manual_seed(3)
    batches = [
        (torch.randn(64, 17, 2, generator=g), torch.randn(64, 17, 2, generator=g)) for _ in range(5)
    ]
    metric = ProbeMSE(17, sync_on_compute=False)
    course_sum = torch.zeros(17, 2, dtype=torch.float64)
    for pred, target in batches:
        metric.update(pred, target)
        course_sum += ((pred.double() - target.double()) ** 2).mean(dim=0)  # the template's loop
    course = course_sum / len(batches)
    assert torch.allclose(metric.compute().double(), course, rtol=0, atol=1e-6)
    std = torch.tensor(LOCATION_STD, dtype=torch.float64)
    course_px = float((course * std**2).mean())
    assert float(mse_pixels_per_timestep(metric.compute()).mean()) == pytest.approx(
        course_px, rel=1e-6
    )


def test_a_half_precision_cache_halves_the_bytes_and_keeps_the_scores(probe_data: Path) -> None:
    from jepa_world.data.files import open_split

    split = open_split(probe_data / "probe_normal/val")
    cpu = torch.device("cpu")
    full = compute_representations(OracleModel(4), split, cpu, batch_size=16)
    for max_bytes in (None, 0):  # in RAM, then in a temporary file
        extra = {} if max_bytes is None else {"max_cache_bytes": max_bytes}
        half = compute_representations(
            OracleModel(4), split, cpu, batch_size=16, cache_dtype=torch.float16, **extra
        )
        assert half.dtype == torch.float16 and half.element_size() * 2 == full.element_size()
        torch.testing.assert_close(half.float(), full, rtol=1e-3, atol=1e-3)
    settings = dict(sets=("normal", "expert"), epochs=2, progress=False)
    exact = evaluate(OracleModel(16), probe_data, **settings).losses
    halved = evaluate(OracleModel(16), probe_data, cache_dtype="float16", **settings).losses
    for name in exact:
        assert halved[name] == pytest.approx(exact[name], rel=0.01), name
    with pytest.raises(ValueError, match="cache_dtype must be one of float32, float16"):
        ProbeSettings(cache_dtype="float64")


def test_each_cache_is_dropped_after_the_last_set_that_needs_it(probe_data: Path) -> None:
    sets = ("normal", "wall", "wall_other", "expert")
    settings = ProbeSettings(device="cpu", epochs=1, progress=False, max_cache_bytes=0)
    runner = ProbeRunner(OracleModel(8), probe_data, settings)
    size = {s: runner.cache_bytes(s) for s in ("probe_normal/train", "probe_expert/train")}
    size.update({f"probe_{n}/val": runner.cache_bytes(f"probe_{n}/val") for n in sets})
    assert runner.peak_disk_bytes(sets) == sum(size.values())
    # With release the expert pair and the normal train split with one val split are the peaks.
    normal_peak = size["probe_normal/train"] + max(size[f"probe_{n}/val"] for n in sets[:3])
    expert_peak = size["probe_expert/train"] + size["probe_expert/val"]
    assert runner.peak_disk_bytes(sets, release=True) == max(normal_peak, expert_peak)
    assert size["probe_normal/train"] == 4 * 256 * 17 * 8  # float32, N x T x D
    kept = ProbeRunner(OracleModel(8), probe_data, settings).run(sets)
    released = runner.run(sets, release=True)
    assert runner._representations == {}
    assert released.losses == kept.losses
    assert released.sets["wall"].n_train == 256  # read before the cache went


def test_a_disk_too_small_for_the_cache_is_refused_before_any_work(
    probe_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from types import SimpleNamespace

    from jepa_world.probing import cache_space
    from jepa_world.probing.cache_space import CacheSpaceError

    calls: list[int] = []

    class Counting(OracleModel):
        def forward(self, states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
            calls.append(states.shape[0])
            return super().forward(states, actions)

    tiny = SimpleNamespace(total=10**6, used=10**6 - 1000, free=1000)
    monkeypatch.setattr(cache_space.shutil, "disk_usage", lambda _: tiny)
    settings = dict(sets=("normal",), epochs=1, progress=False, max_cache_bytes=0)
    with pytest.raises(CacheSpaceError, match=r"--cache_dtype float16") as caught:
        evaluate(Counting(8), probe_data, **settings)
    assert "GiB of temporary files in" in str(caught.value) and calls == []
    # Small enough for RAM: nothing goes to disk, nothing is refused.
    assert evaluate(Counting(8), probe_data, sets=("normal",), epochs=1, progress=False).losses
    # Each file is checked too, when it is created.
    from jepa_world.data.files import open_split

    split = open_split(probe_data / "probe_normal/val")
    with pytest.raises(CacheSpaceError, match="probe_normal/val: its representations"):
        compute_representations(
            OracleModel(8), split, torch.device("cpu"), max_cache_bytes=0, name="probe_normal/val"
        )


def test_caches_already_held_are_not_asked_for_twice(
    probe_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from types import SimpleNamespace

    from jepa_world.probing import cache_space
    from jepa_world.probing.cache_space import CacheSpaceError

    settings = ProbeSettings(device="cpu", epochs=1, progress=False, max_cache_bytes=0)
    runner = ProbeRunner(OracleModel(8), probe_data, settings)
    first = runner.run(("normal",))  # holds probe_normal/train and /val on disk
    monkeypatch.setattr(cache_space.shutil, "disk_usage", lambda _: SimpleNamespace(free=1000))
    assert runner.run(("normal",)).losses == first.losses  # nothing new to cache
    with pytest.raises(CacheSpaceError, match="probing wall"):
        runner.run(("wall",))  # probe_wall/val is new
