"""The world model of the course contract, and its single-file weights format.

``WorldModel(encoder, predictor)`` is a plain ``nn.Module``: it is what ``model_weights.pth``
holds and what the evaluation loads, with no Lightning and no config file involved. Its
``forward(states, actions)`` is protocol §3: the first frame is encoded, every later
representation is predicted by unrolling the predictor on the actions.

:func:`save_world_model` writes one file with a format tag and version, the class path and
constructor arguments of the encoder and of the predictor, and the state dict;
:func:`load_world_model` rebuilds the model from that file alone.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from jepa_world.io import atomic_path
from jepa_world.models.encoders import FRAME_SHAPE

#: Tag stored in every weights file, so a foreign ``.pth`` is recognised as such.
WEIGHTS_FORMAT: str = "jepa-world/world-model"
#: Bumped when the layout of the file changes; older files keep loading.
WEIGHTS_FORMAT_VERSION: int = 1


class WorldModelFileError(ValueError):
    """A weights file is missing, truncated, foreign, or does not fit the model it describes."""


def encode_sequence(encoder: nn.Module, states: Tensor) -> Tensor:
    """Encode every frame of ``states (B, T, 2, 65, 65)`` with ``encoder`` → ``(B, T, D)``.

    All ``B·T`` frames go through the encoder as one batch. Shared by :class:`WorldModel` and by
    strategies that keep a target encoder of their own.
    """
    if states.ndim != 5 or tuple(states.shape[2:]) != FRAME_SHAPE:
        raise ValueError(
            f"encode: expected states of shape (B, T, {', '.join(map(str, FRAME_SHAPE))}), "
            f"got {tuple(states.shape)}"
        )
    b, t = states.shape[:2]
    return encoder(states.reshape(b * t, *FRAME_SHAPE)).reshape(b, t, -1)


class WorldModel(nn.Module):
    """Encoder + predictor honouring the course contract (protocol §3).

    Args:
        encoder: Maps frames ``(N, 2, 65, 65)`` to ``(N, D)``; exposes ``repr_dim``.
        predictor: Maps ``(z (N, D), a (N, 2))`` to the next ``z``; exposes ``repr_dim``.

    Example:
        >>> from jepa_world.models import ConvEncoder, MLPPredictor
        >>> model = WorldModel(ConvEncoder(repr_dim=32), MLPPredictor(repr_dim=32))
        >>> model(torch.zeros(3, 1, 2, 65, 65), torch.zeros(3, 16, 2)).shape
        torch.Size([3, 17, 32])
    """

    def __init__(self, encoder: nn.Module, predictor: nn.Module) -> None:
        super().__init__()
        for role, part in (("encoder", encoder), ("predictor", predictor)):
            if not isinstance(getattr(part, "repr_dim", None), int):
                raise TypeError(
                    f"WorldModel: the {role} {type(part).__name__} must expose an integer "
                    f"`repr_dim`, found {getattr(part, 'repr_dim', None)!r}"
                )
        if encoder.repr_dim != predictor.repr_dim:
            raise ValueError(
                f"WorldModel: encoder {type(encoder).__name__} has repr_dim={encoder.repr_dim} but "
                f"predictor {type(predictor).__name__} has repr_dim={predictor.repr_dim}; set both "
                "to the same value"
            )
        self.encoder = encoder
        self.predictor = predictor

    @property
    def repr_dim(self) -> int:
        return int(self.encoder.repr_dim)

    def encode(self, states: Tensor) -> Tensor:
        """Encode every frame: ``(B, T, 2, 65, 65)`` → ``(B, T, D)``."""
        return encode_sequence(self.encoder, states)

    def unroll(self, z0: Tensor, actions: Tensor) -> Tensor:
        """Recurrent prediction from ``z0 (B, D)`` along ``actions (B, T-1, 2)`` → ``(B, T, D)``.

        Each prediction is fed back as the next input, exactly as at evaluation; ``t = 0`` is
        ``z0`` itself.
        """
        self._check_actions(actions, z0.shape[0], "unroll")
        z = z0
        out = [z]
        for t in range(actions.shape[1]):
            z = self.predictor(z, actions[:, t])
            out.append(z)
        return torch.stack(out, dim=1)

    def predict_next(self, embeddings: Tensor, actions: Tensor) -> Tensor:
        """Teacher-forced predictions: each step from the encoding of the true previous frame.

        ``embeddings (B, T, D)``, ``actions (B, T-1, 2)`` → ``(B, T, D)`` with ``t = 0`` the
        first embedding. All ``B·(T-1)`` steps go through the predictor as one batch.
        """
        b, t, d = embeddings.shape
        self._check_actions(actions, b, "predict_next")
        if actions.shape[1] != t - 1:
            raise ValueError(
                f"predict_next: {t} embeddings need {t - 1} actions, got actions of shape "
                f"{tuple(actions.shape)} with embeddings of shape {tuple(embeddings.shape)}"
            )
        if t == 1:
            return embeddings
        nxt = self.predictor(embeddings[:, :-1].reshape(-1, d), actions.reshape(-1, actions.shape[-1]))
        return torch.cat([embeddings[:, :1], nxt.reshape(b, t - 1, d)], dim=1)

    def forward(self, states: Tensor, actions: Tensor, teacher_forcing: bool = False) -> Tensor:
        """The course contract: ``states (B, 1, 2, 65, 65)``, ``actions (B, T-1, 2)`` → ``(B, T, D)``.

        Recurrent mode (default) reads only the first frame, so ``states`` may also be the whole
        ``(B, T, ...)`` sequence. ``teacher_forcing=True`` needs all ``T`` frames and predicts
        each next representation from the encoding of the true current frame.
        """
        if states.ndim != 5 or tuple(states.shape[2:]) != FRAME_SHAPE:
            raise ValueError(
                f"WorldModel: expected states of shape (B, T, {', '.join(map(str, FRAME_SHAPE))}), "
                f"got {tuple(states.shape)}"
            )
        self._check_actions(actions, states.shape[0], "WorldModel")
        steps = actions.shape[1] + 1
        if teacher_forcing:
            if states.shape[1] != steps:
                raise ValueError(
                    f"WorldModel: teacher forcing needs every frame: actions of shape "
                    f"{tuple(actions.shape)} need states with {steps} frames, got {tuple(states.shape)}"
                )
            return self.predict_next(self.encode(states), actions)
        if states.shape[1] not in (1, steps):
            raise ValueError(
                f"WorldModel: expected states with 1 frame (or all {steps}) to go with actions of "
                f"shape {tuple(actions.shape)}, got {tuple(states.shape)}"
            )
        return self.unroll(self.encoder(states[:, 0]), actions)

    def _check_actions(self, actions: Tensor, batch: int, owner: str) -> None:
        action_dim = getattr(self.predictor, "action_dim", 2)
        if actions.ndim != 3 or actions.shape[0] != batch or actions.shape[2] != action_dim:
            raise ValueError(
                f"{owner}: expected actions of shape ({batch}, T-1, {action_dim}), "
                f"got {tuple(actions.shape)}"
            )


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters (the figure protocol §3 ranks models by)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


# ---------------------------------------------------------------------------------------------
# The weights file
# ---------------------------------------------------------------------------------------------


def class_path_of(obj: object) -> str:
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


def _import_class(class_path: str, path: Path) -> type:
    module_name, _, qualname = class_path.rpartition(".")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError, ValueError) as err:
        raise WorldModelFileError(
            f"{path}: names the class {class_path!r}, which cannot be imported here ({err}); "
            "install the package that defines it"
        ) from err
    if not isinstance(obj, type):
        raise WorldModelFileError(f"{path}: {class_path!r} is not a class")
    return obj


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
        "encoder": {"class_path": class_path_of(model.encoder), "init_args": init_args_of(model.encoder)},
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


def load_world_model(path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> WorldModel:
    """Rebuild a :class:`WorldModel` from a file written by :func:`save_world_model`.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        WorldModelFileError: the file is truncated, not a weights file of this format (a
            Lightning checkpoint, a bare state dict), from a newer format version, or its
            weights do not fit the model its own header describes.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"load_world_model: no weights file at {path}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises RuntimeError, EOFError, UnpicklingError, ...
        raise WorldModelFileError(
            f"{path}: cannot be read as a torch file ({error_summary(err)}); it may be "
            "truncated or not a weights file"
        ) from err
    _check_header(payload, path)
    encoder = _build(payload["encoder"], "encoder", path)
    predictor = _build(payload["predictor"], "predictor", path)
    model = WorldModel(encoder, predictor)
    problem = state_dict_mismatch(model.state_dict(), payload["state_dict"])
    if problem:
        raise WorldModelFileError(
            f"{path}: the stored weights do not fit the model described in the file "
            f"({class_path_of(encoder)} + {class_path_of(predictor)}): {problem}"
        )
    try:
        model.load_state_dict(payload["state_dict"], strict=True)
    except RuntimeError as err:
        raise WorldModelFileError(
            f"{path}: the stored weights do not fit the model described in the file "
            f"({class_path_of(encoder)} + {class_path_of(predictor)}): {err}"
        ) from err
    return model.to(map_location)


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
        parts.append(shapes[0] + (f", and {len(shapes) - 1} more tensors differ" if len(shapes) > 1 else ""))
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


def _build(spec: dict[str, Any], role: str, path: Path) -> nn.Module:
    class_path = spec.get("class_path")
    init_args = spec.get("init_args", {})
    if not isinstance(class_path, str) or not isinstance(init_args, dict):
        raise WorldModelFileError(f"{path}: malformed {role} entry {spec!r}")
    cls = _import_class(class_path, path)
    try:
        return cls(**init_args)
    except (TypeError, ValueError) as err:
        raise WorldModelFileError(
            f"{path}: cannot build the {role} {class_path} from its stored arguments "
            f"{init_args}: {err}"
        ) from err
