"""Opening and checking the files a run leaves: Lightning checkpoints and weights files.

Shared by the command line (``jepa fit --ckpt_path``, ``jepa export``, ``jepa probe``), by
``main.py`` and by planning. Every file is untrusted input (:mod:`jepa_world.trust`):

- it is opened with ``torch.load(weights_only=True)``; a file whose pickle needs more is
  refused unless the user passes the opt-in flag of the command at hand;
- the world model is rebuilt from the class paths and arguments the file records, and only
  ``nn.Module`` classes of trusted packages are built (checked before anything is imported).
  ``JEPAModule.load_from_checkpoint`` is never used: it would instantiate whatever the file
  names.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from jepa_world.models.weights_file import (
    WEIGHTS_FORMAT,
    WorldModelFileError,
    build_part,
    error_summary,
    load_weights_into,
    load_world_model,
    read_weights_payload,
    world_model_from_payload,
)
from jepa_world.models.world_model import WorldModel
from jepa_world.trust import (
    UntrustedFileError,
    check_class_path,
    class_paths_in,
    safe_torch_load,
    trust_pickle_requested,
    trusted_modules,
)

#: The opt-in flag for full unpickling in ``jepa probe``, ``jepa export``, ``jepa plan`` and ``main.py``.
PICKLE_OPT_IN = "--trust-pickle (or JEPA_TRUST_PICKLE=1)"
#: The same opt-in for ``jepa fit`` / ``jepa validate``: Lightning's own flag.
FIT_PICKLE_OPT_IN = "--weights_only false (or JEPA_TRUST_PICKLE=1)"
#: Prefix of the world model's weights in a ``JEPAModule`` state dict.
WORLD_MODEL_PREFIX = "world_model."

_EXPECTED = "expected a .ckpt written by `jepa fit` (runs/<name>/version_<n>/checkpoints/last.ckpt)"


class CheckpointError(ValueError):
    """A checkpoint or weights file is missing, truncated, untrusted, or not one this project loads."""


def read_checkpoint(
    path: str | os.PathLike[str], trust_pickle: bool = False, opt_in: str = PICKLE_OPT_IN
) -> Any:
    """The contents of a torch file, rebuilt from tensors and plain containers only.

    Raises:
        CheckpointError: no file; a truncated or foreign file; or one that needs full
            unpickling (unless ``trust_pickle`` or ``$JEPA_TRUST_PICKLE``), naming ``opt_in``.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"{path}: no checkpoint (file not found); {_EXPECTED}, or a model_weights.pth from "
            "`jepa export`"
        )
    try:
        return safe_torch_load(
            path, trust_pickle=trust_pickle_requested(trust_pickle), opt_in=opt_in
        )
    except UntrustedFileError as err:
        raise CheckpointError(str(err)) from err
    except Exception as err:  # torch raises OSError, RuntimeError, EOFError, UnpicklingError, ...
        raise CheckpointError(
            f"{path}: cannot be read as a torch checkpoint ({error_summary(err)}); it is "
            "truncated (an interrupted copy or save) or not a checkpoint at all"
        ) from err


def check_training_checkpoint(
    path: str | os.PathLike[str],
    resume: bool = True,
    trust_pickle: bool = False,
    trust_modules: str | Iterable[str] | None = None,
    opt_in: str = FIT_PICKLE_OPT_IN,
    check_hyperparameters: bool = True,
) -> dict[str, Any]:
    """Check, before Lightning touches it, that ``path`` is a safe, readable ``jepa fit`` checkpoint.

    Lightning reports a truncated or foreign file with the bare error of whatever failed inside
    ``torch.load``, and instantiates the classes named in the checkpoint's hyperparameters; this
    says which file, what it is and what to do, and refuses class paths outside the trusted
    packages (this one, ``$JEPA_TRUSTED_MODULES`` and ``trust_modules``) before any import.

    Args:
        path: the file given to ``--ckpt_path`` (or ``jepa export``).
        resume: also require the loop and optimizer states that resuming training needs.
        trust_pickle: allow full unpickling (files the user trusts only).
        trust_modules: further packages, modules or exact class paths to trust.
        opt_in: how the user allows full unpickling, named in the refusal.
        check_hyperparameters: refuse untrusted class paths anywhere in the hyperparameters (what
            Lightning would build on resume); off when only the world model will be built, by
            :func:`load_model`, which checks the classes it builds itself.

    Returns:
        The checkpoint's contents.

    Raises:
        CheckpointError: naming the file, what was found and what was expected.
    """
    path = Path(path)
    payload = read_checkpoint(path, trust_pickle=trust_pickle, opt_in=opt_in)
    if isinstance(payload, dict) and payload.get("format") == WEIGHTS_FORMAT:
        raise CheckpointError(
            f"{path}: a model_weights.pth (written by `jepa export`), which holds the model only, "
            f"not the training state; {_EXPECTED}"
        )
    _check_lightning_layout(payload, path)
    trusted = trusted_modules(trust_modules)
    hyperparameters = payload.get("hyper_parameters", {}) if check_hyperparameters else {}
    for class_path in class_paths_in(hyperparameters):
        try:
            check_class_path(class_path, trusted, "hyperparameter")
        except UntrustedFileError as err:
            raise CheckpointError(f"{path}: {err}") from err
    missing = [key for key in ("loops", "optimizer_states") if resume and key not in payload]
    if missing:
        raise CheckpointError(
            f"{path}: holds no {' or '.join(missing)}, so training cannot resume from it (saved "
            f"with weights only?); {_EXPECTED}"
        )
    return payload


