"""Checks at the public boundary shared by every layer: flags, integers, sizes, broadcasting
and memory.

Each check raises the exception type torch raises for the same mistake (TypeError for a
wrong type, RuntimeError for a size that cannot be allocated, ...) with a message that
names the argument and the value, before any allocation or loop, so that nothing deeper
(NumPy, a compiled kernel) ever sees the bad value. ``allocation_error`` turns a NumPy
``MemoryError`` raised later (an output too large for this machine) into the same
RuntimeError.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "type_name",
    "check_flag",
    "check_int",
    "check_shape",
    "check_allocation",
    "memory_limit",
    "allocation_error",
    "broadcast_shapes",
    "binary",
    "check_no_bool_sub",
    "check_matmul",
]

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def type_name(value: Any) -> str:
    """``int``, ``NoneType``, ``numpy.bool``: how messages name a value's type (NumPy
    scalars with their module, so that ``np.True_`` is not called a ``bool``)."""
    cls = type(value)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__.split('.')[0]}.{cls.__qualname__}"


def check_flag(name: str, value: Any, where: str = "", none: bool = False) -> bool:
    """A bool argument: True, False or a NumPy bool (``np.True_``), as a Python bool; with
    ``none``, None too (as False: torch's parser takes None for ``requires_grad``).

    torch refuses NumPy bools in most places (and calls them ``bool`` in RNN's message);
    elman takes them, since they cannot mean anything else.
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if none and value is None:
        return False
    prefix = f"{where}(): " if where else ""
    raise TypeError(f"{prefix}argument '{name}' must be bool, not {type_name(value)}")


def check_scalar(name: str, value: Any, dtype: Any, where: str) -> Any:
    """A number to be stored in a tensor of ``dtype``: TypeError if it is not a number,
    torch's RuntimeError if a finite float overflows the dtype (1e300 into float32)."""
    if not isinstance(value, (int, float, complex, np.number, np.bool_)):
        raise TypeError(f"{where}(): argument '{name}' must be Number, not {type_name(value)}")
    dt = np.dtype(dtype)
    if dt.kind != "c" and isinstance(value, (complex, np.complexfloating)):
        raise RuntimeError(f"value cannot be converted to type {dt} without overflow")
    if dt.kind in "iu" and not isinstance(value, (bool, np.bool_)):
        check_integer_range(np.asarray(value), dt)
    if dt.kind == "f" and isinstance(value, (int, float, np.number)):
        v = float(value)
        if math.isfinite(v) and abs(v) > float(np.finfo(dt).max):
            raise RuntimeError(f"value cannot be converted to type {dt} without overflow")
    return value


def check_integer_range(values: np.ndarray, dt: np.dtype) -> None:
    """Numbers about to be cast to an integer dtype: finite and within its range, as torch's
    checked conversion (which lets negative integers wrap into unsigned types: -2 -> 254)."""
    if values.dtype.kind not in "biuf" or values.size == 0:
        return
    info = np.iinfo(dt)
    floating = values.dtype.kind == "f"  # (only integers wrap; a float must be in range)
    lo = -int(info.max) if dt.kind == "u" and not floating else int(info.min)
    with np.errstate(invalid="ignore"):
        v = values.astype(np.float64) if values.dtype.kind == "f" else values
        bad = ~np.isfinite(v) if values.dtype.kind == "f" else np.zeros(v.shape, bool)
        bad |= (v < lo) | (v > int(info.max))
    if bad.any():
        raise RuntimeError(f"value cannot be converted to type {dt} without overflow")


def check_int(name: str, value: Any, where: str = "") -> int:
    """An integer argument (a Python or NumPy integer, not a bool) as a Python int."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        prefix = f"{where}(): " if where else ""
        raise TypeError(f"{prefix}argument '{name}' must be int, not {type_name(value)}")
    return int(value)


def check_strides(shape: list[int], itemsize: int) -> None:
    """torch's two overflow checks on a new tensor's shape, in its order: the byte count
    (a running unsigned 64-bit product of the sizes, times the item size, must fit int64:
    "Storage size calculation overflowed"), then the element strides (products of the later
    sizes, empty ones counted as 1: "Stride calculation overflowed"). NumPy's strides count
    bytes, so an empty shape whose byte strides overflow, (0, 2**62) of float32, is refused
    too where torch makes it (docs/differences.md)."""
    numel, wrapped = 1, False
    for n in shape:
        numel *= n
        wrapped = wrapped or numel >= 2**64
    if wrapped or numel * itemsize > INT64_MAX:
        raise RuntimeError(f"Storage size calculation overflowed with sizes={shape}")
    stride = 1
    for n in reversed(shape[1:]):
        stride *= max(n, 1)
        if stride * itemsize > INT64_MAX:
            why = "" if stride > INT64_MAX else " (NumPy's strides count bytes)"
            raise RuntimeError(f"Stride calculation overflowed with sizes={shape}{why}")


def check_shape(size: Sequence[Any], dtype: Any, where: str) -> tuple[int, ...]:
    """A tensor shape about to be allocated: integers, none negative, and a byte count this
    machine can hold (torch: "Trying to create tensor with negative dimension", then its
    allocator's "can't allocate memory")."""
    if isinstance(size, (int, np.integer)) and not isinstance(size, (bool, np.bool_)):
        size = (size,)
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"{where}(): argument 'size' must be tuple of ints, not {type_name(size)}")
    shape = []
    for i, n in enumerate(size):
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
            raise TypeError(
                f"{where}(): argument 'size' must be tuple of ints, but found element of "
                f"type {type_name(n)} at pos {i}"
            )
        shape.append(int(n))
    if any(n < 0 for n in shape):
        bad = next(n for n in shape if n < 0)
        raise RuntimeError(f"Trying to create tensor with negative dimension {bad}: {shape}")
    itemsize = np.dtype(dtype).itemsize
    check_strides(shape, itemsize)
    check_allocation(math.prod(shape) * itemsize, f"a {where} tensor of shape {tuple(shape)}")
    return tuple(shape)


@functools.cache
def memory_limit() -> int:
    """The most memory an allocation could ever get here, in bytes: RAM plus swap (within
    the cgroup's limit, if any); 2**63 - 1 where that cannot be read."""
    limit = INT64_MAX
    try:
        with open("/proc/meminfo") as f:
            info = dict(line.split(":", 1) for line in f if ":" in line)
        kib = sum(int(info[k].split()[0]) for k in ("MemTotal", "SwapTotal") if k in info)
        if kib:
            limit = kib * 1024
    except (OSError, ValueError):
        try:
            limit = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (AttributeError, OSError, ValueError):
            pass
    try:
        with open("/sys/fs/cgroup/memory.max") as f:
            text = f.read().strip()
        if text.isdigit():
            limit = min(limit, int(text))
    except OSError:
        pass
    return limit


def check_allocation(nbytes: int, what: str) -> None:
    """Refuse, before allocating, what could never fit in this machine's memory."""
    if nbytes > memory_limit():
        raise RuntimeError(
            f"can't allocate memory: you tried to allocate {nbytes} bytes for {what}, more "
            f"than this machine's {memory_limit()} bytes of memory (RAM + swap)"
        )


def allocation_error(error: MemoryError) -> RuntimeError:
    """The RuntimeError for a failed NumPy allocation: the bytes asked, and what for."""
    shape, dtype = getattr(error, "shape", None), getattr(error, "dtype", None)
    if shape is not None and dtype is not None:
        nbytes = math.prod(shape) * np.dtype(dtype).itemsize
        return RuntimeError(
            f"can't allocate memory: you tried to allocate {nbytes} bytes (an array of shape "
            f"{tuple(shape)} and dtype {np.dtype(dtype)}); this machine has "
            f"{memory_limit()} bytes of memory (RAM + swap)"
        )
    return RuntimeError(f"can't allocate memory: {error or 'out of memory'}")


def broadcast_shapes(a: Sequence[int], b: Sequence[int]) -> tuple[int, ...]:
    """torch's ``infer_size``: the broadcast shape of ``a`` and ``b``, or its RuntimeError
    naming the first mismatch from the right ("The size of tensor a (3) must match ...")."""
    ndim = max(len(a), len(b))
    out = [0] * ndim
    for i in range(ndim - 1, -1, -1):
        offset = ndim - 1 - i
        size_a = a[len(a) - 1 - offset] if offset < len(a) else 1
        size_b = b[len(b) - 1 - offset] if offset < len(b) else 1
        if size_a != size_b and size_a != 1 and size_b != 1:
            raise RuntimeError(
                f"The size of tensor a ({size_a}) must match the size of tensor b ({size_b}) "
                f"at non-singleton dimension {i}"
            )
        out[i] = size_b if size_a == 1 else size_a
    return tuple(out)


def binary(ufunc: np.ufunc, a: Any, b: Any) -> np.ndarray:
    """``ufunc(a, b)``, with torch's RuntimeError when the shapes do not broadcast."""
    try:
        return ufunc(a, b)  # type: ignore[no-any-return]
    except ValueError:
        broadcast_shapes(np.shape(a), np.shape(b))  # raises torch's message if that was it
        raise


_BOOL_SUB = (
    "Subtraction, the `-` operator, with {} is not supported. If you are trying to invert a "
    "mask, use the `~` or `logical_not()` operator instead."
)


def check_no_bool_sub(a: Any, b: Any) -> None:
    """torch refuses ``-`` on bool tensors (a mask is inverted with ``~``)."""
    bools = [
        x.dtype == np.bool_ if isinstance(x, np.ndarray) else isinstance(x, (bool, np.bool_))
        for x in (a, b)
    ]
    if all(bools):
        raise RuntimeError(
            "Subtraction, the `-` operator, with two bool tensors is not supported. Use the "
            "`^` or `logical_xor()` operator instead."
        )
    if any(bools):
        raise RuntimeError(_BOOL_SUB.format("a bool tensor"))


def check_matmul(a: np.ndarray, b: np.ndarray) -> None:
    """torch's errors for operands that cannot be multiplied: shapes, then dtypes (torch
    does not promote in matmul, and has no bool matmul)."""
    sa, sb = a.shape, b.shape
    if not sa or not sb:
        raise RuntimeError(
            f"both arguments to matmul need to be at least 1D, but they are {len(sa)}D and "
            f"{len(sb)}D"
        )
    k_a, k_b = sa[-1], sb[-2] if len(sb) > 1 else sb[0]
    if k_a != k_b:
        if len(sa) == 1 and len(sb) == 1:
            raise RuntimeError(
                f"inconsistent tensor size, expected tensor [{sa[0]}] and src [{sb[0]}] to have "
                f"the same number of elements, but got {sa[0]} and {sb[0]} elements respectively"
            )
        rows_a = int(np.prod(sa[:-1])) if len(sa) > 1 else 1
        cols_b = sb[-1] if len(sb) > 1 else 1
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({rows_a}x{k_a} and {k_b}x{cols_b})"
        )
    if len(sa) > 2 or len(sb) > 2:
        broadcast_shapes(sa[:-2], sb[:-2])  # the batch dims
    if a.dtype == np.bool_ or b.dtype == np.bool_:
        raise NotImplementedError("\"matmul\" not implemented for 'bool'")
    if a.dtype != b.dtype:
        raise RuntimeError(
            f"expected m1 and m2 to have the same dtype, but got: {a.dtype} != {b.dtype}"
        )
