"""The single-file weights format of a :class:`~jepa_world.models.world_model.WorldModel`.

:func:`save_world_model` writes one file with a format tag and version, the class path and
constructor arguments of the encoder and of the predictor, and the state dict;
:func:`load_world_model` rebuilds the model from that file alone.

A weights file is untrusted input: it is opened with ``torch.load(weights_only=True)`` and its
class paths are checked by :func:`jepa_world.trust.resolve_class` before anything is imported,
so only ``nn.Module`` classes of trusted packages (this one, and those the user names) are
ever built.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from jepa_world.io import atomic_path
from jepa_world.models.world_model import WorldModel, count_parameters
from jepa_world.trust import UntrustedFileError, resolve_class, safe_torch_load, trusted_modules

#: Tag stored in every weights file, so a foreign ``.pth`` is recognised as such.
WEIGHTS_FORMAT: str = "jepa-world/world-model"
#: Bumped when the layout of the file changes; older files keep loading.
WEIGHTS_FORMAT_VERSION: int = 1


class WorldModelFileError(ValueError):
    """A weights file is missing, truncated, foreign, untrusted, or does not fit its model."""


def class_path_of(obj: object) -> str:
    """``module.QualName`` of ``obj``'s class, as stored in weights files and configs."""
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def init_args_of(module: nn.Module) -> dict[str, Any]:
    """The constructor arguments a module recorded in its ``init_args`` attribute."""
    args = getattr(module, "init_args", None)
    if not isinstance(args, dict):
        raise TypeError(
            f"save_world_model: {class_path_of(module)} does not record its constructor arguments; "
            "set `self.init_args = {...}` (a dict of plain values) in its __init__ so the weights "
            "file can rebuild it"
        )
    return dict(args)


def build_part(
    spec: object, role: str, trusted: Iterable[str], source: str | os.PathLike[str]
) -> nn.Module:
    """Build the ``role`` (encoder, predictor) described by ``{"class_path", "init_args"}``.

    The class must be a trusted ``nn.Module`` (:func:`jepa_world.trust.resolve_class`) and the
    arguments plain keyword values. Shared by weights files and training checkpoints.

    Raises:
        WorldModelFileError: naming ``source``, the class path and why it was refused.
    """
    if not isinstance(spec, dict):
        raise WorldModelFileError(f"{source}: malformed {role} entry {spec!r}")
    class_path = spec.get("class_path")
    init_args = spec.get("init_args", {}) or {}
    if not isinstance(init_args, dict) or not all(isinstance(k, str) for k in init_args):
        raise WorldModelFileError(f"{source}: malformed init_args of the {role}: {init_args!r}")
    try:
        cls = resolve_class(class_path, trusted, nn.Module, role)
    except UntrustedFileError as err:
        raise WorldModelFileError(f"{source}: {err}") from err
    try:
        return cls(**init_args)
    except (TypeError, ValueError) as err:
        raise WorldModelFileError(
            f"{source}: cannot build the {role} {class_path} from its stored arguments "
            f"{init_args}: {err}"
        ) from err


