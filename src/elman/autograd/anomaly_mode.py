"""Anomaly detection for the backward pass: torch's ``detect_anomaly`` and ``set_detect_anomaly``.

In anomaly mode every graph node remembers the Python stack of the forward call that
created it, and the backward pass

* checks every gradient a node returns: NaN raises torch's ``RuntimeError("Function
  'MulBackward0' returned nan values in its 0th output.")``; ±inf raises the same sentence
  with ``inf`` (an elman extension: a diverging run usually overflows to inf before it
  turns into NaN);
* on any error in a node's backward (these included) first warns, as torch does, ``Error
  detected in MulBackward0. Traceback of forward call that caused the error: ...``.

elman also follows non-finite values through the forward pass: a node whose outputs hold
NaN or inf while its inputs were finite is where they *started*; every node downstream
inherits that origin, and the backward error names it (the op, and the line of the caller
that created it) with its forward traceback in the warning. Nothing is raised or warned
during the forward pass (a -inf used as a mask is legitimate), so scripts written for
torch run unchanged. ``check_nan=False`` keeps the tracebacks and turns the checks off.

Outside anomaly mode the only cost is one flag test per recorded op and per backward node.
"""

from __future__ import annotations

import os
import sys
import threading
import traceback
import warnings
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from ._checks import check_flag

__all__ = [
    "detect_anomaly",
    "set_detect_anomaly",
    "is_anomaly_enabled",
    "is_anomaly_check_nan_enabled",
]


class _Mode:
    """Anomaly mode's switches: process-wide, as torch's (not per thread)."""

    __slots__ = ("enabled", "check_nan")

    def __init__(self) -> None:
        self.enabled = False  # nodes record their forward traceback; backward checks
        self.check_nan = True  # the backward's checks raise on NaN/inf gradients


ANOMALY = _Mode()
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep  # .../elman/


def is_anomaly_enabled() -> bool:
    """Whether anomaly detection is on (see :class:`detect_anomaly`)."""
    return ANOMALY.enabled


def is_anomaly_check_nan_enabled() -> bool:
    """Whether anomaly mode checks the backward's gradients for NaN (and inf)."""
    return ANOMALY.check_nan


def _set(mode: bool, check_nan: bool) -> None:
    ANOMALY.enabled, ANOMALY.check_nan = bool(mode), bool(check_nan)


class detect_anomaly:
    """Context manager that turns anomaly detection on for the autograd engine.

    Inside it, each op records the traceback of its forward call; with ``check_nan``
    (default True) a backward function that returns NaN or ±inf in a gradient raises a
    ``RuntimeError`` naming it, after a warning with the traceback of the forward call that
    created it, and the message also names the op where the forward pass first produced
    NaN/inf from finite inputs, if one did. Slow: for debugging only (entering warns, as
    torch does).

    Args:
        check_nan: raise on NaN/inf gradients (default True).

    Example:
        >>> import warnings, elman
        >>> x = elman.tensor([0.0, 1.0], requires_grad=True)
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     with elman.autograd.detect_anomaly():
        ...         loss = (x.sqrt() * 0).sum()  # d sqrt(x) / dx at 0 is inf: 0 * inf
        ...         try:
        ...             loss.backward()
        ...         except RuntimeError as e:
        ...             print(e)
        Function 'SqrtBackward0' returned nan values in its 0th output.
    """

    def __init__(self, check_nan: bool = True) -> None:
        self.prev = ANOMALY.enabled
        self.check_nan = check_flag("check_nan", check_nan, "set_anomaly_enabled")
        self.prev_check_nan = ANOMALY.check_nan
        warnings.warn(
            "Anomaly Detection has been enabled. This mode will increase the runtime and "
            "should only be enabled for debugging.",
            stacklevel=2,
        )

    def __enter__(self) -> None:
        _set(True, self.check_nan)

    def __exit__(self, *args: object) -> None:
        _set(self.prev, self.prev_check_nan)


class set_detect_anomaly:
    """Turn anomaly detection on or off, as a function call or a context manager (the
    previous setting comes back on exit). See :class:`detect_anomaly`.

    Args:
        mode: on (True) or off (False).
        check_nan: raise on NaN/inf gradients (default True).
    """

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        mode = check_flag("enabled", mode, "set_anomaly_enabled")  # (torch's TypeError)
        check_nan = check_flag("check_nan", check_nan, "set_anomaly_enabled")
        self.prev = ANOMALY.enabled
        self.prev_check_nan = ANOMALY.check_nan
        _set(mode, check_nan)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *args: object) -> None:
        _set(self.prev, self.prev_check_nan)


# ---- what the forward pass records (called only in anomaly mode) ---------------------------


class Origin(NamedTuple):
    """Where non-finite values entered the graph: an op (its node's name and forward
    stack) fed finite inputs, or a tensor that already held them."""

    name: str
    stack: traceback.StackSummary | None
    what: str  # "nan", "inf" or "nan and inf"


class Record(NamedTuple):
    stack: traceback.StackSummary
    origin: Origin | None


def record(node: Any, args: Sequence[Any], arrays: Sequence[Any], outputs: Sequence[Any]) -> None:
    """Remember on ``node`` the forward stack and where non-finite outputs came from.

    ``args`` are the op's positional arguments (Tensors among them), ``arrays`` their
    ndarrays, ``outputs`` the ndarrays it returned.
    """
    stack = _forward_stack()
    node.anomaly = Record(stack, _origin(node, stack, args, arrays, outputs))