def load_model(
    path: str | os.PathLike[str],
    trust_modules: str | Iterable[str] | None = None,
    trust_pickle: bool = False,
    opt_in: str = PICKLE_OPT_IN,
) -> WorldModel:
    """The world model stored in a Lightning ``.ckpt`` (of ``JEPAModule``) or a ``model_weights.pth``.

    Args:
        path: A checkpoint written by ``jepa fit`` or a weights file written by ``jepa export``.
        trust_modules: Packages besides this one (and ``$JEPA_TRUSTED_MODULES``) whose classes
            the file may name.
        trust_pickle: Allow full unpickling of a ``.ckpt`` (files the user trusts only).
        opt_in: How the user allows full unpickling, named in the refusal.

    Raises:
        FileNotFoundError: nothing at ``path``.
        CheckpointError: the file is truncated, foreign, untrusted, or does not describe its model.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: no such checkpoint; expected a Lightning .ckpt from `jepa fit` or a "
            "model_weights.pth from `jepa export`"
        )
    trusted = trusted_modules(trust_modules)
    try:
        if path.suffix != ".ckpt":
            return load_world_model(path, trust_modules=trusted)
        payload = read_checkpoint(path, trust_pickle=trust_pickle, opt_in=opt_in)
        if isinstance(payload, dict) and payload.get("format") == WEIGHTS_FORMAT:
            return world_model_from_payload(read_weights_payload(path), path, trusted)
        return world_model_from_checkpoint(payload, path, trusted)
    except WorldModelFileError as err:
        raise CheckpointError(str(err)) from err


def world_model_from_checkpoint(payload: Any, path: Path, trusted: Iterable[str]) -> WorldModel:
    """Rebuild the ``WorldModel`` of a ``JEPAModule`` checkpoint from its hyperparameters and weights.

    Only the encoder and the predictor are built; the strategy (and its target networks) is not
    needed to use the model and is never instantiated.
    """
    _check_lightning_layout(payload, path)
    hparams = payload.get("hyper_parameters") or {}
    specs = {role: hparams.get(role) for role in ("encoder", "predictor")}
    unrecorded = [
        role
        for role, spec in specs.items()
        if not (isinstance(spec, dict) and "class_path" in spec)
    ]
    if unrecorded:
        raise CheckpointError(
            f"{path}: the checkpoint does not record how to build its {' and '.join(unrecorded)} "
            "(checkpoints written by `jepa fit` do). For a model built in Python, save it with "
            "jepa_world.models.save_world_model and use that file"
        )
    encoder = build_part(specs["encoder"], "encoder", trusted, path)
    predictor = build_part(specs["predictor"], "predictor", trusted, path)
    try:
        model = WorldModel(encoder, predictor)
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{path}: {err}") from err
    weights = {
        key[len(WORLD_MODEL_PREFIX) :]: value
        for key, value in payload["state_dict"].items()
        if str(key).startswith(WORLD_MODEL_PREFIX)
    }
    load_weights_into(model, weights, path)
    return model


def add_trust_arguments(parser: argparse.ArgumentParser) -> None:
    """``--trust-modules`` and ``--trust-pickle``: the opt-ins for files the user trusts."""
    parser.add_argument(
        "--trust-modules",
        "--trust_modules",
        default=None,
        metavar="NAMES",
        help="comma-separated packages besides jepa_world whose classes the file may build "
        "(also $JEPA_TRUSTED_MODULES); only for files you trust",
    )
    parser.add_argument(
        "--trust-pickle",
        "--trust_pickle",
        action="store_true",
        help="open a .ckpt with full unpickling, which can run any code (also $JEPA_TRUST_PICKLE=1); "
        "only for files you trust",
    )


def normalise_trust_flags(argv: list[str]) -> list[str]:
    """For jsonargparse commands (``jepa probe``, ``jepa plan``): accept the argparse spelling
    ``--trust-pickle`` and ``--trust-modules X`` beside ``--trust_pickle true`` / ``--trust_modules X``."""
    out = []
    for arg in argv:
        if arg == "--trust-pickle":
            out.append("--trust_pickle=true")
        elif arg == "--trust-modules" or arg.startswith("--trust-modules="):
            out.append(arg.replace("--trust-modules", "--trust_modules", 1))
        else:
            out.append(arg)
    return out


def _check_lightning_layout(payload: Any, path: Path) -> None:
    if not isinstance(payload, dict) or not isinstance(payload.get("state_dict"), dict):
        found = (
            sorted(map(str, payload))[:8] if isinstance(payload, dict) else type(payload).__name__
        )
        raise CheckpointError(
            f"{path}: not a Lightning checkpoint (found {found}; expected a dict with "
            f"'state_dict' and 'hyper_parameters'); {_EXPECTED}"
        )
    if not any(str(key).startswith(WORLD_MODEL_PREFIX) for key in payload["state_dict"]):
        raise CheckpointError(
            f"{path}: a Lightning checkpoint, but not of JEPAModule (no 'world_model.*' weights "
            f"in its state_dict); {_EXPECTED}"
        )
