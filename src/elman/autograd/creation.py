"""Ways to make tensors, and the functional forms of the ops."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import ops, shape_ops
from ._args import _shape_args
from ._checks import (
    check_allocation,
    check_flag,
    check_int,
    check_integer_range,
    check_scalar,
    check_shape,
    type_name,
)
from ._data import check_data
from ._operands import wrap_dim
from .dtypes import get_default_dtype, resolve_dtype
from .tensor import Tensor
from .trace_hook import HOOK

__all__ = [
    "tensor",
    "as_tensor",
    "from_numpy",
    "zeros",
    "ones",
    "full",
    "zeros_like",
    "ones_like",
    "randn",
    "rand",
    "arange",
    "cat",
    "stack",
    "tanh",
    "relu",
    "sigmoid",
    "exp",
    "log",
    "matmul",
    "maximum",
]


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Copy ``data`` (a list, number, ndarray or Tensor) into a new leaf Tensor.

    Python floats become float32 (the default dtype), as in torch; ndarrays keep their
    dtype unless ``dtype`` is given. Data that is not numeric (strings, None, ragged lists,
    integers beyond int64) raises torch's error type with a message naming it.

    Example:
        >>> import elman
        >>> elman.tensor([[1.0, 2.0]]).dtype
        dtype('float32')
    """
    requires_grad = check_flag("requires_grad", requires_grad, "tensor")
    arr = check_data(data, copy=True)
    if dtype is not None:
        dt = resolve_dtype(dtype)
        if dt.kind in "iu" and not isinstance(data, (np.ndarray, Tensor)):
            check_integer_range(arr, dt)  # Python numbers: torch's checked conversion
        with np.errstate(invalid="ignore"):  # an array's NaN cast to int: as torch, silently
            arr = arr.astype(dt, copy=False)
    return Tensor._make(arr, requires_grad=requires_grad)


def as_tensor(data: Any, dtype: Any = None) -> Tensor:
    """Like :func:`tensor`, but shares memory with an ndarray of the right dtype."""
    if isinstance(data, Tensor):  # a conversion stays in the autograd graph, as in torch
        return data if dtype is None else data.to(dtype)
    if isinstance(data, np.ndarray):
        arr = check_data(data, copy=False)
        return Tensor._make(arr if dtype is None else arr.astype(resolve_dtype(dtype), copy=False))
    return tensor(data, dtype=dtype)


def from_numpy(array: np.ndarray) -> Tensor:
    """Wrap an ndarray without copying: changes to one show in the other."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    return Tensor._make(array)


def _filled(value: Any, size: Sequence[Any], dtype: Any, requires_grad: Any, where: str) -> Tensor:
    requires_grad = check_flag("requires_grad", requires_grad, where, none=True)
    dt = resolve_dtype(dtype)
    raw = _size_args(size, where)  # (sizes read from a traced tensor are SymInts)
    shape = check_shape(raw, dt, where)
    if dt.kind in "iu" and isinstance(value, (int, np.integer)):
        value = np.asarray(value).astype(dt)  # out of range wraps around, as torch's cast
    t = Tensor._make(np.full(shape, value, dtype=dt), requires_grad=requires_grad)
    if HOOK.tracer is not None:  # elman.onnx.export: sizes read from inputs stay symbolic
        HOOK.tracer.filled(t, value, raw)
    return t


def _size_args(size: Sequence[Any], where: str) -> Any:
    """``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])`` all mean the shape (2, 3); ``f()`` is
    torch's TypeError."""
    if not size:
        raise TypeError(f'{where}() missing 1 required positional arguments: "size"')
    return _shape_args(size)


