"""Bad checkpoints and weights files, through every command that reads one.

``jepa probe --ckpt``, ``jepa export`` and ``jepa fit --ckpt_path`` read Lightning checkpoints;
``jepa probe`` and ``python main.py --weights`` read ``model_weights.pth``. Each damaged or
foreign file must give one line naming the file, what it is, and what was expected.
"""

from __future__ import annotations

import copy
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from robustness_helpers import ROOT

from jepa_world import cli
from jepa_world.models import ConvEncoder, MLPPredictor, WorldModel

Maker = Callable[[Path, Path, Path], Path]  # (good checkpoint, good weights, folder) -> bad file


@dataclass(frozen=True)
class Bad:
    """A bad file, the commands that must refuse it, and what their message must contain."""

    name: str
    make: Maker
    expect: tuple[str, ...]
    commands: tuple[str, ...]


def _bytes(name: str, data: Callable[[bytes], bytes], source: str = "ckpt") -> Maker:
    def make(ckpt: Path, weights: Path, folder: Path) -> Path:
        out = folder / name
        out.write_bytes(data((ckpt if source == "ckpt" else weights).read_bytes()))
        return out

    return make


def _saved(name: str, payload: Callable[[dict, dict], object]) -> Maker:
    def make(ckpt: Path, weights: Path, folder: Path) -> Path:
        out = folder / name
        checkpoint = torch.load(ckpt, map_location="cpu", weights_only=False)
        stored = torch.load(weights, map_location="cpu", weights_only=True)
        torch.save(payload(checkpoint, stored), out)
        return out

    return make


def _wider_hyper_parameters(checkpoint: dict, stored: dict) -> dict:
    changed = copy.deepcopy(checkpoint)
    for part in ("encoder", "predictor"):
        changed["hyper_parameters"][part]["init_args"]["repr_dim"] = 32
    return changed


def _weights_of_another_model(checkpoint: dict, stored: dict) -> dict:
    torch.manual_seed(0)
    other = WorldModel(
        ConvEncoder(repr_dim=32, wall_dim=4, agent_channels=[4, 8], wall_channels=[2, 4]),
        MLPPredictor(repr_dim=32, hidden_dim=32),
    )
    return {**stored, "state_dict": other.state_dict()}


def _class_elsewhere(checkpoint: dict, stored: dict) -> dict:
    changed = copy.deepcopy(stored)
    changed["encoder"]["class_path"] = "my_models.BigEncoder"
    return changed


