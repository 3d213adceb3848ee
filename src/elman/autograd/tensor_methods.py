"""The differentiable methods and operators of :class:`~elman.autograd.Tensor`.

Every method here builds a graph node through an op of :mod:`.ops`; what a Tensor *is*
(its data, grad, conversions, printing, in-place updates) lives in :mod:`.tensor`, whose
``Tensor`` inherits these methods. Results are always plain Tensors (``_wrap``).
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, cast

import numpy as np

from . import ops, reduce_ops, shape_ops
from .dtypes import resolve_dtype

if TYPE_CHECKING:
    from .tensor import Tensor

__all__ = ["TensorMethods", "MaxResult"]


def _index(index: Any) -> Any:
    """An index with Tensors replaced by their arrays, for NumPy."""
    if isinstance(index, TensorMethods):
        return index._data
    if isinstance(index, tuple):
        return tuple(i._data if isinstance(i, TensorMethods) else i for i in index)
    return index


def _shape_args(shape: Sequence[Any]) -> tuple[int, ...]:
    """``f(2, 3)`` and ``f((2, 3))`` both mean the shape (2, 3), as in torch."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
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
    if rest and isinstance(rest[0], TensorMethods):  # to(other, non_blocking, copy)
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


class MaxResult(NamedTuple):
    """What ``Tensor.max(dim)`` returns, like ``torch.return_types.max``."""

    values: Tensor
    indices: Tensor