def zeros(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros of the given size (float32 unless ``dtype``)."""
    return _filled(0, size, dtype, requires_grad, "zeros")


def ones(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones of the given size (float32 unless ``dtype``)."""
    return _filled(1, size, dtype, requires_grad, "ones")


def full(size: Sequence[int], fill_value: float, dtype: Any = None) -> Tensor:
    """A tensor of ``fill_value``; its dtype, unless given, follows the value as in torch
    (bool, int64, or the default float dtype)."""
    if isinstance(size, (int, np.integer)):  # torch: "must be tuple of ints, not int"
        raise TypeError(f"full(): argument 'size' must be tuple of ints, not {type_name(size)}")
    check_shape(_size_args((size,), "full"), np.float32, "full")  # (the size first, as torch)
    if dtype is None:
        dtype = _scalar_dtype(fill_value, "full", "fill_value")
    check_scalar("fill_value", fill_value, resolve_dtype(dtype), "full")
    return _filled(fill_value, (size,), dtype, False, "full")


def _scalar_dtype(value: Any, where: str, name: str) -> np.dtype:
    """The dtype torch gives a tensor made from one Python or NumPy number."""
    if isinstance(value, bool):  # (a NumPy bool makes a float tensor in torch)
        return np.dtype(bool)
    if isinstance(value, np.bool_):
        return get_default_dtype()
    if isinstance(value, (int, np.integer)):
        return np.dtype(np.int64)
    if isinstance(value, (float, np.floating)):
        return get_default_dtype()
    if isinstance(value, (complex, np.complexfloating)):
        return np.dtype(np.complex64)
    raise TypeError(f"{where}(): argument '{name}' must be Number, not {type_name(value)}")


def _like(t: Any, dtype: Any, value: int, where: str) -> Tensor:
    arr = t._data if isinstance(t, Tensor) else check_data(t, copy=False)
    dt = arr.dtype if dtype is None else resolve_dtype(dtype)
    out = Tensor._make(np.full(arr.shape, value, dtype=dt))
    if HOOK.tracer is not None:  # elman.onnx.export: the shape of a traced tensor
        HOOK.tracer.filled_like(out, t)
    return out


def zeros_like(t: Any, dtype: Any = None) -> Tensor:
    """Zeros of ``t``'s shape (and dtype, unless given)."""
    return _like(t, dtype, 0, "zeros_like")


def ones_like(t: Any, dtype: Any = None) -> Tensor:
    """Ones of ``t``'s shape (and dtype, unless given)."""
    return _like(t, dtype, 1, "ones_like")


def randn(
    *size: Any, dtype: Any = None, generator: Any = None, requires_grad: bool = False
) -> Tensor:
    """Samples of N(0, 1) from ``generator`` (default: the global generator)."""
    from ..random import default_generator

    gen = default_generator if generator is None else generator
    requires_grad = check_flag("requires_grad", requires_grad, "randn", none=True)
    dt = resolve_dtype(dtype, floating_only=True)
    arr = gen.normal(check_shape(_size_args(size, "randn"), dt, "randn"), 0.0, 1.0, dtype=dt)
    return Tensor._make(arr, requires_grad=requires_grad)


def rand(
    *size: Any, dtype: Any = None, generator: Any = None, requires_grad: bool = False
) -> Tensor:
    """Samples of U[0, 1) from ``generator`` (default: the global generator)."""
    from ..random import default_generator

    gen = default_generator if generator is None else generator
    requires_grad = check_flag("requires_grad", requires_grad, "rand", none=True)
    dt = resolve_dtype(dtype, floating_only=True)
    arr = gen.uniform(check_shape(_size_args(size, "rand"), dt, "rand"), 0.0, 1.0, dtype=dt)
    return Tensor._make(arr, requires_grad=requires_grad)


def arange(start: float, end: float | None = None, step: float = 1, dtype: Any = None) -> Tensor:
    """``start, start + step, ...`` up to (not including) ``end``; ``arange(n)`` is 0..n-1.

    int64 when every bound is an integer, else the default float dtype (as torch).
    """
    dt = resolve_dtype(dtype) if dtype is not None else None  # (first, as torch)
    if dt is not None and dt.kind == "b":
        raise NotImplementedError("\"arange_cpu\" not implemented for 'bool'")
    if end is None:
        start, end = 0, start
    bounds = {"start": start, "end": end, "step": step}
    for name, v in bounds.items():
        if isinstance(v, Tensor) and v.numel() == 1:
            bounds[name] = v.item()
        elif isinstance(v, np.bool_):
            bounds[name] = float(v)  # (torch takes a NumPy bool as a float here)
        elif not isinstance(v, (int, float, np.integer, np.floating)):
            raise TypeError(f"arange(): argument '{name}' must be Number, not {type_name(v)}")
    start, end, step = bounds.values()
    if not all(math.isfinite(v) for v in (start, end, step)):
        raise RuntimeError(f"unsupported range: {start} -> {end}")
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    integral = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
    out_dt = dt or (np.dtype(np.int64) if integral else get_default_dtype())
    if out_dt == np.int64 and not integral:  # torch's int64 path truncates the bounds first
        start, end, step = int(start), int(end), int(step)
        if step == 0:
            raise ValueError("step must be nonzero")
        integral = True
    count = math.ceil((end - start) / step)  # (in double precision, as torch)
    check_allocation(count * out_dt.itemsize, f"arange({start}, {end}, {step})")
    if out_dt.kind in "iub" and not integral:  # other integer dtypes: size from the doubles,
        arr = int(start) + np.arange(count, dtype=np.int64) * int(step)  # integer steps
    else:
        arr = np.arange(start, end, step)
    return Tensor._make(arr.astype(out_dt, copy=False))


def _tensors(seq: Any, name: str) -> list[Tensor]:
    if isinstance(seq, Tensor) or not isinstance(seq, (list, tuple)):
        raise TypeError(
            f"{name}(): argument 'tensors' (position 1) must be tuple of Tensors, not "
            f"{type_name(seq)}"
        )
    if not seq:
        if name == "cat":
            raise ValueError("cat(): expected a non-empty list of Tensors")
        raise RuntimeError("stack expects a non-empty TensorList")
    out = []
    for i, t in enumerate(seq):
        if not isinstance(t, (Tensor, np.ndarray)):  # (ndarrays: elman takes them too)
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got {type_name(t)}")
        out.append(t if isinstance(t, Tensor) else Tensor._make(check_data(t, copy=False)))
    return out


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Concatenate along an existing dimension."""
    check_int("dim", dim, "cat")
    ts = _tensors(tensors, "cat")
    shapes = [t.shape for t in ts]
    if any(len(s) == 0 for s in shapes):
        i = next(i for i, s in enumerate(shapes) if not s)
        raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
    d = wrap_dim(check_int("dim", dim, "cat"), len(shapes[0]))
    for i, s in enumerate(shapes[1:], 1):
        if len(s) != len(shapes[0]):
            raise RuntimeError(
                f"Tensors must have same number of dimensions: got {len(shapes[0])} and {len(s)}"
            )
        for k, (a, b) in enumerate(zip(shapes[0], s, strict=True)):
            if k != d and a != b:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {d}. Expected size {a} "
                    f"but got size {b} for tensor number {i} in the list."
                )
    return shape_ops.Cat.apply(*ts, dim=d)


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Stack along a new dimension."""
    check_int("dim", dim, "stack")
    ts = _tensors(tensors, "stack")
    d = wrap_dim(check_int("dim", dim, "stack"), ts[0].ndim + 1)
    for i, t in enumerate(ts[1:], 1):
        if t.shape != ts[0].shape:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(ts[0].shape)} at "
                f"entry 0 and {list(t.shape)} at entry {i}"
            )
    return shape_ops.Stack.apply(*ts, dim=d)


def tanh(x: Tensor) -> Tensor:
    return ops.Tanh.apply(x)


def relu(x: Tensor) -> Tensor:
    return ops.Relu.apply(x)


def sigmoid(x: Tensor) -> Tensor:
    return ops.Sigmoid.apply(x)


def exp(x: Tensor) -> Tensor:
    return ops.Exp.apply(x)


def log(x: Tensor) -> Tensor:
    return ops.Log.apply(x)


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """The matrix product (batched and broadcast as torch's), ``a`` and ``b`` of one dtype."""
    for i, x in enumerate((a, b), 1):
        if not isinstance(x, (Tensor, np.ndarray)):
            name = "input" if i == 1 else "other"
            raise TypeError(
                f"matmul(): argument '{name}' (position {i}) must be Tensor, not {type_name(x)}"
            )
    return ops.matmul(a, b)


def maximum(a: Tensor, b: Tensor) -> Tensor:
    return ops.Maximum.apply(a, b)
