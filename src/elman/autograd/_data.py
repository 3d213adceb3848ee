"""Turning user data (lists, numbers, ndarrays, anything with ``__array__``) into the
ndarray behind a Tensor, with torch's errors for data that is not numeric."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import INT64_MAX, INT64_MIN, type_name
from .dtypes import get_default_dtype

__all__ = ["check_data", "SUPPORTED"]

SUPPORTED = (
    "float64, float32, float16, complex64, complex128, int64, int32, int16, int8, uint64, "
    "uint32, uint16, uint8, and bool"
)


def check_data(data: Any, copy: bool) -> np.ndarray:
    """The ndarray for ``data``: ndarrays (and ``__array__`` objects) keep their dtype;
    Python data takes torch's dtypes (floats float32, ints int64, complex complex64).

    Raises TypeError for strings, bytes and non-numeric arrays, RuntimeError for objects
    whose dtype cannot be inferred (None, dicts), ValueError for ragged nesting and for
    integers outside int64 (torch: "Overflow when unpacking long long").
    """
    if isinstance(data, np.ndarray) or (
        hasattr(data, "__array__") and not isinstance(data, (list, tuple))
    ):
        arr = np.array(data, copy=True) if copy else np.asarray(data)
        if arr.dtype.kind not in "biufc":
            raise TypeError(
                f"can't convert np.ndarray of type numpy.{arr.dtype.type.__name__}. The only "
                f"supported types are: {SUPPORTED}."
            )
        return arr
    try:
        arr = np.array(data)
    except (ValueError, TypeError, OverflowError):  # ragged nesting, huge integers
        arr = None
    if arr is None or arr.dtype.kind not in "biufc" or arr.dtype == np.uint64:
        _check_items(data)  # raises torch's error for what is wrong
        raise ValueError(f"tensor(): cannot make a tensor of {type_name(data)} data")
    if arr.dtype == np.float64:
        arr = arr.astype(get_default_dtype())
    elif arr.dtype == np.complex128:
        arr = arr.astype(np.complex64)
    return arr


def _check_items(data: Any) -> None:
    """Walk Python data as torch does: the shape comes from the first element at each level;
    every element must then match it (ValueError for a wrong length, TypeError for a number
    where a sequence goes or the reverse), and the leaves must be numbers."""
    shape = []
    first = data
    while isinstance(first, (list, tuple)):
        shape.append(len(first))
        if not first:
            break
        first = first[0]
    stack = [(data, 0)]
    while stack:
        x, depth = stack.pop()
        if depth < len(shape):
            if not isinstance(x, (list, tuple)):
                if hasattr(x, "__array__") and np.ndim(x) == len(shape) - depth:
                    continue  # an array or tensor inside a list: NumPy takes it
                raise TypeError(f"tensor(): not a sequence at dim {depth}: {type_name(x)}")
            if len(x) != shape[depth]:
                raise ValueError(
                    f"expected sequence of length {shape[depth]} at dim {depth} (got {len(x)})"
                )
            stack.extend((item, depth + 1) for item in x)
        elif isinstance(x, (list, tuple)):
            raise TypeError(f"tensor(): a {type_name(x)} where a number goes (dim {depth})")
        elif isinstance(x, (str, bytes)):
            raise TypeError(f"new(): invalid data type '{type(x).__name__}'")
        elif isinstance(x, int) and not isinstance(x, bool) and not INT64_MIN <= x <= INT64_MAX:
            raise ValueError(f"tensor(): {x} does not fit in int64 (Overflow when unpacking long)")
        elif not isinstance(x, (int, float, complex, np.generic)) and not hasattr(x, "__array__"):
            raise RuntimeError(f"Could not infer dtype of {type_name(x)}")
