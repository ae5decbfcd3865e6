"""Bad data and bad configuration, through ``jepa fit``: one clear error before training starts.

Each case is a row of a table: how the data set or the command line is damaged, and the words the
error must contain, the culprit (file or option) and what was expected. The data cases damage a
copy of a tiny generated data set whose untouched files are symbolic links to the original.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from robustness_helpers import Variant

from jepa_world import cli
from jepa_world.module import JEPAModule

PROBING = ["--trainer.callbacks+=jepa_world.probing.callback.ProbingCallback"]


def with_value(index: tuple[int, ...], value: float) -> Callable[[np.ndarray], np.ndarray]:
    def change(array: np.ndarray) -> np.ndarray:
        array = array.copy()
        array[index] = value
        return array

    return change


@dataclass(frozen=True)
class Case:
    """One bad input: how to damage the data (or nothing), extra ``jepa fit`` options, and the
    phrases the error must contain (the culprit first, then what was expected)."""

    name: str
    damage: Callable[[Variant], None] | None
    expect: tuple[str, ...]
    options: tuple[str, ...] = field(default=())
    data_dir: Callable[[Path], Path] | None = None


DATA_CASES = [
    Case(
        "missing data directory",
        None,
        ("nowhere/train: split directory not found", "expected a data set with train/"),
        data_dir=lambda root: root / "nowhere",
    ),
    Case(
        "data_dir is a split, not a data set",
        None,
        ("train/train: split directory not found", "expected a data set"),
        data_dir=lambda root: root / "train",
    ),
    Case(
        "missing train split",
        lambda v: v.remove("train"),
        ("train: split directory not found", "expected"),
    ),
    Case(
        "missing states.npy",
        lambda v: v.remove("train", "states.npy"),
        ("train/states.npy: file not found", "expected the states (N, T, 2, 65, 65)"),
    ),
    Case(
        "missing actions.npy",
        lambda v: v.remove("train", "actions.npy"),
        ("train/actions.npy: file not found", "expected the actions (N, T-1, 2)"),
    ),
    Case(
        "truncated states.npy",
        lambda v: v.write(
            "train", "states.npy", (v.source / "train/states.npy").read_bytes()[:50_000]
        ),
        ("train/states.npy: file is truncated: 50000 bytes", "expected a complete file"),
    ),
    Case(
        "truncated actions.npy (header cut)",
        lambda v: v.write(
            "train", "actions.npy", (v.source / "train/actions.npy").read_bytes()[:40]
        ),
        ("train/actions.npy: not a readable .npy file", "expected a NumPy array file"),
    ),
    Case(
        "corrupt actions.npy (not numpy)",
        lambda v: v.write("train", "actions.npy", b"\x00garbage" * 100),
        ("train/actions.npy: not a readable .npy file", "expected a NumPy array file"),
    ),
    Case(
        "states float64",
        lambda v: v.edit("train", "states.npy", lambda a: a.astype(np.float64)),
        ("train/states.npy: dtype is float64", "expected float32"),
    ),
    Case(
        "actions int32",
        lambda v: v.edit("train", "actions.npy", lambda a: a.astype(np.int32)),
        ("train/actions.npy: dtype is int32", "expected float32"),
    ),
    Case(
        "states rank 4 (one channel)",
        lambda v: v.edit("train", "states.npy", lambda a: a[:, :, 0]),
        ("train/states.npy: array has rank 4", "expected rank 5: (N, T, 2, 65, 65)"),
    ),
    Case(
        "states 64x64 frames",
        lambda v: v.edit("train", "states.npy", lambda a: np.ascontiguousarray(a[..., :64, :64])),
        ("train/states.npy: frames are 64x64", "expected 65x65"),
    ),
    Case(
        "states Fortran-ordered",
        lambda v: v.edit("train", "states.npy", np.asfortranarray),
        ("train/states.npy: array is Fortran-ordered", "expected C order"),
    ),
    Case(
        "actions for fewer trajectories than states",
        lambda v: v.edit("train", "actions.npy", lambda a: a[:-1]),
        ("train/actions.npy: shape is (23, 16, 2)", "expected (N, T-1, 2) = (24, 16, 2)"),
    ),
    Case(
        "actions one step short",
        lambda v: v.edit("train", "actions.npy", lambda a: np.ascontiguousarray(a[:, :-1])),
        ("train/actions.npy: shape is (24, 15, 2)", "expected (N, T-1, 2) = (24, 16, 2)"),
    ),
    Case(
        "actions as long as the states",
        lambda v: v.edit("train", "actions.npy", lambda a: np.concatenate([a, a[:, :1]], 1)),
        ("train/actions.npy: shape is (24, 17, 2)", "expected (N, T-1, 2) = (24, 16, 2)"),
    ),
    Case(
        "actions with 3 components",
        lambda v: v.edit("train", "actions.npy", lambda a: np.concatenate([a, a[..., :1]], -1)),
        ("train/actions.npy: shape is (24, 16, 3)", "expected (N, T-1, 2)"),
    ),
    Case(
        "NaN in states",
        lambda v: v.edit("train", "states.npy", with_value((5, 3, 0, 30, 30), np.nan)),
        (
            "train/states.npy: found NaN or Inf values (first at index [5, 3, 0, 30, 30])",
            "expected finite numbers",
        ),
    ),
    Case(
        "Inf in states",
        lambda v: v.edit("train", "states.npy", with_value((0, 0, 1, 0, 0), np.inf)),
        ("train/states.npy: found NaN or Inf", "expected finite numbers"),
    ),
    Case(
        "NaN in actions",
        lambda v: v.edit("train", "actions.npy", with_value((7, 2, 1), np.nan)),
        (
            "train/actions.npy: found NaN or Inf values (first at index [7, 2, 1])",
            "expected finite numbers",
        ),
    ),
    Case(
        "Inf in actions",
        lambda v: v.edit("train", "actions.npy", with_value((23, 15, 0), -np.inf)),
        ("train/actions.npy: found NaN or Inf", "expected finite numbers"),
    ),
    Case(
        "empty split",
        lambda v: (
            v.edit("train", "states.npy", lambda a: a[:0]),
            v.edit("train", "actions.npy", lambda a: a[:0]),
            v.edit("train", "layouts.npy", lambda a: a[:0]),
        ),
        ("train/states.npy: split is empty (N = 0)", "expected at least one trajectory"),
    ),
    Case(
        "one-frame trajectories",
        lambda v: (
            v.edit("train", "states.npy", lambda a: np.ascontiguousarray(a[:, :1])),
            v.edit("train", "actions.npy", lambda a: np.ascontiguousarray(a[:, :0])),
        ),
        ("train/states.npy: trajectories have T = 1 frames", "expected T >= 2"),
    ),
    Case(
        "split.json not JSON",
        lambda v: v.write("train", "split.json", b"{storage_dtype: uint8"),
        ("train/split.json: not valid JSON", "expected the split description"),
    ),
    Case(
        "split.json names another dtype",
        lambda v: v.write(
            "train", "split.json", json.dumps({"storage_dtype": "uint8", "scale": 0.001}).encode()
        ),
        ("train/states.npy: dtype is float32", "expected uint8"),
    ),
    Case(
        "split.json with an unknown dtype",
        lambda v: v.write("train", "split.json", json.dumps({"storage_dtype": "int4"}).encode()),
        ("train/split.json: storage_dtype is 'int4'", "expected one of float32, float16, uint8"),
    ),
    Case(
        "layouts.npy float64",
        lambda v: v.edit("train", "layouts.npy", lambda a: a.astype(np.float64)),
        ("train/layouts.npy: dtype is float64", "expected int64"),
    ),
    Case(
        "probe locations for fewer trajectories",
        lambda v: v.edit("probe_normal/val", "locations.npy", lambda a: a[:-2]),
        ("probe_normal/val/locations.npy: shape is (6, 17, 2)", "expected (N, T, 2) = (8, 17, 2)"),
        tuple(PROBING),
    ),
    Case(
        "probe split without locations.npy",
        lambda v: v.remove("probe_normal/train", "locations.npy"),
        ("probe_normal/train/locations.npy: file not found", "expected locations (N, T, 2)"),
        tuple(PROBING),
    ),
    Case(
        "NaN in probe locations",
        lambda v: v.edit("probe_wall/val", "locations.npy", with_value((1, 1, 0), np.nan)),
        ("probe_wall/val/locations.npy: found NaN or Inf", "expected finite numbers"),
        tuple(PROBING),
    ),
    Case(
        "probe set missing for the probing callback",
        lambda v: v.remove("probe_normal"),
        ("probe set 'normal' is needed but missing", "probe_normal/train", "generate it"),
        tuple(PROBING),
    ),
]

CONFIG_CASES = [
    Case(
        "unknown strategy class",
        None,
        ('"model.strategy"', "jepa_world.strategies.NoSuchStrategy", "has no attribute"),
        ("--model.strategy", "jepa_world.strategies.NoSuchStrategy"),
    ),
    Case(
        "strategy that is not a LossStrategy",
        None,
        ('"model.strategy"', "torch.nn.Linear"),
        ("--model.strategy", "torch.nn.Linear"),
    ),
    Case(
        "misspelled strategy option",
        None,
        ("std_wieght",),
        ("--model.strategy.init_args.std_wieght", "2"),
    ),
    Case(
        "negative std_weight",
        None,
        ("VICReg: std_weight must be >= 0, got -1.0",),
        ("--model.strategy.init_args.std_weight", "-1"),
    ),
    Case(
        "negative cov_weight",
        None,
        ("VICReg: cov_weight must be >= 0, got -0.5",),
        ("--model.strategy.init_args.cov_weight", "-0.5"),
    ),
    Case(
        "negative learning rate",
        None,
        ("JEPAModule: lr must be > 0, got -0.001",),
        ("--model.lr", "-0.001"),
    ),
    Case(
        "negative weight decay",
        None,
        ("JEPAModule: weight_decay must be >= 0",),
        ("--model.weight_decay", "-1"),
    ),
    Case(
        "encoder and predictor sizes differ",
        None,
        ("repr_dim=16", "repr_dim=32", "set both to the same value"),
        ("--model.predictor.init_args.repr_dim", "32"),
    ),
    Case(
        "window longer than the trajectories",
        None,
        ("window: 30 frames requested", "T = 17", "expected window <= 17"),
        ("--data.window", "30"),
    ),
    Case(
        "window of one frame",
        None,
        ("window: expected at least 2 frames, got 1",),
        ("--data.window", "1"),
    ),
    Case(
        "batch larger than the split",
        None,
        ("batch_size: 1000 is larger than the 266 training windows", "lower it"),
        ("--data.batch_size", "1000"),
    ),
    Case(
        "batch size zero", None, ("batch_size: expected >= 1, got 0",), ("--data.batch_size", "0")
    ),
    Case(
        "val_fraction above 1",
        None,
        ("val_fraction: expected a fraction in [0, 1), got 1.5",),
        ("--data.val_fraction", "1.5"),
    ),
    Case(
        "val_fraction leaving no training data",
        None,
        ("val_fraction: 0.99 of 24 trajectories leaves none for training",),
        ("--data.val_fraction", "0.99"),
    ),
    Case(
        "negative num_workers",
        None,
        ("num_workers: expected >= 0, got -1",),
        ("--data.num_workers", "-1"),
    ),
    Case(
        "unknown probe set",
        None,
        ("ProbingCallback: unknown set 'nromal'", "expected some of"),
        (*PROBING, "--trainer.callbacks.sets", "[nromal]"),
    ),
    Case(
        "collapse patience zero",
        None,
        ("CollapseMonitor: patience must be >= 1",),
        ("--collapse.patience", "0"),
    ),
]


@pytest.fixture(autouse=True)
def no_training(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any case that reaches a training step fails: every error must come before."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("training started")

    monkeypatch.setattr(JEPAModule, "training_step", refuse)


def fit_error(options: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run ``jepa fit`` in this process and return its error: the exception text and stderr."""
    with pytest.raises((SystemExit, TypeError)) as info:
        cli.main(["fit", *options])
    return f"{info.value}\n{capsys.readouterr().err}"


