"""Ways to make tensors, and the functional forms of the ops."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import ops, shape_ops
from .dtypes import get_default_dtype, resolve_dtype
from .tensor import Tensor
from .tensor_methods import _shape_args
from .trace_hook import TRACER

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
    dtype unless ``dtype`` is given.

    Example:
        >>> import elman
        >>> elman.tensor([[1.0, 2.0]]).dtype
        dtype('float32')
    """
    if isinstance(data, Tensor):
        arr = np.array(data._data, copy=True)
    elif isinstance(data, np.ndarray) or hasattr(data, "__array__"):
        arr = np.array(data, copy=True)
    else:
        arr = np.array(data)
        if arr.dtype == np.float64:
            arr = arr.astype(get_default_dtype())
    if dtype is not None:
        arr = arr.astype(resolve_dtype(dtype), copy=False)
    return Tensor(arr, requires_grad=requires_grad)


def as_tensor(data: Any, dtype: Any = None) -> Tensor:
    """Like :func:`tensor`, but shares memory with an ndarray of the right dtype."""
    if isinstance(data, Tensor) and (dtype is None or data.dtype == resolve_dtype(dtype)):
        return data
    if isinstance(data, np.ndarray):
        arr = data if dtype is None else data.astype(resolve_dtype(dtype), copy=False)
        return Tensor(arr)
    return tensor(data, dtype=dtype)


def from_numpy(array: np.ndarray) -> Tensor:
    """Wrap an ndarray without copying: changes to one show in the other."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    return Tensor(array)


def _filled(value: float, size: Sequence[Any], dtype: Any, requires_grad: bool) -> Tensor:
    shape = _shape_args(size)
    t = Tensor(np.full(shape, value, dtype=resolve_dtype(dtype)), requires_grad=requires_grad)
    if TRACER[0] is not None:  # elman.onnx.export: sizes read from inputs stay symbolic
        TRACER[0].filled(t, value, shape)
    return t


def zeros(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros of the given size (float32 unless ``dtype``)."""
    return _filled(0, size, dtype, requires_grad)


def ones(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones of the given size (float32 unless ``dtype``)."""
    return _filled(1, size, dtype, requires_grad)


def full(size: Sequence[int], fill_value: float, dtype: Any = None) -> Tensor:
    return _filled(fill_value, (tuple(size),), dtype, False)


def zeros_like(t: Any, dtype: Any = None) -> Tensor:
    arr = np.asarray(t)
    out = Tensor(np.zeros(arr.shape, dtype=arr.dtype if dtype is None else resolve_dtype(dtype)))
    if TRACER[0] is not None:  # elman.onnx.export: the shape of a traced tensor
        TRACER[0].filled_like(out, t)
    return out


def ones_like(t: Any, dtype: Any = None) -> Tensor:
    arr = np.asarray(t)
    out = Tensor(np.ones(arr.shape, dtype=arr.dtype if dtype is None else resolve_dtype(dtype)))
    if TRACER[0] is not None:  # elman.onnx.export: the shape of a traced tensor
        TRACER[0].filled_like(out, t)
    return out


def randn(
    *size: Any, dtype: Any = None, generator: Any = None, requires_grad: bool = False
) -> Tensor:
    """Samples of N(0, 1) from ``generator`` (default: the global generator)."""
    from ..random import default_generator

    gen = default_generator if generator is None else generator
    arr = gen.normal(_shape_args(size), 0.0, 1.0, dtype=resolve_dtype(dtype, floating_only=True))
    return Tensor(arr, requires_grad=requires_grad)


def rand(
    *size: Any, dtype: Any = None, generator: Any = None, requires_grad: bool = False
) -> Tensor:
    """Samples of U[0, 1) from ``generator`` (default: the global generator)."""
    from ..random import default_generator

    gen = default_generator if generator is None else generator
    arr = gen.uniform(_shape_args(size), 0.0, 1.0, dtype=resolve_dtype(dtype, floating_only=True))
    return Tensor(arr, requires_grad=requires_grad)


def arange(start: float, end: float | None = None, step: float = 1, dtype: Any = None) -> Tensor:
    if end is None:
        start, end = 0, start
    arr = np.arange(start, end, step)
    if dtype is not None:
        arr = arr.astype(resolve_dtype(dtype))
    elif arr.dtype == np.float64:
        arr = arr.astype(get_default_dtype())
    return Tensor(arr)


def _tensors(seq: Any, name: str) -> list[Tensor]:
    if isinstance(seq, Tensor) or not isinstance(seq, (list, tuple)):
        raise TypeError(f"{name}(): argument 'tensors' must be a tuple or list of Tensors")
    if not seq:
        raise RuntimeError(f"{name}(): expected a non-empty list of Tensors")
    return [t if isinstance(t, Tensor) else Tensor(np.asarray(t)) for t in seq]


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Concatenate along an existing dimension."""
    ts = _tensors(tensors, "cat")
    return shape_ops.Cat.apply(*ts, dim=dim)


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Stack along a new dimension."""
    ts = _tensors(tensors, "stack")
    shapes = {t.shape for t in ts}
    if len(shapes) > 1:
        raise RuntimeError(
            f"stack expects each tensor to be equal size, but got {ts[0].shape} at entry 0 "
            f"and {next(t.shape for t in ts if t.shape != ts[0].shape)} at another entry"
        )
    return shape_ops.Stack.apply(*ts, dim=dim)


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
    return ops.matmul(a, b)


def maximum(a: Tensor, b: Tensor) -> Tensor:
    return ops.Maximum.apply(a, b)
