"""Files crafted to run code are refused by every command that reads one, with no side effect.

Each payload, if it ran, would create a marker file (by a subprocess, by an import-time side
effect of a foreign package, or by a function called during unpickling). The tests feed the
crafted file to ``main.py``, ``jepa probe``, ``jepa export`` and ``jepa fit --ckpt_path``,
check the one-line refusal, and check that the marker does not exist.
"""

from __future__ import annotations

import copy
import fractions
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from test_bad_checkpoints import run_command

from jepa_world import cli
from jepa_world.checkpoints import CheckpointError, check_training_checkpoint, load_model
from jepa_world.models import WorldModelFileError, load_world_model
from jepa_world.trust import TRUST_PICKLE_ENV, TRUSTED_MODULES_ENV

#: A package that leaves a marker when imported and when its encoder is built.
EVIL_PACKAGE = """
from pathlib import Path
import os
from torch import nn

Path(os.environ["JEPA_TEST_MARKER"]).write_text("imported")


class Encoder(nn.Module):
    def __init__(self, repr_dim: int = 8) -> None:
        super().__init__()
        Path(os.environ["JEPA_TEST_MARKER"]).write_text("built")
        self.repr_dim = repr_dim
"""

#: A user's own encoder in a package of their own: loads once that package is trusted.
OWN_PACKAGE = """
from jepa_world.models import ConvEncoder


class SmallEncoder(ConvEncoder):
    pass
"""


class RunsCode:
    """Unpickling this calls ``os.system``, which creates the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Callable[..., object], tuple[str]]:
        return os.system, (f"touch {self.marker}",)


@pytest.fixture()
def marker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where a payload would leave its trace; two packages that would leave it are importable."""
    path = tmp_path / "payload-ran"
    monkeypatch.setenv("JEPA_TEST_MARKER", str(path))
    packages = tmp_path / "site"
    (packages / "evil_models").mkdir(parents=True)
    (packages / "evil_models" / "__init__.py").write_text(EVIL_PACKAGE)
    (packages / "own_models").mkdir()
    (packages / "own_models" / "__init__.py").write_text(OWN_PACKAGE)
    monkeypatch.syspath_prepend(str(packages))
    monkeypatch.delenv(TRUSTED_MODULES_ENV, raising=False)
    monkeypatch.delenv(TRUST_PICKLE_ENV, raising=False)
    for name in ("evil_models", "own_models"):
        sys.modules.pop(name, None)
    return path


def _popen(marker: Path) -> dict:
    return {"class_path": "subprocess.Popen", "init_args": {"args": ["touch", str(marker)]}}


def _evil(marker: Path) -> dict:
    return {"class_path": "evil_models.Encoder", "init_args": {"repr_dim": 16}}


def _weights(encoder: Callable[[Path], dict]) -> Callable[[Path, Path, Path, Path], Path]:
    def make(ckpt: Path, weights: Path, folder: Path, marker: Path) -> Path:
        payload = torch.load(weights, weights_only=True)
        payload["encoder"] = encoder(marker)
        out = folder / "crafted.pth"
        torch.save(payload, out)
        return out

    return make


def _checkpoint(encoder: Callable[[Path], dict]) -> Callable[[Path, Path, Path, Path], Path]:
    def make(ckpt: Path, weights: Path, folder: Path, marker: Path) -> Path:
        payload = copy.deepcopy(torch.load(ckpt, weights_only=True))
        payload["hyper_parameters"]["encoder"] = encoder(marker)
        out = folder / "crafted.ckpt"
        torch.save(payload, out)
        return out

    return make


def _pickled(suffix: str) -> Callable[[Path, Path, Path, Path], Path]:
    def make(ckpt: Path, weights: Path, folder: Path, marker: Path) -> Path:
        payload = torch.load(ckpt if suffix == ".ckpt" else weights, weights_only=True)
        payload["note"] = RunsCode(marker)
        out = folder / f"crafted{suffix}"
        torch.save(payload, out)
        return out

    return make


@dataclass(frozen=True)
class Crafted:
    name: str
    make: Callable[[Path, Path, Path, Path], Path]
    expect: tuple[str, ...]
    commands: tuple[str, ...]
    trust: str | None = None  # a package the user was talked into trusting