@pytest.mark.parametrize("case", DATA_CASES, ids=[c.name for c in DATA_CASES])
def test_bad_data_is_named_before_training(
    case: Case,
    tiny_data: Path,
    tiny_config: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    variant = Variant(tiny_data, tmp_path / "data")
    if case.damage is not None:
        case.damage(variant)
    data_dir = case.data_dir(variant.root) if case.data_dir else variant.root
    error = fit_error(
        ["--config", str(tiny_config), "--data.data_dir", str(data_dir), *case.options], capsys
    )
    for phrase in case.expect:
        assert phrase in error, f"{phrase!r} not in the error:\n{error}"


@pytest.mark.parametrize("case", CONFIG_CASES, ids=[c.name for c in CONFIG_CASES])
def test_bad_config_is_named_before_training(
    case: Case, tiny_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    error = fit_error(["--config", str(tiny_config), *case.options], capsys)
    for phrase in case.expect:
        assert phrase in error, f"{phrase!r} not in the error:\n{error}"


def test_config_errors_exit_with_the_message_and_show_the_traceback_on_request(
    tiny_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    options = ["fit", "--config", str(tiny_config), "--model.strategy.init_args.std_weight", "-1"]
    with pytest.raises(SystemExit) as info:
        cli.main(options)
    assert "VICReg: std_weight must be >= 0" in str(info.value)
    assert "JEPA_TRACEBACK=1" in str(info.value)
    monkeypatch.setenv("JEPA_TRACEBACK", "1")
    with pytest.raises(ValueError, match="std_weight must be >= 0"):
        cli.main(options)
