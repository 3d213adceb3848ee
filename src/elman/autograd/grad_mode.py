"""Grad mode: whether operations record the autograd graph."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from ._checks import check_flag

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled"]

_F = TypeVar("_F", bound=Callable[..., Any])


class _State(threading.local):
    enabled: bool = True


_state = _State()


def is_grad_enabled() -> bool:
    """Return True when new operations are recorded for backward."""
    return _state.enabled


class _GradModeContext:
    """Base of the grad-mode switches: a context manager that also decorates functions."""

    mode: bool

    def __enter__(self) -> None:
        self.prev = _state.enabled
        _state.enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        _state.enabled = self.prev

    def _clone(self) -> _GradModeContext:
        return self.__class__()

    def __call__(self, func: _F) -> _F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self._clone():  # a fresh context per call: calls may nest or recurse
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class _NoParamContext(_GradModeContext):
    # ``@no_grad`` without parentheses works too, as in torch
    def __new__(cls, orig_func: Callable[..., Any] | None = None) -> Any:
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)


class no_grad(_NoParamContext):
    """Context manager and decorator that disables graph recording.

    Inside it, results never require grad and nothing is saved for backward.

    Example:
        >>> import elman
        >>> x = elman.ones(2, requires_grad=True)
        >>> with elman.no_grad():
        ...     y = x * 2
        >>> y.requires_grad
        False
    """

    mode = False


class enable_grad(_NoParamContext):
    """Context manager and decorator that enables graph recording inside ``no_grad``."""

    mode = True


class set_grad_enabled(_GradModeContext):
    """Set grad mode on or off: as a function call, a context manager or a decorator.

    Called on its own it switches the mode at once (``elman.set_grad_enabled(False)``); as a
    context manager or decorator the previous mode comes back on exit.

    Example:
        >>> import elman
        >>> with elman.set_grad_enabled(False):
        ...     elman.is_grad_enabled()
        False
    """

    def __init__(self, mode: bool) -> None:
        self.prev = _state.enabled
        self.mode = check_flag("enabled", mode, "set_grad_enabled")
        _state.enabled = self.mode

    def __enter__(self) -> None:
        _state.enabled = self.mode  # ``prev`` was taken before __init__ switched the mode

    def _clone(self) -> _GradModeContext:
        return self.__class__(self.mode)

    def __call__(self, func: _F) -> _F:
        _state.enabled = self.prev  # decorating must not change the mode now
        return super().__call__(func)
