"""Tensor: an ndarray plus the autograd bookkeeping torch users expect."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from .dtypes import get_default_dtype, resolve_dtype
from .grad_mode import is_grad_enabled

__all__ = ["Tensor", "Size"]


class Size(tuple):
    """A shape: a tuple that prints like torch's ``torch.Size``."""

    def __repr__(self) -> str:
        return f"elman.Size({list(self)})"

    def numel(self) -> int:
        return int(np.prod(self, dtype=np.int64))


def _index(index: Any) -> Any:
    if isinstance(index, Tensor):
        return index._data
    if isinstance(index, tuple):
        return tuple(i._data if isinstance(i, Tensor) else i for i in index)
    return index


def _shape_args(shape: Sequence[Any]) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


class Tensor:
    """A multi-dimensional array that can record operations for automatic differentiation.

    Create tensors with :func:`elman.tensor`, :func:`elman.zeros`, :func:`elman.randn` or
    :func:`elman.from_numpy`. Arithmetic broadcasts as in NumPy; ``backward()`` fills
    ``.grad`` of every leaf that requires grad.

    Example:
        >>> import elman
        >>> x = elman.tensor([1.0, 2.0, 3.0], requires_grad=True)
        >>> (x * x).sum().backward()
        >>> x.grad
        tensor([2., 4., 6.])
    """

    __array_priority__ = 1000  # ndarray (op) Tensor defers to Tensor's reflected operator

    def __init__(self, data: Any, requires_grad: bool = False) -> None:
        self._data = np.asarray(data)
        self._grad_fn: Any = None
        self._out_index = 0
        self._requires_grad = False
        self.grad: Tensor | None = None
        if requires_grad:
            self.requires_grad = True

    @classmethod
    def _wrap(cls, array: np.ndarray) -> Tensor:
        t = cls.__new__(cls)
        t._data = array
        t._grad_fn = None
        t._out_index = 0
        t._requires_grad = False
        t.grad = None
        return t

    # ---- basic properties ---------------------------------------------------------------

    @property
    def data(self) -> Tensor:
        """The same values as a Tensor detached from the graph (shares memory)."""
        return Tensor._wrap(self._data)

    @data.setter
    def data(self, value: Any) -> None:
        self._data = np.asarray(value.numpy() if isinstance(value, Tensor) else value)

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        if flag and self._data.dtype.kind not in "fc":
            raise RuntimeError(
                "Only Tensors of floating point and complex dtype can require gradients"
            )
        if not flag and self._grad_fn is not None:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use "
                "a computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach()."
            )
        self._requires_grad = bool(flag)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        self.requires_grad = requires_grad
        return self

    @property
    def grad_fn(self) -> Any:
        return self._grad_fn

    @property
    def is_leaf(self) -> bool:
        return self._grad_fn is None

    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def device(self) -> str:
        return "cpu"

    def size(self, dim: int | None = None) -> Any:
        return self.shape if dim is None else self._data.shape[dim]

    def dim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return int(self._data.size)

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self._data)

    # ---- conversion ---------------------------------------------------------------------

    def numpy(self) -> np.ndarray:
        """The underlying ndarray (shared memory); refuses tensors that require grad."""
        if self._requires_grad:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. "
                "Use tensor.detach().numpy() instead."
            )
        return self._data

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        a = self._data if dtype is None else self._data.astype(dtype, copy=False)
        return np.array(a, copy=True) if copy else a

    def item(self) -> Any:
        if self._data.size != 1:
            raise RuntimeError(
                f"a Tensor with {self._data.size} elements cannot be converted to Scalar"
            )
        return self._data.reshape(()).item()

    def tolist(self) -> Any:
        return self._data.tolist()

    def detach(self) -> Tensor:
        """A new Tensor sharing the data, cut from the graph."""
        return Tensor._wrap(self._data)

    def detach_(self) -> Tensor:
        self._grad_fn = None
        self._requires_grad = False
        return self

    def __bool__(self) -> bool:
        return bool(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __iter__(self) -> Iterator[Tensor]:
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self._data)))

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        body = np.array2string(
            self._data, precision=4, separator=", ", prefix="tensor(", suppress_small=False
        )
        extras = []
        if self._data.dtype not in (get_default_dtype(), np.dtype(np.int64), np.dtype(bool)):
            extras.append(f"dtype={self._data.dtype}")
        if self._grad_fn is not None:
            extras.append(f"grad_fn=<{self._grad_fn.name()}>")
        elif self._requires_grad:
            extras.append("requires_grad=True")
        tail = "".join(", " + e for e in extras)
        return f"tensor({body}{tail})"

    # ---- autograd -----------------------------------------------------------------------

    def backward(self, gradient: Any = None, retain_graph: bool = False) -> None:
        """Accumulate the gradient of this tensor into every leaf that requires grad.

        Args:
            gradient: d(loss)/d(self); may be omitted when the tensor has one element.
            retain_graph: keep saved arrays so that backward can run again through the graph.
        """
        from .engine import run_backward

        if not self._requires_grad:
            raise RuntimeError(
                "element 0 of tensors does not require grad and does not have a grad_fn"
            )
        if gradient is None:
            if self._data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            g = np.ones_like(self._data)
        else:
            g = np.asarray(gradient, dtype=self._data.dtype)
            if g.shape != self._data.shape:
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[0] has a shape of {Size(g.shape)} and "
                    f"output[0] has a shape of {self.shape}."
                )
        run_backward([self], [g], retain_graph=retain_graph)

    # ---- in-place data updates (not recorded) -------------------------------------------

    def _check_inplace(self) -> None:
        if self._requires_grad and is_grad_enabled():
            if self._grad_fn is None:
                raise RuntimeError(
                    "a leaf Variable that requires grad is being used in an in-place operation."
                )
            raise RuntimeError("in-place operations on tensors in the graph are not supported")

    def __setitem__(self, index: Any, value: Any) -> None:
        self._check_inplace()
        self._data[_index(index)] = np.asarray(value)

    def copy_(self, src: Any) -> Tensor:
        self._check_inplace()
        src_arr = np.asarray(src)
        np.copyto(self._data, np.broadcast_to(src_arr, self._data.shape), casting="unsafe")
        return self

    def fill_(self, value: float) -> Tensor:
        self._check_inplace()
        self._data.fill(value)
        return self

    def zero_(self) -> Tensor:
        return self.fill_(0)

    # ---- shape --------------------------------------------------------------------------

    def reshape(self, *shape: Any) -> Tensor:
        return ops.Reshape.apply(self, _shape_args(shape))

    def view(self, *shape: Any) -> Tensor:
        return self.reshape(*shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        s = self._data.shape
        if not s:
            return self.reshape(1)
        a, b = start_dim % len(s), end_dim % len(s)
        return self.reshape(s[:a] + (-1,) + s[b + 1 :])

    def permute(self, *dims: Any) -> Tensor:
        dims_t = _shape_args(dims)
        return ops.Permute.apply(self, tuple(d % self.ndim for d in dims_t))

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        order = list(range(self.ndim))
        order[dim0], order[dim1] = order[dim1], order[dim0]
        return ops.Permute.apply(self, tuple(order))

    def t(self) -> Tensor:
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
        return self.transpose(0, -1) if self.ndim == 2 else self

    @property
    def T(self) -> Tensor:
        return ops.Permute.apply(self, tuple(reversed(range(self.ndim))))

    def unsqueeze(self, dim: int) -> Tensor:
        d = dim % (self.ndim + 1)
        return self.reshape(self._data.shape[:d] + (1,) + self._data.shape[d:])

    def squeeze(self, dim: int | None = None) -> Tensor:
        s = self._data.shape
        if dim is None:
            return self.reshape(tuple(n for n in s if n != 1))
        d = dim % max(len(s), 1)
        if not s or s[d] != 1:
            return self.reshape(s)
        return self.reshape(s[:d] + s[d + 1 :])

    def expand(self, *shape: Any) -> Tensor:
        target = _shape_args(shape)
        lead = len(target) - self.ndim
        full = tuple(
            self._data.shape[i - lead] if n == -1 else n for i, n in enumerate(target)
        )
        return ops.Expand.apply(self, full)

    def contiguous(self) -> Tensor:
        return self if self._data.flags.c_contiguous else ops.Clone.apply(self)

    def __getitem__(self, index: Any) -> Tensor:
        return ops.GetItem.apply(self, _index(index))

    # ---- dtype --------------------------------------------------------------------------

    def to(self, dtype: Any = None, *args: Any, **kwargs: Any) -> Tensor:
        if isinstance(dtype, str) and dtype == "cpu":
            dtype = kwargs.get("dtype", args[0] if args else None)
            if dtype is None:
                return self
        target = resolve_dtype(dtype)
        if target == self._data.dtype:
            return self
        return ops.Cast.apply(self, target)

    def float(self) -> Tensor:
        return self.to(np.float32)

    def double(self) -> Tensor:
        return self.to(np.float64)

    def long(self) -> Tensor:
        return Tensor._wrap(self._data.astype(np.int64))

    def clone(self) -> Tensor:
        return ops.Clone.apply(self)

    def cpu(self) -> Tensor:
        return self

    # ---- math ---------------------------------------------------------------------------

    def sum(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return ops.Sum.apply(self, dim, keepdim)

    def mean(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return ops.Mean.apply(self, dim, keepdim)

    def max(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return ops.MaxDim.apply(self, dim, keepdim)

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        if dim is None:
            return Tensor._wrap(np.asarray(np.argmax(self._data)))
        return Tensor._wrap(np.argmax(self._data, axis=dim, keepdims=keepdim))

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

    def pow(self, exponent: float) -> Tensor:
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
        return self

    def __pow__(self, exponent: Any) -> Tensor:
        if isinstance(exponent, Tensor):
            raise TypeError("tensor ** tensor is not supported; use a Python number exponent")
        return ops.Pow.apply(self, float(exponent))

    def __matmul__(self, other: Any) -> Tensor:
        return ops.MatMul.apply(self, _operand(other))

    def __rmatmul__(self, other: Any) -> Tensor:
        return ops.MatMul.apply(_operand(other), self)

    def _compare(self, other: Any, op: Any) -> Tensor:
        return Tensor._wrap(np.asarray(op(self._data, np.asarray(other))))

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
    if isinstance(x, (Tensor, int, float, bool)):
        return x
    if isinstance(x, np.generic):  # NumPy scalars act like Python numbers, as in torch
        return x.item()
    return Tensor._wrap(np.asarray(x))


from . import ops  # noqa: E402  (ops needs Tensor defined first)