CRAFTED = [
    Crafted(
        "weights: stdlib class that starts a process",
        _weights(_popen),
        (
            "crafted.pth",
            "'subprocess.Popen' is not from a trusted package",
            "--trust-modules subprocess",
        ),
        ("main", "probe"),
    ),
    Crafted(
        "weights: trusted package, but not a model class",
        _weights(_popen),
        ("crafted.pth", "'subprocess.Popen' is the class Popen, not a torch.nn.Module subclass"),
        ("main", "probe"),
        trust="subprocess",
    ),
    Crafted(
        "weights: model class of an untrusted package",
        _weights(_evil),
        (
            "crafted.pth",
            "'evil_models.Encoder' is not from a trusted package",
            "--trust-modules evil_models",
        ),
        ("main", "probe"),
    ),
    Crafted(
        "weights: pickle that calls a function",
        _pickled(".pth"),
        ("crafted.pth", "only full unpickling rebuilds", "refused"),
        ("main", "probe"),
    ),
    Crafted(
        "checkpoint: stdlib class that starts a process",
        _checkpoint(_popen),
        ("crafted.ckpt", "'subprocess.Popen' is not from a trusted package"),
        ("probe", "export", "fit"),
    ),
    Crafted(
        "checkpoint: trusted package, but not a model class",
        _checkpoint(_popen),
        ("crafted.ckpt", "'subprocess.Popen' is the class Popen, not a torch.nn.Module subclass"),
        ("probe", "export"),
        trust="subprocess",
    ),
    Crafted(
        "checkpoint: model class of an untrusted package",
        _checkpoint(_evil),
        ("crafted.ckpt", "'evil_models.Encoder' is not from a trusted package"),
        ("probe", "export", "fit"),
    ),
    Crafted(
        "checkpoint: pickle that calls a function",
        _pickled(".ckpt"),
        ("crafted.ckpt", "only full unpickling rebuilds", "refused"),
        ("probe", "export", "fit"),
    ),
]
CASES = [(crafted, command) for crafted in CRAFTED for command in crafted.commands]


