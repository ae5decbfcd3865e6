"""What a shared file may make this process do: the classes it may build and how it is unpickled.

Weights files and checkpoints travel between users, so they are untrusted input. Two rules
keep loading one from running code:

- **Classes.** A file names the classes of its encoder, predictor and strategy by class path.
  :func:`resolve_class` builds only ``torch.nn.Module`` subclasses (or another required base)
  from packages the user trusts: this package by default, others only when named by the user
  (``--trust-modules NAMES`` on the command line, or ``$JEPA_TRUSTED_MODULES``, both a
  comma-separated list of top-level packages or modules). The check runs on the class path's
  text *before* anything is imported, so a refused file imports nothing and calls nothing.
- **Unpickling.** Files are opened with ``torch.load(weights_only=True)``, which rebuilds
  tensors and plain containers only. :func:`safe_torch_load` refuses a file whose pickle needs
  anything else, naming the object it wanted and the opt-in flag for files the user trusts.
"""

from __future__ import annotations

import importlib
import os
import pickle
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import torch

#: Packages whose classes any file may name.
BUILTIN_TRUSTED: tuple[str, ...] = ("jepa_world",)
#: Comma-separated extra packages or modules whose classes files may name.
TRUSTED_MODULES_ENV = "JEPA_TRUSTED_MODULES"
#: Set to 1 to open every file with full unpickling (files you trust only).
TRUST_PICKLE_ENV = "JEPA_TRUST_PICKLE"

_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")


class UntrustedFileError(ValueError):
    """A file asks for something that loading it must not do: a foreign class, or full unpickling."""


def split_names(text: str | Iterable[str] | None) -> tuple[str, ...]:
    """``"a, b.c"`` or ``["a", "b.c"]`` → ``("a", "b.c")``; blanks dropped."""
    if text is None:
        return ()
    parts = (
        text.split(",") if isinstance(text, str) else [p for item in text for p in item.split(",")]
    )
    return tuple(part.strip() for part in parts if part.strip())


def trusted_modules(
    extra: str | Iterable[str] | None = None, environ: Mapping[str, str] | None = None
) -> tuple[str, ...]:
    """This package, the modules in ``$JEPA_TRUSTED_MODULES``, and ``extra``."""
    env = os.environ if environ is None else environ
    names = BUILTIN_TRUSTED + split_names(env.get(TRUSTED_MODULES_ENV)) + split_names(extra)
    return tuple(dict.fromkeys(names))


def trust_pickle_requested(flag: bool = False, environ: Mapping[str, str] | None = None) -> bool:
    """True when the user opted into full unpickling by ``flag`` or ``$JEPA_TRUST_PICKLE``."""
    env = os.environ if environ is None else environ
    return bool(flag) or env.get(TRUST_PICKLE_ENV, "").strip().lower() in ("1", "true", "yes")


def module_is_trusted(module_name: str, trusted: Iterable[str]) -> bool:
    """``module_name`` is one of ``trusted`` or lies inside one (``jepa_world.models`` in ``jepa_world``)."""
    return any(module_name == name or module_name.startswith(name + ".") for name in trusted)


def check_class_path(class_path: object, trusted: Iterable[str], what: str) -> str:
    """Refuse ``class_path`` unless it is a dotted name inside a trusted package; imports nothing.

    Raises:
        UntrustedFileError: the path is malformed or outside ``trusted``; the message names it
            and how to allow its package.
    """
    trusted = tuple(trusted)
    if not isinstance(class_path, str) or not _DOTTED.match(class_path):
        raise UntrustedFileError(
            f"the {what} class path {class_path!r} is not a dotted Python name"
        )
    if not module_is_trusted(class_path, trusted):
        package = class_path.split(".")[0]
        raise UntrustedFileError(
            f"the {what} class {class_path!r} is not from a trusted package ({', '.join(trusted)}), "
            f"and building it could run any code; refused. If you trust this file and {package!r}, "
            f"allow it with --trust-modules {package} (or {TRUSTED_MODULES_ENV}={package})"
        )
    return class_path


def resolve_class(class_path: object, trusted: Iterable[str], base: type, what: str) -> type:
    """The class at ``class_path``, once it is known to be a trusted subclass of ``base``.

    The path is checked (:func:`check_class_path`) before its module is imported; after the
    import, the object must be a class, a subclass of ``base``, and defined in a trusted module
    (a trusted module that merely imports a foreign class does not make that class trusted).

    Raises:
        UntrustedFileError: refused, as above; or the class cannot be imported here.
    """
    trusted = tuple(trusted)
    path = check_class_path(class_path, trusted, what)
    module_name, obj = _import_longest_module(path)
    for part in path[len(module_name) + 1 :].split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise UntrustedFileError(f"the {what} class {path!r} does not exist in {module_name!r}")
    if not isinstance(obj, type) or not issubclass(obj, base):
        kind = (
            f"the class {obj.__qualname__}" if isinstance(obj, type) else f"a {type(obj).__name__}"
        )
        wanted = (
            "torch.nn.Module"
            if base is torch.nn.Module
            else f"{base.__module__}.{base.__qualname__}"
        )
        raise UntrustedFileError(
            f"the {what} entry {path!r} is {kind}, not a {wanted} subclass; refused"
        )
    if not module_is_trusted(obj.__module__, trusted):
        raise UntrustedFileError(
            f"the {what} entry {path!r} is {obj.__module__}.{obj.__qualname__}, defined outside the "
            f"trusted packages ({', '.join(trusted)}); refused. If you trust it, allow it with "
            f"--trust-modules {obj.__module__.split('.')[0]}"
        )
    return obj


def _import_longest_module(path: str) -> tuple[str, Any]:
    """Import the longest importable module prefix of a (trusted) dotted ``path``."""
    parts = path.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        name = ".".join(parts[:cut])
        try:
            return name, importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name is not None and not name.startswith(err.name) and err.name != name:
                raise UntrustedFileError(f"importing {name!r} failed: {err}") from err
            continue
        except ImportError as err:
            raise UntrustedFileError(f"importing {name!r} failed: {err}") from err
    raise UntrustedFileError(
        f"no module of {path!r} can be imported here; install the package that defines it"
    )


def class_paths_in(obj: object) -> Iterator[str]:
    """Every value stored under a ``class_path`` (or ``_class_path``) key, at any depth."""
    if isinstance(obj, Mapping):
        for key, value in obj.items():
            if key in ("class_path", "_class_path"):
                yield value if isinstance(value, str) else repr(value)
            else:
                yield from class_paths_in(value)
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            yield from class_paths_in(item)


def safe_torch_load(
    path: str | os.PathLike[str],
    map_location: str | torch.device = "cpu",
    trust_pickle: bool = False,
    opt_in: str = "--trust-pickle",
) -> Any:
    """``torch.load`` that rebuilds tensors and plain containers only, unless ``trust_pickle``.

    Raises:
        UntrustedFileError: the pickle wants another object (a function, a class instance); the
            message names it and ``opt_in``, the flag that allows full unpickling.
        Exception: whatever ``torch.load`` raises for a truncated or foreign file.
    """
    if trust_pickle:
        return torch.load(path, map_location=map_location, weights_only=False)
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        found = _GLOBAL.search(str(err))
        if found is None and "global" not in str(err).lower():
            raise
        wanted = found.group(1) if found else "a Python object"
        raise UntrustedFileError(
            f"{Path(path)}: holds {wanted}, which only full unpickling rebuilds, and full "
            f"unpickling can run any code; refused. If you trust this file, pass {opt_in}"
        ) from err
