"""Numerical faults during ``jepa fit``: a NaN loss stops the run cleanly, collapse is reported.

The faults are injected through the command line, as a user would plug in their own classes:
``robustness_helpers.NaNAtStep`` (a strategy whose variance term turns NaN at a given step) and
``robustness_helpers.ConstantEncoder`` (an encoder collapsed by construction).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from robustness_helpers import Variant

from jepa_world import cli
from jepa_world.checkpoints import load_model
from jepa_world.data import files


def _finite(checkpoint: Path) -> bool:
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)["state_dict"]
    return all(bool(torch.isfinite(v).all()) for v in state.values() if v.is_floating_point())


def _step(checkpoint: Path) -> int:
    return int(torch.load(checkpoint, map_location="cpu", weights_only=False)["global_step"])


NAN_RUN = [
    "--model.strategy",
    "robustness_helpers.NaNAtStep",
    "--model.strategy.init_args.step",
    "7",
    "--checkpoint.every_n_train_steps",
    "5",
    "--trainer.max_steps",
    "20",
]
CHECKPOINTS = Path("runs/tiny/version_0/checkpoints")


def test_nan_loss_stops_at_its_step_naming_the_term_and_keeps_the_last_good_checkpoint(
    tiny_config: Path, tmp_path: Path
) -> None:
    with pytest.raises(FloatingPointError) as info:
        cli.main(["fit", "--config", str(tiny_config), *NAN_RUN])
    message = str(info.value)
    assert "Non-finite loss at global step 7" in message
    assert "variance = nan" in message and "loss = nan" in message
    assert "prediction" not in message  # the finite terms are not blamed
    last = CHECKPOINTS / "last.ckpt"
    assert _step(last) == 5 and _finite(last)
    states, actions = torch.rand(2, 1, 2, 65, 65) * 0.09, torch.randn(2, 4, 2)
    with torch.no_grad():
        assert torch.isfinite(load_model(last)(states, actions)).all()
    assert cli.main(["export", str(last), "--out", str(tmp_path / "model_weights.pth")]) == 0


def test_a_checkpoint_saved_on_the_nan_exception_holds_the_last_good_weights(
    tiny_config: Path,
) -> None:
    """The bad step is never applied, so even a save triggered by the exception is sound."""
    with pytest.raises(FloatingPointError, match="global step 7"):
        cli.main(
            [
                "fit",
                "--config",
                str(tiny_config),
                *NAN_RUN,
                "--checkpoint.save_on_exception",
                "true",
            ]
        )
    last = CHECKPOINTS / "last.ckpt"
    assert _step(last) == 7 and _finite(last)


def test_nan_in_data_past_the_sampled_check_is_blamed_on_the_data(
    tiny_data: Path, tiny_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Large files are checked on a sample of trajectories; a NaN elsewhere is caught at its batch."""
    monkeypatch.setattr(files, "_FULL_CHECK_LIMIT", 0)  # as for a file of many gigabytes
    variant = Variant(tiny_data, tmp_path / "data")

    def poison(states: np.ndarray) -> np.ndarray:
        states = states.copy()
        states[1, 5, 0, 20, 20] = np.nan  # trajectory 1 is not among the 8 sampled of 24
        return states

    variant.edit("train", "states.npy", poison)
    files.open_split(variant.root / "train")  # the sampled check passes
    with pytest.raises(FloatingPointError) as info:
        cli.main(
            [
                "fit",
                "--config",
                str(tiny_config),
                "--data.data_dir",
                str(variant.root),
                "--data.val_fraction",
                "0",
            ]
        )
    message = str(info.value)
    assert "Non-finite loss at global step" in message
    assert (
        "The batch itself holds NaN or Inf in 'states'" in message
        and "the data is damaged" in message
    )


COLLAPSED = [
    "--model.encoder",
    "robustness_helpers.ConstantEncoder",
    "--model.encoder.init_args.repr_dim",
    "16",
    "--collapse.check_every_n_steps",
    "2",
    "--trainer.max_steps",
    "12",
]


def test_collapse_warns_at_every_check_and_the_run_goes_on_by_default(tiny_config: Path) -> None:
    with pytest.warns(UserWarning, match="Representation collapse at step") as record:
        run = cli.run_lightning(["fit", "--config", str(tiny_config), *COLLAPSED])
    steps = [
        str(w.message).split("collapse at step ")[1].split(":")[0]
        for w in record
        if "Representation collapse" in str(w.message)
    ]
    assert steps == ["2", "4", "6", "8", "10", "12"]
    assert run.trainer.global_step == 12


def test_collapse_stops_the_run_after_patience_checks(tiny_config: Path) -> None:
    with pytest.warns(UserWarning, match=r"check 3 of 3") as record:
        run = cli.run_lightning(
            ["fit", "--config", str(tiny_config), *COLLAPSED, "--collapse.patience", "3"]
        )
    assert any("stopping training after 3 collapsed checks" in str(w.message) for w in record)
    assert run.trainer.global_step == 6
    assert math.isfinite(float(run.trainer.callback_metrics["train/loss"]))