@pytest.mark.parametrize(("crafted", "command"), CASES, ids=[f"{c}: {k.name}" for k, c in CASES])
def test_crafted_file_is_refused_without_running_code(
    crafted: Crafted,
    command: str,
    marker: Path,
    trained_checkpoint: Path,
    trained_weights: Path,
    tiny_data: Path,
    tiny_config: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if crafted.trust:
        monkeypatch.setenv(TRUSTED_MODULES_ENV, crafted.trust)
    path = crafted.make(trained_checkpoint, trained_weights, tmp_path, marker)
    message = run_command(command, path, tiny_data, tiny_config, tmp_path)
    for phrase in crafted.expect:
        assert phrase in message, f"{phrase!r} not in: {message}"
    assert "\n" not in message.strip(), message
    assert not marker.exists(), f"the payload ran: {marker.read_text() if marker.exists() else ''}"
    assert "evil_models" not in sys.modules


def test_fit_refuses_full_unpickling_and_names_lightnings_flag(
    marker: Path, trained_checkpoint: Path, trained_weights: Path, tiny_config: Path, tmp_path: Path
) -> None:
    path = _pickled(".ckpt")(trained_checkpoint, trained_weights, tmp_path, marker)
    with pytest.raises(SystemExit, match="--weights_only false"):
        cli.main(["fit", "--config", str(tiny_config), "--ckpt_path", str(path)])
    assert not marker.exists()


def test_resumed_checkpoint_is_opened_with_weights_only(
    trained_checkpoint: Path, tiny_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lightning's own load of ``--ckpt_path`` gets ``weights_only=True`` unless the user opts out."""
    seen: list[object] = []
    real_load = torch.load

    def spy(*args: object, **kwargs: object) -> object:
        seen.append(kwargs.get("weights_only"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    cli.main(
        [
            "fit",
            "--config",
            str(tiny_config),
            "--ckpt_path",
            str(trained_checkpoint),
            "--trainer.max_steps",
            "5",
        ]
    )
    assert seen and all(flag is True for flag in seen), seen


def test_a_package_the_user_trusts_loads(
    marker: Path,
    trained_checkpoint: Path,
    trained_weights: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The opt-ins work: ``trust_modules`` for a user's own classes, ``trust_pickle`` for a file they trust."""
    payload = torch.load(trained_weights, weights_only=True)
    payload["encoder"]["class_path"] = "own_models.SmallEncoder"
    own = tmp_path / "own.pth"
    torch.save(payload, own)
    with pytest.raises(WorldModelFileError, match="--trust-modules own_models"):
        load_world_model(own)
    assert (
        type(load_world_model(own, trust_modules="own_models").encoder).__name__ == "SmallEncoder"
    )
    monkeypatch.setenv(TRUSTED_MODULES_ENV, "own_models")
    assert type(load_model(own).encoder).__name__ == "SmallEncoder"

    checkpoint = torch.load(trained_checkpoint, weights_only=True)
    checkpoint["note"] = fractions.Fraction(1, 3)  # harmless, but not a plain container
    odd = tmp_path / "odd.ckpt"
    torch.save(checkpoint, odd)
    with pytest.raises(CheckpointError, match="fractions.Fraction.*--trust-pickle"):
        load_model(odd)
    assert load_model(odd, trust_pickle=True).repr_dim == 16
    monkeypatch.setenv(TRUST_PICKLE_ENV, "1")
    check_training_checkpoint(odd)


def test_every_file_the_project_writes_loads_without_opt_in(
    trained_checkpoint: Path, trained_weights: Path, tiny_data: Path, tmp_path: Path
) -> None:
    """Checkpoints (last and best), exported weights and the released model: no flag needed."""
    root = Path(__file__).resolve().parents[2]
    for path in [
        trained_checkpoint,
        *trained_checkpoint.parent.glob("best*.ckpt"),
        trained_weights,
        root / "model_weights.pth",
    ]:
        assert load_model(path).repr_dim > 0, path
    for path in [trained_checkpoint, *trained_checkpoint.parent.glob("best*.ckpt")]:
        check_training_checkpoint(path)
    out = tmp_path / "again.pth"
    assert cli.main(["export", str(trained_checkpoint), "--out", str(out)]) == 0
    assert load_world_model(out).repr_dim == 16


@pytest.mark.slow
@pytest.mark.parametrize(
    "config",
    sorted(p.name for p in (Path(__file__).resolve().parents[2] / "configs").glob("*.yaml")),
)
def test_checkpoints_of_every_shipped_config_load_safely(
    config: str, tiny_data: Path, tmp_path: Path
) -> None:
    """Two steps of each shipped config, then its checkpoint through the safe loaders only."""
    root = Path(__file__).resolve().parents[2]
    runs = tmp_path / "runs"
    cli.run_lightning(
        [
            "fit",
            "--config",
            str(root / "configs" / config),
            "--data.data_dir",
            str(tiny_data),
            "--data.num_workers",
            "0",
            "--data.batch_size",
            "4",
            "--data.window",
            "4",
            "--trainer.max_steps",
            "2",
            "--trainer.accelerator",
            "cpu",
            "--trainer.callbacks",
            "[]",
            "--trainer.logger.init_args.save_dir",
            str(runs),
            "--trainer.enable_progress_bar",
            "false",
        ]
    )
    (last,) = runs.glob("*/version_0/checkpoints/last.ckpt")
    check_training_checkpoint(last)
    assert load_model(last).repr_dim > 0
    assert cli.main(["export", str(last), "--out", str(tmp_path / "w.pth")]) == 0
    assert load_world_model(tmp_path / "w.pth").repr_dim > 0


def test_trust_checks_class_paths_before_importing(marker: Path) -> None:
    from jepa_world.trust import UntrustedFileError, check_class_path, resolve_class

    with pytest.raises(UntrustedFileError, match="not a dotted Python name"):
        check_class_path("os.system; rm -rf /", ("jepa_world",), "encoder")
    with pytest.raises(UntrustedFileError, match="not from a trusted package"):
        resolve_class("jepa_worldevil.Encoder", ("jepa_world",), torch.nn.Module, "encoder")
    with pytest.raises(
        UntrustedFileError, match="is the class Trainer, not a torch.nn.Module subclass"
    ):
        resolve_class("jepa_world.cli.Trainer", ("jepa_world",), torch.nn.Module, "encoder")
    with pytest.raises(UntrustedFileError, match="defined outside the trusted packages"):
        resolve_class(
            "jepa_world.models.encoders.nn.Linear", ("jepa_world",), torch.nn.Module, "encoder"
        )
    assert resolve_class(
        "jepa_world.models.ConvEncoder", ("jepa_world",), torch.nn.Module, "encoder"
    )
    assert not marker.exists() and "evil_models" not in sys.modules


@pytest.mark.parametrize(
    "maker",
    [_weights(_popen), _weights(_evil), _pickled(".ckpt")],
    ids=["popen", "foreign", "pickle"],
)
def test_jepa_plan_refuses_crafted_files_too(
    maker: Callable[[Path, Path, Path, Path], Path],
    marker: Path,
    trained_checkpoint: Path,
    trained_weights: Path,
    tmp_path: Path,
) -> None:
    path = maker(trained_checkpoint, trained_weights, tmp_path, marker)
    with pytest.raises(SystemExit, match="refused"):
        cli.main(["plan", "--ckpt", str(path), "--episodes", "1"])
    assert not marker.exists() and "evil_models" not in sys.modules
