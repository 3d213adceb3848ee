"""dtype handling: elman's dtypes are NumPy's."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["float32", "float64", "resolve_dtype", "get_default_dtype", "dtype_name"]

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
    return resolved


def dtype_name(dtype: Any) -> str:
    """``np.float32`` -> ``"float32"``, for messages."""
    return str(np.dtype(dtype))
