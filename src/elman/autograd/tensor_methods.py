"""The differentiable methods and operators of :class:`~elman.autograd.Tensor`.

Every method here builds a graph node through an op of :mod:`.ops`; what a Tensor *is*
(its data, grad, conversions, printing, in-place updates) lives in :mod:`.tensor`, whose
``Tensor`` inherits these methods. Results are always plain Tensors (``_wrap``).
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any, NamedTuple, cast

import numpy as np

from . import ops, reduce_ops, shape_ops
from ._args import _array, _expanded, _index, _operand, _shape_args, _to_args
from ._checks import binary, check_flag, check_int, type_name
from ._operands import promote, wrap_dim
from .dtypes import resolve_dtype

if TYPE_CHECKING:
    from .tensor import Tensor

__all__ = ["TensorMethods", "MaxResult"]


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
        return shape_ops.Reshape.apply(self, _shape_args(shape, "reshape"))

    def view(self, *shape: Any) -> Tensor:
        """Like :meth:`reshape` (a copy where the data is not contiguous; torch refuses)."""
        return shape_ops.Reshape.apply(self, _shape_args(shape, "view", "size"))

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        check_int("start_dim", start_dim, "flatten"), check_int("end_dim", end_dim, "flatten")
        s = self._data.shape
        a, b = wrap_dim(start_dim, len(s)), wrap_dim(end_dim, len(s))
        if not s:
            return self.reshape(1)
        if a > b:
            raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
        return self.reshape(s[:a] + (-1,) + s[b + 1 :])

    def permute(self, *dims: Any) -> Tensor:
        dims_t = _shape_args(dims, "permute", "dims")
        ndim = self._data.ndim
        if len(dims_t) != ndim:
            raise RuntimeError(
                f"permute(sparse_coo): number of dimensions in the tensor input does not match "
                f"the length of the desired ordering of dimensions i.e. input.dim() = {ndim} is "
                f"not equal to len(dims) = {len(dims_t)}"
            )
        wrapped = tuple(wrap_dim(d, ndim) for d in dims_t)
        if len(set(wrapped)) != len(wrapped):
            raise RuntimeError("permute(): duplicate dims are not allowed.")
        return shape_ops.Permute.apply(self, wrapped)

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        check_int("dim0", dim0, "transpose"), check_int("dim1", dim1, "transpose")
        order = list(range(self._data.ndim))
        d0, d1 = wrap_dim(dim0, self._data.ndim), wrap_dim(dim1, self._data.ndim)
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
        d = wrap_dim(dim, self._data.ndim + 1)
        if self._data.ndim == 0 and dim not in (0, -1):
            raise IndexError(
                f"Dimension out of range (expected to be in range of [-1, 0], but got {dim})"
            )
        return self.reshape(self._data.shape[:d] + (1,) + self._data.shape[d:])

    def squeeze(self, dim: Any = None) -> Tensor:
        """Drop dims of size 1: all of them, ``dim``, or each dim of a tuple ``dim``."""
        s = self._data.shape
        if dim is None:
            return self.reshape(tuple(n for n in s if n != 1))
        dims = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
        drop = {wrap_dim(d, len(s)) for d in dims}
        return self.reshape(tuple(n for i, n in enumerate(s) if not (i in drop and n == 1)))

    def expand(self, *shape: Any) -> Tensor:
        target = _shape_args(shape, "expand", "size")
        return shape_ops.Expand.apply(self, _expanded(self._data.shape, target))

    def contiguous(self) -> Tensor:
        return self._self() if self._data.flags.c_contiguous else ops.Clone.apply(self)

    def __getitem__(self, index: Any) -> Tensor:
        index = _index(index, self._data.ndim)
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
        keepdim = check_flag("keepdim", keepdim, "sum")
        return (reduce_ops.Sum if dim is None else reduce_ops.SumDim).apply(self, dim, keepdim)

    def mean(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        keepdim = check_flag("keepdim", keepdim, "mean")
        return (reduce_ops.Mean if dim is None else reduce_ops.MeanDim).apply(self, dim, keepdim)

    def max(self, dim: Any = None, keepdim: bool = False) -> Any:
        """The largest element; with ``dim``, ``(values, indices)`` along it; with a Tensor,
        the elementwise maximum (as torch's three overloads)."""
        if isinstance(dim, TensorMethods):
            return ops.Maximum.apply(self, dim)
        keepdim = check_flag("keepdim", keepdim, "max")
        if dim is None:
            return reduce_ops.MaxAll.apply(self, None, False)
        return MaxResult(*reduce_ops.MaxDim.apply(self, dim, keepdim))

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        keepdim = check_flag("keepdim", keepdim, "argmax")
        if dim is not None:
            check_int("dim", dim, "argmax")  # (the argument's type first, as torch)
        a = self._data
        if a.dtype == np.bool_:
            raise RuntimeError("argmax(): does not support bool input")
        if dim is None:
            if a.size == 0:
                raise IndexError(
                    "argmax(): Expected reduction dim to be specified for input.numel() == 0."
                )
            return self._wrap(np.asarray(np.argmax(a)))
        axis = wrap_dim(dim, a.ndim)
        if a.ndim == 0:
            return self._wrap(np.zeros((), dtype=np.int64))
        if a.shape[axis] == 0:
            raise IndexError(f"argmax(): Expected reduction dim {axis} to have non-zero size.")
        return self._wrap(np.argmax(a, axis=axis, keepdims=keepdim))

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
        if not isinstance(other, (TensorMethods, np.ndarray, list, tuple)):
            raise TypeError(
                f"matmul(): argument 'other' (position 1) must be Tensor, not {type_name(other)}"
            )
        return self.__matmul__(other)

    # ---- operators ----------------------------------------------------------------------

    def __add__(self, other: Any) -> Tensor:
        o = _operand(other)
        return o if o is NotImplemented else ops.Add.apply(self, o)

    def __radd__(self, other: Any) -> Tensor:
        o = _operand(other)
        return o if o is NotImplemented else ops.Add.apply(o, self)

    def __sub__(self, other: Any) -> Tensor:
        o = _operand(other)
        return o if o is NotImplemented else ops.Sub.apply(self, o)

    def __rsub__(self, other: Any) -> Tensor:
        o = _operand(other)
        return o if o is NotImplemented else ops.Sub.apply(o, self)

    def __mul__(self, other: Any) -> Tensor:
        o = _operand(other)
        return o if o is NotImplemented else ops.Mul.apply(self, o)

    def __rmul__(self, other: Any) -> Tensor:
        o = _operand(other)
        return o if o is NotImplemented else ops.Mul.apply(o, self)

    def __truediv__(self, other: Any) -> Tensor:
        o = _operand(other)
        return o if o is NotImplemented else ops.Div.apply(self, o)

    def __rtruediv__(self, other: Any) -> Tensor:
        o = _operand(other)
        if o is NotImplemented:
            return o  # type: ignore[no-any-return]
        if isinstance(o, (int, float, complex)):  # torch: self.reciprocal() * other, whose
            return ops.Mul.apply(ops.Div.apply(1, self), o)  # gradients differ at 0 and inf
        return ops.Div.apply(o, self)

    def __neg__(self) -> Tensor:
        return ops.Neg.apply(self)

    def __pos__(self) -> Tensor:
        return self._self()

    def __pow__(self, exponent: Any) -> Tensor:
        p = _operand(exponent)
        if p is NotImplemented:
            return p  # type: ignore[no-any-return]
        if not isinstance(p, (int, float)):
            raise TypeError("tensor ** tensor is not supported; use a Python number exponent")
        return ops.Pow.apply(self, p)

    def __matmul__(self, other: Any) -> Tensor:
        o = _operand(other)
        if o is NotImplemented or not isinstance(o, TensorMethods):  # numbers: as torch
            return NotImplemented  # type: ignore[no-any-return]
        return ops.matmul(self, o)

    def __rmatmul__(self, other: Any) -> Tensor:
        o = _operand(other)
        if o is NotImplemented or not isinstance(o, TensorMethods):
            return NotImplemented  # type: ignore[no-any-return]
        return ops.matmul(o, self)

    def _compare(self, other: Any, op: Any) -> Tensor:
        o = _operand(other)
        if o is NotImplemented:
            return o  # type: ignore[no-any-return]
        if op in (np.less, np.less_equal, np.greater, np.greater_equal) and (
            np.iscomplexobj(self._data) or np.iscomplexobj(_array(o))
        ):
            raise NotImplementedError(f'"{op.__name__}" not implemented for complex numbers')
        a, b = promote(self._data, _array(o))  # torch's promotion (a bool tensor and a
        return self._wrap(np.asarray(binary(op, a, b)))  # float compare as float32)

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
