"""Tensor: an ndarray plus the autograd bookkeeping torch users expect."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from . import function
from ._args import _index, _operand
from ._checks import broadcast_shapes, check_flag, check_scalar, type_name
from ._format import format_tensor
from ._operands import wrap_dim
from .dtypes import get_default_dtype
from .grad_mode import is_grad_enabled
from .tensor_compat import TensorCompat, legacy_array
from .tensor_methods import TensorMethods

__all__ = ["Tensor", "Size"]


class Generation:
    """A counter bumped (``GENERATION.value += 1``) whenever a tensor's array is replaced
    through ``.data = ...`` (and by ``Module.to``) or a module's parameter is (re-)registered
    or removed: an RNN's flat weight buffer stays valid while it has not moved, so its check
    per call is one comparison. (Assigning the private ``_data`` directly is not tracked.)"""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0


GENERATION = Generation()


class Size(tuple):
    """A shape: a tuple that prints like torch's ``torch.Size``."""

    def __repr__(self) -> str:
        return f"elman.Size({list(self)})"

    def numel(self) -> int:
        return int(np.prod(self, dtype=np.int64))


class Tensor(TensorMethods, TensorCompat):
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

    # defaults for every tensor (a leaf without grad); __init__ and _wrap set only _data
    _grad_fn: Any = None
    _out_index = 0
    _requires_grad = False
    grad: Tensor | None = None

    def __init__(self, *data: Any, requires_grad: bool = False) -> None:
        """torch's legacy constructor: ``Tensor(data)`` copies a list, number, ndarray or
        tensor into the default dtype (float32, whatever ``data``'s dtype), ``Tensor(*sizes)``
        makes a zero-filled float32 tensor of that shape, ``Tensor()`` an empty one. (Code
        inside elman builds tensors with :meth:`_make`, which keeps the array's dtype.)"""
        self._init(legacy_array(data), requires_grad)

    @classmethod
    def _make(cls, data: Any, requires_grad: bool = False) -> Tensor:
        """A leaf around ``np.asarray(data)``, keeping its dtype (no copy of an ndarray)."""
        t = cls.__new__(cls)
        t._init(data, requires_grad)
        return t

    def _init(self, data: Any, requires_grad: bool) -> None:
        self._data = np.asarray(data)  # _grad_fn, _out_index, grad: the class defaults
        if requires_grad:
            if self._data.dtype.kind not in "fc":  # torch's creation-time wording
                raise RuntimeError(
                    "Only Tensors of floating point and complex dtype can require gradients"
                )
            self._requires_grad = True

    @classmethod
    def _wrap(cls, array: np.ndarray) -> Tensor:
        """A Tensor around ``array``, no copy, no checks. Always a plain Tensor: an op on a
        Parameter gives a Tensor, as in torch."""
        t = Tensor.__new__(Tensor)
        t._data = array  # the rest: the class defaults above
        return t

    # ---- basic properties ---------------------------------------------------------------

    @property
    def data(self) -> Tensor:
        """The same values as a Tensor detached from the graph (shares memory)."""
        return Tensor._wrap(self._data)

    @data.setter
    def data(self, value: Any) -> None:
        self._data = np.asarray(value.numpy() if isinstance(value, Tensor) else value)
        GENERATION.value += 1

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        flag = check_flag("requires_grad", flag, "requires_grad_")
        if flag and self._data.dtype.kind not in "fc":
            raise RuntimeError(
                "only Tensors of floating point and complex dtype can require gradients"
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
        if dim is None:
            return self.shape
        d = wrap_dim(dim, self._data.ndim)
        if not self._data.ndim:
            raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
        return self._data.shape[d]

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
        if self._data.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self.item())

    def __float__(self) -> float:
        return float(self._scalar())

    def __int__(self) -> int:
        return int(self._scalar())

    def _scalar(self) -> Any:
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return self._data.reshape(()).item()

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
        if self._grad_fn is not None:
            notes = [f"grad_fn=<{self._grad_fn.name()}>"]
        else:
            notes = ["requires_grad=True"] if self._requires_grad else []
        return format_tensor(self._data, get_default_dtype(), notes)

    # ---- autograd -----------------------------------------------------------------------

    def backward(self, gradient: Any = None, retain_graph: bool = False) -> None:
        """Accumulate the gradient of this tensor into every leaf that requires grad.

        Args:
            gradient: d(loss)/d(self); may be omitted when the tensor has one element.
            retain_graph: keep saved arrays so that backward can run again through the graph.
        """
        if gradient is not None and type(gradient) is not np.ndarray:
            if not isinstance(gradient, (Tensor, list, tuple, int, float, np.generic)):
                raise TypeError(
                    f"gradients can be either Tensors or None, but got {type_name(gradient)}"
                )
            gradient = [gradient]  # a Tensor, a number, a list: the engine's general form
        retain_graph = check_flag("retain_graph", retain_graph, "backward")
        _engine_backward(self, gradient, retain_graph=retain_graph)

    # ---- in-place data updates (not recorded) -------------------------------------------

    def _check_inplace(self, src: Any = None) -> None:
        if isinstance(src, Tensor) and src._requires_grad and is_grad_enabled():
            # torch records the write and sends a gradient back to src; elman's in-place
            # writes are not recorded, so the gradient would be lost without a word
            raise RuntimeError(
                "elman does not record in-place writes in the autograd graph: the value "
                "written requires grad and its gradient would be lost. Build the tensor out of "
                "place (elman.cat, elman.stack, arithmetic), or write under elman.no_grad()."
            )
        if self._requires_grad and is_grad_enabled():
            if self._grad_fn is None:
                raise RuntimeError(
                    "a leaf Variable that requires grad is being used in an in-place operation."
                )
            raise RuntimeError("in-place operations on tensors in the graph are not supported")

    def __setitem__(self, index: Any, value: Any) -> None:
        src = _source(value, f"can't assign a {type_name(value)} to a {self._data.dtype} tensor")
        if isinstance(src, (int, float, complex, np.generic)):  # torch's checked conversion
            check_scalar("value", src, self._data.dtype, "__setitem__")
        self._check_inplace(value)
        index = _index(index, self._data.ndim)
        try:
            self._data[index] = src
        except ValueError:
            target = self._data[index]  # an index error is raised here, as it is
            if np.size(src) == 1 and np.ndim(target) == 0:  # one element into one: as torch
                self._data[index] = np.reshape(src, ())
                return
            raise RuntimeError(
                f"shape mismatch: value tensor of shape {list(np.shape(src))} cannot be "
                f"broadcast to indexing result of shape {list(np.shape(target))}"
            ) from None

    def copy_(self, src: Any) -> Tensor:
        arr = _source(src, f"copy_(): argument 'other' must be Tensor, not {type_name(src)}")
        self._check_inplace(src)
        shape = broadcast_shapes(self._data.shape, np.shape(arr))  # torch's message if not
        if shape != self._data.shape:
            raise RuntimeError(
                f"output with shape {list(self._data.shape)} doesn't match the broadcast shape "
                f"{list(shape)}"
            )
        np.copyto(self._data, np.broadcast_to(arr, self._data.shape), casting="unsafe")
        return self

    def fill_(self, value: float) -> Tensor:
        self._check_inplace(value)
        if isinstance(value, Tensor) and value.numel() == 1:
            value = value.item()
        value = check_scalar("value", value, self._data.dtype, "fill_")
        if self._data.dtype.kind in "iu" and isinstance(value, (int, np.integer)):
            value = np.asarray(value).astype(self._data.dtype)  # wraps around, as torch's cast
        self._data.fill(value)
        return self

    def zero_(self) -> Tensor:
        return self.fill_(0)

    def _inplace(self, other: Any, ufunc: np.ufunc, op: Any) -> Tensor:
        """``self (op)= other``: on the data itself, so that ``p -= lr * p.grad`` under
        ``no_grad`` updates the parameter. In-place ops are not recorded, so where the graph
        must see the op the result is out of place instead (same values and gradients)."""
        if _operand(other) is NotImplemented:  # strings, None, objects: Python's TypeError
            return NotImplemented  # type: ignore[no-any-return]
        other_needs = isinstance(other, Tensor) and other._requires_grad
        if is_grad_enabled() and (self._requires_grad or other_needs):
            if self._requires_grad and self._grad_fn is None:
                self._check_inplace()  # a leaf that requires grad: torch's error
            return op(self, other)  # type: ignore[no-any-return]
        value = other._data if isinstance(other, Tensor) else other
        try:
            ufunc(self._data, value, out=self._data, casting="same_kind")
        except TypeError:  # NumPy's UFuncTypeError: the result cannot be stored in place
            if isinstance(value, (str, bytes)) or value is None:
                raise
            result = np.result_type(self._data, value)
            raise RuntimeError(
                f"result type {result} can't be cast to the desired output type {self._data.dtype}"
            ) from None
        except ValueError:
            shape = broadcast_shapes(self._data.shape, np.shape(value))
            raise RuntimeError(
                f"output with shape {list(self._data.shape)} doesn't match the broadcast shape "
                f"{list(shape)}"
            ) from None
        return self

    def __iadd__(self, other: Any) -> Tensor:
        return self._inplace(other, np.add, Tensor.__add__)

    def __isub__(self, other: Any) -> Tensor:
        return self._inplace(other, np.subtract, Tensor.__sub__)

    def __imul__(self, other: Any) -> Tensor:
        return self._inplace(other, np.multiply, Tensor.__mul__)

    def __itruediv__(self, other: Any) -> Tensor:
        return self._inplace(other, np.true_divide, Tensor.__truediv__)


def _source(value: Any, refusal: str) -> Any:
    """What may be written into a tensor: a Tensor's array, an ndarray, a number or a
    (nested) list of numbers; anything else is torch's TypeError (``refusal``)."""
    if isinstance(value, Tensor):
        return value._data
    if isinstance(value, (np.ndarray, int, float, complex, np.generic)):
        return value
    if isinstance(value, (list, tuple)):
        arr = np.asarray(value)
        if arr.dtype.kind in "biufc":
            return arr
    raise TypeError(refusal)


function.register_tensor_class(Tensor)  # Function.apply and the engine wrap results in it

from .engine import backward as _engine_backward  # noqa: E402  (the engine needs Tensor first)