def _forward_stack() -> traceback.StackSummary:
    """The caller's stack without the innermost frames inside elman (they are the op's
    machinery; frames of elman between user frames, e.g. Module.__call__, stay)."""
    frames = traceback.extract_stack()
    while frames and frames[-1].filename.startswith(_PACKAGE):
        frames.pop()
    return traceback.StackSummary.from_list(frames)


def _nonfinite(a: Any) -> str:
    """ "nan", "inf", "nan and inf" or "" for an array (non-float: "")."""
    if type(a) is not np.ndarray:
        if not isinstance(a, (float, np.floating)):
            return ""
        a = np.asarray(a)
    if a.dtype.kind not in "fc" or np.isfinite(a).all():
        return ""
    nan, inf = bool(np.isnan(a).any()), bool(np.isinf(a).any())
    return "nan and inf" if nan and inf else "nan" if nan else "inf"


def _origin(
    node: Any, stack: Any, args: Sequence[Any], arrays: Sequence[Any], outputs: Sequence[Any]
) -> Origin | None:
    what = [w for w in (_nonfinite(o) for o in outputs) if w]
    if not what:
        return None
    for a, raw in zip(args, arrays, strict=False):
        held = _nonfinite(raw)
        if not held:
            continue
        parent = getattr(a, "_grad_fn", None)
        rec = getattr(parent, "anomaly", None) if parent is not None else None
        if rec is not None and rec.origin is not None:
            return rec.origin  # inherited from upstream
        shape = tuple(np.shape(raw))
        kind = "tensor" if hasattr(a, "_grad_fn") else "argument"
        return Origin(f"a {kind} of shape {shape}", None, held)
    kinds = [k for k in ("nan", "inf") if any(k in w for w in what)]
    return Origin(node.name(), stack, " and ".join(kinds))


# ---- what the backward pass checks ---------------------------------------------------------

_ROOTS = threading.local()  # .origin: where the non-finite values of the backward's roots began


class roots_of_backward:
    """Around one backward pass: remember where non-finite values of its roots (the tensors
    ``backward`` was called on) began, for errors raised at nodes upstream of that point
    (whose own outputs were finite, e.g. an RNN feeding a loss that overflowed)."""

    def __init__(self, tensors: Sequence[Any]) -> None:
        self.origin = None
        for t in tensors:
            rec = getattr(t._grad_fn, "anomaly", None)
            if rec is not None and rec.origin is not None:
                self.origin = rec.origin
                break

    def __enter__(self) -> None:
        self.prev = getattr(_ROOTS, "origin", None)
        _ROOTS.origin = self.origin

    def __exit__(self, *exc: object) -> None:
        _ROOTS.origin = self.prev


def checked_backward(node: Any, grads: Sequence[Any]) -> tuple[Any, ...]:
    """``node.fn.backward(ctx, *grads)`` with anomaly mode's checks (see the module doc)."""
    try:
        out = node.fn.backward(node.ctx, *grads)
        in_grads = out if isinstance(out, tuple) else (out,)
        if ANOMALY.check_nan:
            _check(node, in_grads)
    except Exception:
        _warn_error(node)
        raise
    return in_grads


def _check(node: Any, in_grads: Sequence[Any]) -> None:
    for value in ("nan", "inf"):  # NaN first: torch's error where torch raises one
        test = np.isnan if value == "nan" else np.isinf
        for i, g in enumerate(in_grads):
            if g is None:
                continue
            a = g if type(g) is np.ndarray else np.asarray(g)
            if a.dtype.kind in "fc" and test(a).any():
                message = f"Function '{node.name()}' returned {value} values in its {i}th output."
                raise RuntimeError(message + _origin_note(node))


def _origin_note(node: Any) -> str:
    rec = getattr(node, "anomaly", None)
    origin = rec.origin if rec is not None else None
    if origin is None:
        origin = getattr(_ROOTS, "origin", None)
    if origin is None:
        return ""
    if origin.stack is None:
        return f" (elman: {origin.name} held {origin.what} when it entered the graph.)"
    where = _where(origin.stack)
    return (
        f" (elman: the forward pass first produced {origin.what} in '{origin.name}'"
        f"{where}, from finite inputs.)"
    )


def _where(stack: traceback.StackSummary) -> str:
    if not stack:
        return ""
    last = stack[-1]
    return f" at {last.filename}:{last.lineno}, in {last.name}"


def _warn_error(node: Any) -> None:
    rec = getattr(node, "anomaly", None)
    if rec is None:
        return
    name = node.name()
    text = (
        f"Error detected in {name}. Traceback of forward call that caused the error:\n"
        + "".join(rec.stack.format())
    )
    origin = rec.origin if rec.origin is not None else getattr(_ROOTS, "origin", None)
    if origin is not None and origin.stack is not None and origin.stack is not rec.stack:
        text += (
            f"\nThe forward pass first produced {origin.what} in {origin.name}, from "
            "finite inputs. Traceback of its forward call:\n" + "".join(origin.stack.format())
        )
    warnings.warn(text, UserWarning, stacklevel=_user_stacklevel())


def _user_stacklevel() -> int:
    """The stacklevel of the innermost frame outside elman (the caller of backward())."""
    frame = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
        level += 1
    return level
