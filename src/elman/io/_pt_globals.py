"""The user's allowlist of classes for :func:`elman.load`, with torch's names and semantics.

``add_safe_globals``, ``get_safe_globals``, ``clear_safe_globals`` and the
``safe_globals`` context manager keep one process-wide set, as torch's
``torch.serialization`` functions of the same names do. An entry is a class, or a
``(class, "module.QualName")`` pair when the file names it differently.

How a file's global name finds an allowlisted class (nothing is ever imported on a file's
word):

1. ``f"{cls.__module__}.{cls.__qualname__}"`` of an entry, or the name of a pair, equals
   the file's name (``__main__.MyModel`` for a class defined in a script);
2. the file names one of torch's module classes (``torch.nn.modules.rnn.RNN``, saved by
   ``torch.save(model)``) and the elman class re-exported under the same path
   (``elman.nn.modules.rnn.RNN``, which is ``elman.nn.RNN``) is allowlisted. Only the
   modules listed in :data:`TORCH_MODULE_ALIASES` are mapped, from a fixed table.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = [
    "add_safe_globals",
    "get_safe_globals",
    "clear_safe_globals",
    "safe_globals",
    "TORCH_MODULE_ALIASES",
    "user_class",
    "torch_alias",
]

#: torch's module paths and the elman modules that re-export the same class names.
TORCH_MODULE_ALIASES = {
    "torch.nn.modules.module": "elman.nn.modules.module",
    "torch.nn.modules.rnn": "elman.nn.modules.rnn",
    "torch.nn.modules.linear": "elman.nn.modules.linear",
    "torch.nn.modules.sparse": "elman.nn.modules.sparse",
    "torch.nn.modules.container": "elman.nn.modules.container",
    "torch.nn.modules.dropout": "elman.nn.modules.dropout",
    "torch.nn.modules.loss": "elman.nn.modules.loss",
}

_safe: set[Any] = set()


def _check_entry(entry: Any) -> None:
    target = entry
    if isinstance(entry, tuple):
        if len(entry) != 2 or type(entry[1]) is not str:
            raise ValueError(
                f"Expected tuple of length 2 (global, str of callable full path), but got {entry!r}"
            )
        target = entry[0]
    module = getattr(target, "__module__", None) or ""
    if module == "torch" or module.startswith("torch."):
        alias = f"elman{module[5:]}.{getattr(target, '__qualname__', '?')}"
        raise TypeError(
            f"{module}.{getattr(target, '__qualname__', '?')} is a torch class: elman "
            f"rebuilds torch's classes as its own, so allowlist the elman class ({alias} "
            "or its elman.nn name) instead"
        )


def add_safe_globals(safe_globals: Iterable[Any]) -> None:
    """Mark classes as safe for :func:`elman.load`, as ``torch.serialization``'s function.

    An allowlisted class met in a file is created with ``cls.__new__(cls, *args)`` and
    given its pickled state (``__setstate__``, or its ``__dict__`` updated); the class is
    never called, so ``__init__`` does not run. A function in the list is accepted (torch
    scripts pass some) but elman refuses to call it when a file asks to.

    Args:
        safe_globals: classes, or ``(class, "module.QualName")`` pairs for a class that
            the file names differently. torch classes are refused with the elman class
            to use (``elman.nn.modules.rnn.RNN`` for ``torch.nn.modules.rnn.RNN``).

    Example:
        >>> import elman
        >>> elman.serialization.add_safe_globals([elman.nn.RNN])
        >>> elman.nn.RNN in elman.serialization.get_safe_globals()
        True
        >>> elman.serialization.clear_safe_globals()
    """
    global _safe
    entries = list(safe_globals)
    for entry in entries:
        _check_entry(entry)
    _safe = _safe | set(entries)


def get_safe_globals() -> list[Any]:
    """The user-added globals that :func:`elman.load` accepts (a new list)."""
    return list(_safe)


def clear_safe_globals() -> None:
    """Forget every user-added global."""
    global _safe
    _safe = set()


@contextmanager
def safe_globals(safe_globals: Iterable[Any]) -> Iterator[None]:
    """Allowlist classes within a ``with`` block, as ``torch.serialization.safe_globals``.

    The entries are added on entry and removed on exit (including ones that were added
    before the block, as in torch).

    Example:
        >>> import io, elman
        >>> buf = io.BytesIO()
        >>> elman.save(elman.nn.Linear(2, 1), buf)
        >>> _ = buf.seek(0)
        >>> with elman.serialization.safe_globals([elman.nn.Linear]):
        ...     model = elman.load(buf)
        >>> type(model).__name__
        'Linear'
    """
    global _safe
    entries = list(safe_globals)
    add_safe_globals(entries)
    try:
        yield
    finally:
        _safe = _safe - set(entries)


def _name_of(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', '?')}"


def user_class(full_name: str) -> Any:
    """The allowlisted object the file's ``module.QualName`` names, or None."""
    for entry in _safe:
        if isinstance(entry, tuple):
            if entry[1] == full_name:
                return entry[0]
        elif _name_of(entry) == full_name:
            return entry
    return None


def torch_alias(module: str, name: str) -> Any:
    """The elman object re-exported under torch's path ``module.name`` (None if there is
    none). Imports only the fixed modules of :data:`TORCH_MODULE_ALIASES`."""
    target = TORCH_MODULE_ALIASES.get(module)
    if target is None:
        return None
    mod = importlib.import_module(target)
    if name not in getattr(mod, "__all__", ()):
        return None
    return getattr(mod, name)


def is_allowlisted(obj: Any) -> bool:
    """Whether ``obj`` itself (not a name) is in the user's allowlist."""
    return any((e[0] if isinstance(e, tuple) else e) is obj for e in _safe)