class TensorMethods:
    """Shape, dtype and math methods and the arithmetic operators, as torch names them."""

    _data: np.ndarray
    _grad_fn: Any

    @classmethod
    def _wrap(cls, array: np.ndarray) -> Tensor:
        raise NotImplementedError  # provided by Tensor

    __hash__ = object.__hash__  # __eq__ below compares elementwise; identity stays the hash

    def _self(self) -> Tensor:
        return cast("Tensor", self)  # for the type checker: only Tensor inherits this class

    # ---- shape --------------------------------------------------------------------------

    def reshape(self, *shape: Any) -> Tensor:
        return shape_ops.Reshape.apply(self, _shape_args(shape))

    def view(self, *shape: Any) -> Tensor:
        return self.reshape(*shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        s = self._data.shape
        if not s:
            return self.reshape(1)
        a, b = ops.wrap_dim(start_dim, len(s)), ops.wrap_dim(end_dim, len(s))
        return self.reshape(s[:a] + (-1,) + s[b + 1 :])

    def permute(self, *dims: Any) -> Tensor:
        dims_t = _shape_args(dims)
        return shape_ops.Permute.apply(
            self, tuple(ops.wrap_dim(d, self._data.ndim) for d in dims_t)
        )

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        order = list(range(self._data.ndim))
        d0, d1 = ops.wrap_dim(dim0, self._data.ndim), ops.wrap_dim(dim1, self._data.ndim)
        if self._data.ndim:
            order[d0], order[d1] = order[d1], order[d0]
        return shape_ops.Permute.apply(self, tuple(order))

    def t(self) -> Tensor:
        if self._data.ndim > 2:
            raise RuntimeError(
                f"t() expects a tensor with <= 2 dimensions, but self is {self._data.ndim}D"
            )
        return self.transpose(0, -1) if self._data.ndim == 2 else self._self()

    @property
    def T(self) -> Tensor:
        return shape_ops.Permute.apply(self, tuple(reversed(range(self._data.ndim))))

    def unsqueeze(self, dim: int) -> Tensor:
        d = ops.wrap_dim(dim, self._data.ndim + 1)
        return self.reshape(self._data.shape[:d] + (1,) + self._data.shape[d:])

    def squeeze(self, dim: int | None = None) -> Tensor:
        s = self._data.shape
        if dim is None:
            return self.reshape(tuple(n for n in s if n != 1))
        d = ops.wrap_dim(dim, len(s))
        if not s or s[d] != 1:
            return self.reshape(s)
        return self.reshape(s[:d] + s[d + 1 :])

    def expand(self, *shape: Any) -> Tensor:
        target = _shape_args(shape)
        lead = len(target) - self._data.ndim
        full = tuple(self._data.shape[i - lead] if n == -1 else n for i, n in enumerate(target))
        return shape_ops.Expand.apply(self, full)

    def contiguous(self) -> Tensor:
        return self._self() if self._data.flags.c_contiguous else ops.Clone.apply(self)

    def __getitem__(self, index: Any) -> Tensor:
        index = _index(index)
        op = shape_ops.Slice if shape_ops.is_basic_index(index) else shape_ops.GetItem
        return op.apply(self, index)

    # ---- dtype --------------------------------------------------------------------------

    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """This tensor with another dtype, as torch's three overloads: ``to(dtype)``,
        ``to(device=None, dtype=None)`` and ``to(other)`` (other's dtype), each with
        ``non_blocking`` and ``copy``. The device must be the CPU (``"cpu"`` or a
        ``torch.device`` printing so). Returns ``self`` when nothing changes, unless
        ``copy=True``.
        """
        dtype, copy = _to_args(args, kwargs)
        if dtype is None or np.dtype(dtype) == self._data.dtype:
            return ops.Clone.apply(self) if copy else self._self()
        return ops.Cast.apply(self, resolve_dtype(dtype))

    def float(self) -> Tensor:
        return self.to(np.float32)

    def double(self) -> Tensor:
        return self.to(np.float64)

    def long(self) -> Tensor:
        return self._wrap(self._data.astype(np.int64))

    def clone(self) -> Tensor:
        return ops.Clone.apply(self)

    def cpu(self) -> Tensor:
        return self._self()

    # ---- math ---------------------------------------------------------------------------

    def sum(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return (reduce_ops.Sum if dim is None else reduce_ops.SumDim).apply(self, dim, keepdim)

    def mean(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return (reduce_ops.Mean if dim is None else reduce_ops.MeanDim).apply(self, dim, keepdim)

    def max(self, dim: Any = None, keepdim: bool = False) -> Any:
        """The largest element; with ``dim``, ``(values, indices)`` along it; with a Tensor,
        the elementwise maximum (as torch's three overloads)."""
        if isinstance(dim, TensorMethods):
            return ops.Maximum.apply(self, dim)
        if dim is None:
            return reduce_ops.MaxAll.apply(self, None, False)
        return MaxResult(*reduce_ops.MaxDim.apply(self, dim, keepdim))

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        if dim is None:
            return self._wrap(np.asarray(np.argmax(self._data)))
        return self._wrap(np.argmax(self._data, axis=dim, keepdims=keepdim))

    def tanh(self) -> Tensor:
        return ops.Tanh.apply(self)

    def relu(self) -> Tensor:
        return ops.Relu.apply(self)

    def sigmoid(self) -> Tensor:
        return ops.Sigmoid.apply(self)

    def exp(self) -> Tensor:
        return ops.Exp.apply(self)

    def log(self) -> Tensor:
        return ops.Log.apply(self)

    def abs(self) -> Tensor:
        return ops.Abs.apply(self)

    def sqrt(self) -> Tensor:
        return ops.Sqrt.apply(self)

    def pow(self, exponent: builtins.float) -> Tensor:
        return self.__pow__(exponent)

    def matmul(self, other: Any) -> Tensor:
        return self.__matmul__(other)

    # ---- operators ----------------------------------------------------------------------

    def __add__(self, other: Any) -> Tensor:
        return ops.Add.apply(self, _operand(other))

    def __radd__(self, other: Any) -> Tensor:
        return ops.Add.apply(_operand(other), self)

    def __sub__(self, other: Any) -> Tensor:
        return ops.Sub.apply(self, _operand(other))

    def __rsub__(self, other: Any) -> Tensor:
        return ops.Sub.apply(_operand(other), self)

    def __mul__(self, other: Any) -> Tensor:
        return ops.Mul.apply(self, _operand(other))

    def __rmul__(self, other: Any) -> Tensor:
        return ops.Mul.apply(_operand(other), self)

    def __truediv__(self, other: Any) -> Tensor:
        return ops.Div.apply(self, _operand(other))

    def __rtruediv__(self, other: Any) -> Tensor:
        return ops.Div.apply(_operand(other), self)

    def __neg__(self) -> Tensor:
        return ops.Neg.apply(self)

    def __pos__(self) -> Tensor:
        return self._self()

    def __pow__(self, exponent: Any) -> Tensor:
        p = _operand(exponent)
        if not isinstance(p, (int, float)):
            raise TypeError("tensor ** tensor is not supported; use a Python number exponent")
        return ops.Pow.apply(self, p)

    def __matmul__(self, other: Any) -> Tensor:
        return ops.matmul(self, _operand(other))

    def __rmatmul__(self, other: Any) -> Tensor:
        return ops.matmul(_operand(other), self)

    def _compare(self, other: Any, op: Any) -> Tensor:
        return self._wrap(np.asarray(op(self._data, np.asarray(other))))

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.equal)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.not_equal)

    def __lt__(self, other: Any) -> Tensor:
        return self._compare(other, np.less)

    def __le__(self, other: Any) -> Tensor:
        return self._compare(other, np.less_equal)

    def __gt__(self, other: Any) -> Tensor:
        return self._compare(other, np.greater)

    def __ge__(self, other: Any) -> Tensor:
        return self._compare(other, np.greater_equal)


def _operand(x: Any) -> Any:
    """Tensors pass through; Python numbers stay scalars (keep the tensor's dtype)."""
    if isinstance(x, np.generic):  # NumPy scalars act like Python numbers, as in torch
        return x.item()  # (checked first: np.float64 is a subclass of float)
    if isinstance(x, (TensorMethods, int, float, bool)):
        return x
    from .tensor import Tensor  # here, not at the top: tensor.py imports this module

    return Tensor._wrap(np.asarray(x))  # ndarrays and lists: constants, as torch.as_tensor
