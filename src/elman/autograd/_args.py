"""Method arguments as NumPy sees them: indices, shapes and operands, with torch's errors.

The Tensor methods call these before any op runs: an index with Tensors replaced by
arrays (integers beyond int64 and non-integer slice bounds refused), a shape from
``f(2, 3)`` or ``f((2, 3))``, the shape ``expand`` gives, and an arithmetic operand
(``NotImplemented`` for what is not numeric, so that Python raises its TypeError).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import function
from .dtypes import resolve_dtype

__all__ = ["_index", "_shape_args", "_to_args", "_array", "_expanded", "_operand"]


def _tensor_type() -> Any:
    """The Tensor class (registered by tensor.py, which imports the methods that import
    this module)."""
    return function.tensor_class


def _is_text(index: Any) -> bool:
    return isinstance(index, (str, bytes)) or (
        isinstance(index, list) and np.asarray(index).dtype.kind in "USO"
    )


def _index(index: Any, ndim: int | None = None) -> Any:
    """An index with Tensors replaced by their arrays, for NumPy; integers beyond int64 get
    NumPy's out-of-bounds IndexError (NumPy would say only that they are not integers).
    With ``ndim`` (the indexed tensor's), a text index is first counted as torch does: more
    indices than dimensions is its IndexError, before the type's TypeError."""
    parts = index if isinstance(index, tuple) else (index,)
    if ndim is not None and any(_is_text(p) for p in parts):
        if sum(1 for p in parts if p is not None and p is not Ellipsis) > ndim:
            raise IndexError(f"too many indices for tensor of dimension {ndim}")
    if isinstance(index, _tensor_type()):
        return index._data
    if isinstance(index, tuple):
        return tuple(_index(i) for i in index)
    if _is_text(index):
        raise TypeError(
            "only integers, slices (`:`), ellipsis (`...`), None and integer or boolean tensors "
            f"are valid indices (got {type(index).__name__})"
        )
    if isinstance(index, int) and not -(2**63) <= index < 2**63:
        raise IndexError(f"index {index} is out of bounds (beyond the int64 range)")
    if isinstance(index, slice):
        for part in (index.start, index.stop, index.step):
            if part is not None and not hasattr(part, "__index__"):
                raise TypeError(
                    "slice indices must be integers or None or have an __index__ method"
                )
    return index


def _shape_args(shape: Sequence[Any], where: str = "", name: str = "shape") -> tuple[int, ...]:
    """``f(2, 3)`` and ``f((2, 3))`` both mean the shape (2, 3), as in torch. With ``where``
    (a method's name), no shape at all, or an element that is not an integer, is torch's
    TypeError."""
    if where and not shape:
        raise TypeError(f'{where}() missing 1 required positional arguments: "{name}"')
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    if where:
        for i, n in enumerate(shape):
            if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
                raise TypeError(
                    f"{where}(): argument '{name}' must be tuple of ints, but found element of "
                    f"type {type(n).__name__} at pos {i}"
                )
        if where in ("reshape", "view"):  # NumPy takes any negative size as -1
            bad = [i for i, n in enumerate(shape) if n < -1]
            if bad:
                raise RuntimeError(
                    f"invalid shape dimension {shape[bad[0]]} at index {bad[0]} of shape "
                    f"{list(shape)}"
                )
            if sum(1 for n in shape if n == -1) > 1:
                raise RuntimeError("only one dimension can be inferred")
    return tuple(shape)


_DEVICE = re.compile(r"(cpu|cuda|mps|meta|xpu|xla|hip|privateuseone)(:\d+)?")
_CPU = re.compile(r"cpu(:0)?")
_TO_KEYWORDS = ("dtype", "device", "non_blocking", "copy", "memory_format")


def _is_device(value: Any) -> bool:
    if isinstance(value, str):
        return _DEVICE.fullmatch(value) is not None
    return type(value).__name__ == "device"  # a torch.device, without importing torch


def _to_args(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, bool]:
    """``(dtype or None, copy)`` from torch's ``Tensor.to`` arguments."""
    for k, v in kwargs.items():
        if k not in _TO_KEYWORDS:
            raise TypeError(f"to() received an invalid combination of arguments: '{k}'")
        if k in ("non_blocking", "copy") and not isinstance(v, bool):
            raise TypeError(f"to() received an invalid combination of arguments: {k}={v!r}")
    rest = list(args)
    dtype = kwargs.get("dtype")
    device = kwargs.get("device")
    if rest and isinstance(rest[0], _tensor_type()):  # to(other, non_blocking, copy)
        dtype = rest.pop(0)._data.dtype
    elif rest and (rest[0] is None or _is_device(rest[0])):  # to(device, dtype, ...)
        device = rest.pop(0)
        if rest:  # the dtype's place: to("cpu", True) is an error, as in torch
            if isinstance(rest[0], bool):
                raise TypeError(f"to() received an invalid combination of arguments: {args!r}")
            dtype = rest.pop(0)
    elif rest and not isinstance(rest[0], bool):  # to(dtype, non_blocking, copy)
        dtype = rest.pop(0)
    if len(rest) > 2 or not all(isinstance(v, bool) for v in rest):
        raise TypeError(f"to() received an invalid combination of arguments: {args!r}")
    if device is not None and not _CPU.fullmatch(str(device)):
        raise ValueError(f"elman runs on the CPU only: device must be 'cpu', got {device!r}")
    copy = bool(kwargs.get("copy", rest[1] if len(rest) > 1 else False))
    return (None if dtype is None else resolve_dtype(dtype)), copy


def _array(x: Any) -> Any:
    return x._data if isinstance(x, _tensor_type()) else x


def _expanded(shape: tuple[int, ...], target: tuple[int, ...]) -> tuple[int, ...]:
    """The shape ``expand(*target)`` gives, with torch's errors: -1 keeps a size; new
    leading sizes come first; other sizes must equal the existing one or expand a 1."""
    lead = len(target) - len(shape)
    if lead < 0:
        raise RuntimeError(
            f"expand({list(shape)}, size={list(target)}): the number of sizes provided "
            f"({len(target)}) must be greater or equal to the number of dimensions in the "
            f"tensor ({len(shape)})"
        )
    out = []
    for i, n in enumerate(target):
        have = shape[i - lead] if i >= lead else None
        if n == -1 and have is None:
            raise RuntimeError(
                f"The expanded size of the tensor (-1) isn't allowed in a leading, "
                f"non-existing dimension {i}"
            )
        n = have if n == -1 else n
        if n < 0 or (have is not None and have != 1 and have != n):
            raise RuntimeError(
                f"The expanded size of the tensor ({n}) must match the existing size ({have}) "
                f"at non-singleton dimension {i}.  Target sizes: {list(target)}.  Tensor "
                f"sizes: {list(shape)}"
            )
        out.append(int(n))
    return tuple(out)


def _operand(x: Any) -> Any:
    """Tensors pass through; Python numbers stay scalars (keep the tensor's dtype); NumPy
    arrays and numeric lists become constants (as torch.as_tensor). Anything else (strings,
    None, objects) is ``NotImplemented``, so that Python raises its TypeError (or ``==``
    compares identities), as for torch."""
    if isinstance(x, _tensor_type()):
        return x
    if isinstance(x, np.generic):  # NumPy scalars act like Python numbers, as in torch
        if isinstance(x, np.bool_):
            return float(x)  # (torch takes np.True_ as the number 1.0 here)
        return x.item() if x.dtype.kind in "biufc" else NotImplemented
    if isinstance(x, (int, float, complex)):
        return x
    if isinstance(x, (np.ndarray, list, tuple)):
        arr = np.asarray(x)
        if arr.dtype.kind in "biufc":
            return _tensor_type()._wrap(arr)
    return NotImplemented