CKPT = ("probe", "export", "fit")
PTH = ("probe", "main")
BAD = [
    Bad(
        "missing .ckpt",
        lambda c, w, f: f / "nothing.ckpt",
        ("nothing.ckpt", "checkpoint", "expected"),
        CKPT,
    ),
    Bad(
        "truncated .ckpt",
        _bytes("half.ckpt", lambda b: b[: len(b) // 2]),
        ("half.ckpt: cannot be read as a torch checkpoint", "truncated"),
        CKPT,
    ),
    Bad(
        "empty .ckpt",
        _bytes("empty.ckpt", lambda b: b""),
        ("empty.ckpt: cannot be read as a torch checkpoint",),
        CKPT,
    ),
    Bad(
        "text file as .ckpt",
        _bytes("notes.ckpt", lambda b: b"not a checkpoint\n"),
        ("notes.ckpt: cannot be read as a torch checkpoint", "not a checkpoint"),
        CKPT,
    ),
    Bad(
        "pickled list as .ckpt",
        _saved("list.ckpt", lambda c, s: [1, 2, 3]),
        ("list.ckpt: not a Lightning checkpoint (found list", "expected"),
        CKPT,
    ),
    Bad(
        "checkpoint of another LightningModule",
        _saved(
            "other.ckpt",
            lambda c, s: {
                "state_dict": {"layer.weight": torch.zeros(2, 2)},
                "pytorch-lightning_version": "2.6.0",
                "loops": {},
                "optimizer_states": [],
            },
        ),
        ("other.ckpt: a Lightning checkpoint, but not of JEPAModule", "no 'world_model.*' weights"),
        CKPT,
    ),
    Bad(
        "checkpoint of another architecture",
        _saved("wider.ckpt", _wider_hyper_parameters),
        ("wider.ckpt", "weights do not fit the model", "(12, 2312) there, (28, 2312) here"),
        CKPT,
    ),
    Bad(
        "missing model_weights.pth",
        lambda c, w, f: f / "nothing.pth",
        ("nothing.pth", "expected"),
        PTH,
    ),
    Bad(
        "truncated model_weights.pth",
        _bytes("half.pth", lambda b: b[: len(b) // 2], "pth"),
        ("half.pth: cannot be read as a torch file", "truncated"),
        PTH,
    ),
    Bad(
        "text file as model_weights.pth",
        _bytes("notes.pth", lambda b: b"hello", "pth"),
        ("notes.pth: cannot be read as a torch file", "not a weights file"),
        PTH,
    ),
    Bad(
        "bare state dict",
        _saved("bare.pth", lambda c, s: s["state_dict"]),
        (
            "bare.pth: not a jepa-world weights file",
            "expected 'jepa-world/world-model'",
            "bare state dict",
        ),
        PTH,
    ),
    Bad(
        "Lightning checkpoint named .pth",
        _bytes("run.pth", lambda b: b),
        ("run.pth: not a jepa-world weights file", "convert it with `jepa export`"),
        PTH,
    ),
    Bad(
        "weights of another architecture",
        _saved("other.pth", _weights_of_another_model),
        (
            "other.pth: the stored weights do not fit the model described in the file",
            "encoder.agent.2.weight is (28, 2312) there, (12, 2312) here",
        ),
        PTH,
    ),
    Bad(
        "model class not importable",
        _saved("elsewhere.pth", _class_elsewhere),
        (
            "elsewhere.pth: the encoder class 'my_models.BigEncoder' is not from a trusted package",
            "--trust-modules my_models",
        ),
        PTH,
    ),
    Bad(
        "newer weights format",
        _saved("future.pth", lambda c, s: {**s, "format_version": 99}),
        ("future.pth: format version 99 is newer than this code reads",),
        PTH,
    ),
    Bad(
        "model_weights.pth given to export or resume",
        _bytes("weights.ckpt", lambda b: b, "pth"),
        ("weights.ckpt: a model_weights.pth", "holds the model only"),
        ("export", "fit"),
    ),
]

CASES = [(bad, command) for bad in BAD for command in bad.commands]


def _course_main() -> Callable[[list[str]], object]:
    spec = importlib.util.spec_from_file_location("course_main", ROOT / "main.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def run_command(command: str, path: Path, data: Path, config: Path, folder: Path) -> str:
    """Run ``command`` on ``path`` in this process; return its error message."""
    argv = {
        "probe": [
            "probe",
            "--ckpt",
            str(path),
            "--data",
            str(data),
            "--out",
            str(folder / "report"),
            "--progress",
            "false",
            "--plots",
            "false",
        ],
        "export": ["export", str(path), "--out", str(folder / "exported.pth")],
        "fit": ["fit", "--config", str(config), "--ckpt_path", str(path)],
    }
    with pytest.raises(SystemExit) as info:
        if command == "main":
            _course_main()(["--weights", str(path), "--data", str(data), "--no-progress"])
        else:
            cli.main(argv[command])
    assert not (folder / "exported.pth").exists() and not (folder / "report").exists()
    return str(info.value)


@pytest.mark.parametrize(("bad", "command"), CASES, ids=[f"{c}: {b.name}" for b, c in CASES])
def test_bad_file_is_refused_in_one_clear_line(
    bad: Bad,
    command: str,
    trained_checkpoint: Path,
    trained_weights: Path,
    tiny_data: Path,
    tiny_config: Path,
    tmp_path: Path,
) -> None:
    path = bad.make(trained_checkpoint, trained_weights, tmp_path)
    message = run_command(command, path, tiny_data, tiny_config, tmp_path)
    for phrase in bad.expect:
        assert phrase in message, f"{phrase!r} not in: {message}"
    assert len(message) < 700, message


def test_a_good_checkpoint_and_its_weights_still_load(
    trained_checkpoint: Path, trained_weights: Path
) -> None:
    """The checks above refuse only what is broken."""
    from jepa_world.checkpoints import check_training_checkpoint, load_model
    from jepa_world.models import load_world_model

    check_training_checkpoint(trained_checkpoint)
    states, actions = torch.zeros(2, 1, 2, 65, 65), torch.zeros(2, 3, 2)
    with torch.no_grad():
        expected = load_model(trained_checkpoint).eval()(states, actions)
        torch.testing.assert_close(
            load_world_model(trained_weights).eval()(states, actions), expected
        )
