"""dtype handling: elman's dtypes are NumPy's."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "float32",
    "float64",
    "resolve_dtype",
    "get_default_dtype",
    "dtype_name",
    "result_type",
]

float32 = np.float32
float64 = np.float64

_DEFAULT = np.dtype(np.float32)


def get_default_dtype() -> np.dtype:
    """The dtype of new floating-point tensors: float32, as in torch."""
    return _DEFAULT


def resolve_dtype(dtype: Any, floating_only: bool = False) -> np.dtype:
    """Turn ``np.float32``, ``"float64"``, ``np.dtype(...)`` or None into a NumPy dtype."""
    if dtype is None:
        return _DEFAULT
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        raise TypeError(
            f"dtype must be a NumPy dtype such as elman.float32 or 'float64', got {dtype!r}"
        ) from None
    if floating_only and resolved not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"dtype must be float32 or float64, got {resolved}")
    if resolved.kind not in "biufc":  # object, strings, dates: not tensor dtypes
        raise TypeError(f"dtype must be a numeric NumPy dtype, got {resolved}")
    return resolved


def dtype_name(dtype: Any) -> str:
    """``np.float32`` -> ``"float32"``, for messages."""
    return str(np.dtype(dtype))


def _category(dtype: np.dtype) -> int:
    return 2 if dtype.kind in "fc" else 0 if dtype.kind == "b" else 1


def _promote(a: np.dtype | None, b: np.dtype) -> np.dtype:
    """torch's promote_types: across categories the higher wins (int64 + float32 is float32,
    where NumPy says float64); within one, the wider."""
    if a is None:
        return b
    ca, cb = _category(a), _category(b)
    if ca != cb:
        return a if ca > cb else b
    return np.promote_types(a, b)


def _combine(higher: np.dtype | None, lower: np.dtype | None) -> np.dtype | None:
    # a lower-priority group only matters when it is of a higher category
    if higher is None:
        return lower
    if lower is not None and _category(lower) > _category(higher):
        return _promote(higher, lower)
    return higher


def result_type(*operands: Any) -> np.dtype:
    """The dtype torch gives ``a (op) b``: its type promotion, not NumPy's.

    Operands fall in three groups of decreasing priority: arrays with dimensions, 0-d arrays
    (0-d tensors), and Python or NumPy scalars. A group only widens the result when its
    category (bool < integer < floating) is higher: ``float32 * float64 0-d`` stays float32,
    ``int64 * 0.5`` is the default float dtype, ``int64 * float64 0-d`` is float64.
    """
    groups: list[np.dtype | None] = [None, None, None]
    for x in operands:
        if isinstance(x, np.ndarray):
            k = 0 if x.ndim else 1
            groups[k] = _promote(groups[k], x.dtype)
        else:
            dt: np.dtype
            if isinstance(x, (bool, np.bool_)):
                dt = np.dtype(bool)
            elif isinstance(x, (int, np.integer)):
                dt = np.dtype(np.int64)
            else:
                dt = _DEFAULT
            groups[2] = _promote(groups[2], dt)
    result = _combine(groups[0], _combine(groups[1], groups[2]))
    assert result is not None
    return result