def save_world_model(model: WorldModel, path: str | os.PathLike[str]) -> Path:
    """Write ``model`` to ``path`` as one self-describing file; returns the path.

    The file holds the format tag and version, the class paths and constructor arguments of the
    encoder and predictor, and the state dict (on CPU). The write is atomic: a crash leaves
    either the old file or the new one, never a truncated one.
    """
    if not isinstance(model, WorldModel):
        raise TypeError(f"save_world_model: expected a WorldModel, got {type(model).__name__}")
    payload = {
        "format": WEIGHTS_FORMAT,
        "format_version": WEIGHTS_FORMAT_VERSION,
        "repr_dim": model.repr_dim,
        "num_parameters": count_parameters(model),
        "encoder": {
            "class_path": class_path_of(model.encoder),
            "init_args": init_args_of(model.encoder),
        },
        "predictor": {
            "class_path": class_path_of(model.predictor),
            "init_args": init_args_of(model.predictor),
        },
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    target = Path(path)
    with atomic_path(target) as tmp:
        torch.save(payload, tmp)
    return target


def load_world_model(
    path: str | os.PathLike[str],
    map_location: str | torch.device = "cpu",
    trust_modules: str | Iterable[str] | None = None,
) -> WorldModel:
    """Rebuild a :class:`WorldModel` from a file written by :func:`save_world_model`.

    Args:
        path: The weights file.
        map_location: Where the weights go.
        trust_modules: Packages besides this one (and ``$JEPA_TRUSTED_MODULES``) whose classes
            the file may name.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        WorldModelFileError: the file is truncated, not a weights file of this format (a
            Lightning checkpoint, a bare state dict), from a newer format version, names a
            class that is not a trusted ``nn.Module``, or its weights do not fit its model.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"load_world_model: no weights file at {path}")
    payload = read_weights_payload(path)
    return world_model_from_payload(payload, path, trusted_modules(trust_modules), map_location)


def read_weights_payload(path: Path) -> Any:
    """The raw contents of a weights file, opened without unpickling anything but tensors."""
    try:
        payload = safe_torch_load(path, map_location="cpu")
    except UntrustedFileError as err:
        raise WorldModelFileError(str(err)) from err
    except Exception as err:  # torch raises RuntimeError, EOFError, UnpicklingError, ...
        raise WorldModelFileError(
            f"{path}: cannot be read as a torch file ({error_summary(err)}); it may be "
            "truncated or not a weights file"
        ) from err
    _check_header(payload, path)
    return payload


def world_model_from_payload(
    payload: dict[str, Any],
    path: Path,
    trusted: Iterable[str],
    map_location: str | torch.device = "cpu",
) -> WorldModel:
    """The model a checked weights-file payload describes, with its weights loaded."""
    encoder = build_part(payload["encoder"], "encoder", trusted, path)
    predictor = build_part(payload["predictor"], "predictor", trusted, path)
    try:
        model = WorldModel(encoder, predictor)
    except (TypeError, ValueError) as err:
        raise WorldModelFileError(f"{path}: {err}") from err
    load_weights_into(model, payload["state_dict"], path)
    return model.to(map_location)


def load_weights_into(model: nn.Module, state_dict: dict[str, Any], path: Path) -> None:
    """``model.load_state_dict(state_dict)`` with an error that names ``path`` and the mismatch."""
    problem = state_dict_mismatch(model.state_dict(), state_dict)
    described = ""
    if isinstance(model, WorldModel):
        described = f" ({class_path_of(model.encoder)} + {class_path_of(model.predictor)})"
    if problem:
        raise WorldModelFileError(
            f"{path}: the stored weights do not fit the model described in the file{described}: {problem}"
        )
    try:
        model.load_state_dict(state_dict, strict=True)
    except RuntimeError as err:
        raise WorldModelFileError(
            f"{path}: the stored weights do not fit the model described in the file{described}: {err}"
        ) from err


def state_dict_mismatch(expected: dict[str, Tensor], found: dict[str, Any]) -> str:
    """How ``found`` differs from ``expected`` in names and shapes, in a few words ("" if it fits)."""
    shapes = [
        f"{key} is {tuple(found[key].shape)} there, {tuple(value.shape)} here"
        for key, value in expected.items()
        if key in found and isinstance(found[key], Tensor) and found[key].shape != value.shape
    ]
    missing = [key for key in expected if key not in found]
    unexpected = [key for key in found if key not in expected]
    parts = []
    if shapes:
        parts.append(
            shapes[0] + (f", and {len(shapes) - 1} more tensors differ" if len(shapes) > 1 else "")
        )
    if missing:
        parts.append(f"{len(missing)} tensors missing, e.g. {missing[0]}")
    if unexpected:
        parts.append(f"{len(unexpected)} unknown tensors, e.g. {unexpected[0]}")
    return "; ".join(parts)


def error_summary(err: BaseException, limit: int = 160) -> str:
    """``Type: first line of the message``, cut to ``limit`` characters.

    ``torch.load`` errors run to many lines of advice about ``weights_only``; the user needs
    to know only that the file could not be read.
    """
    lines = str(err).strip().splitlines()
    text = lines[0] if lines else ""
    if len(text) > limit:
        text = text[: limit - 3].rstrip() + "..."
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _check_header(payload: Any, path: Path) -> None:
    if not isinstance(payload, dict):
        raise WorldModelFileError(
            f"{path}: expected a dict written by save_world_model, found a {type(payload).__name__}"
        )
    if payload.get("format") != WEIGHTS_FORMAT:
        hint = ""
        if "pytorch-lightning_version" in payload or "callbacks" in payload:
            hint = "; it looks like a Lightning checkpoint: convert it with `jepa export`"
        elif payload and all(isinstance(v, torch.Tensor) for v in payload.values()):
            hint = "; it looks like a bare state dict, which does not say how to build the model"
        keys = sorted(map(str, payload))[:8]
        raise WorldModelFileError(
            f"{path}: not a jepa-world weights file (format tag {payload.get('format')!r}, "
            f"expected {WEIGHTS_FORMAT!r}; top-level keys {keys}){hint}"
        )
    version = payload.get("format_version")
    if not isinstance(version, int) or version > WEIGHTS_FORMAT_VERSION:
        raise WorldModelFileError(
            f"{path}: format version {version!r} is newer than this code reads "
            f"(up to {WEIGHTS_FORMAT_VERSION}); upgrade jepa-world"
        )
    for key in ("encoder", "predictor", "state_dict"):
        if not isinstance(payload.get(key), dict):
            raise WorldModelFileError(f"{path}: missing or malformed entry {key!r}")
