"""The everyday tensor methods of torch scripts beyond the RNN core: dtype shortcuts and
``type``, ``new_*``, ``narrow`` / ``split`` / ``view_as``, comparisons and arithmetic by name,
in-place updates (``add_(other, alpha=)``, ``clamp_``, ``unsqueeze_``, ``scatter_``); the
selections (``clamp``, ``topk``, ``sort``...) are in :mod:`.tensor_select`.

Gradients flow through the differentiable ones (views, the arithmetic); indices never
require grad.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from ._operands import wrap_dim
from .dtypes import get_default_dtype, resolve_dtype
from .tensor_select import TensorSelect, ValuesIndices

if TYPE_CHECKING:
    from .tensor import Tensor

__all__ = ["TensorCompat", "ValuesIndices", "legacy_array", "type_name", "LEGACY_TYPES"]

# torch's legacy type names -> dtypes (``x.type()``, ``x.type(torch.LongTensor)``)
LEGACY_TYPES = {
    "FloatTensor": np.float32,
    "DoubleTensor": np.float64,
    "HalfTensor": np.float16,
    "LongTensor": np.int64,
    "IntTensor": np.int32,
    "ShortTensor": np.int16,
    "CharTensor": np.int8,
    "ByteTensor": np.uint8,
    "BoolTensor": np.bool_,
}


def legacy_array(args: tuple[Any, ...], dtype: Any = None) -> np.ndarray:
    """What ``torch.Tensor(*args)`` (or ``torch.LongTensor(*args)`` with ``dtype``) holds:
    sizes -> zeros of that shape, data -> a copy in the dtype, nothing -> an empty 1-D."""
    dt = np.dtype(get_default_dtype() if dtype is None else dtype)
    if not args:
        return np.empty(0, dtype=dt)
    if all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in args):
        return np.zeros(tuple(int(a) for a in args), dtype=dt)
    if len(args) == 1 and type(args[0]).__name__ == "Size":
        return np.zeros(tuple(args[0]), dtype=dt)
    if len(args) != 1:
        raise TypeError(f"new(): invalid combination of arguments - got {args!r}")
    data = args[0]
    arr = np.array(getattr(data, "_data", data), dtype=None)
    if arr.dtype.kind in "OUS":
        raise TypeError(f"new(): invalid data type '{type(data).__name__}'")
    return arr.astype(dt)


def _no_extra(kwargs: dict[str, Any], where: str) -> None:
    """Refuse keywords the function does not take (torch's layout / pin_memory /
    memory_format are accepted: they change nothing on a CPU-only strided library)."""
    extra = set(kwargs) - {"layout", "pin_memory", "memory_format"}
    if extra:
        raise TypeError(f"{where}() got an unexpected keyword argument '{sorted(extra)[0]}'")


def type_name(dtype: np.dtype) -> str:
    """``torch.FloatTensor`` style name of a dtype."""
    for name, dt in LEGACY_TYPES.items():
        if np.dtype(dt) == dtype:
            return f"torch.{name}"
    return f"torch.{dtype}Tensor"


class TensorCompat(TensorSelect):
    """Mixed into :class:`~elman.autograd.Tensor` (see the module docstring)."""

    _data: np.ndarray

    def _t(self) -> Tensor:
        return cast("Tensor", self)

    def __format__(self, spec: str) -> str:
        """A 0-d tensor formats as its number (``f"{loss:.4f}"``), as in torch."""
        if self._data.ndim == 0:
            return format(self._data.item(), spec)
        return object.__format__(self, spec)

    # ---- device (CPU only) ----

    @property
    def is_cuda(self) -> bool:
        return False

    def cuda(self, device: Any = None, non_blocking: bool = False, **kw: Any) -> Tensor:
        raise RuntimeError("elman runs on the CPU only: Tensor.cuda() has no GPU to move to")

    # ---- dtype ----

    def int(self) -> Tensor:
        return self._t().to(np.int32)

    def bool(self) -> Tensor:
        return self._t().to(np.bool_)

    def half(self) -> Tensor:
        return self._t().to(np.float16)

    def type(self, dtype: Any = None, non_blocking: bool = False, **kwargs: Any) -> Any:
        """No argument: the legacy type name (``'torch.FloatTensor'``); else this tensor in
        ``dtype`` (a dtype, a legacy class such as ``torch.LongTensor`` or its name)."""
        if dtype is None:
            return type_name(self._data.dtype)
        legacy = getattr(dtype, "legacy_dtype", None)  # torch.LongTensor & co
        if isinstance(dtype, str):  # only the full legacy names, as torch
            if not (dtype.startswith("torch.") and dtype[len("torch.") :] in LEGACY_TYPES):
                raise ValueError(f"invalid type: '{dtype}'")
            legacy = LEGACY_TYPES[dtype[len("torch.") :]]
        return self._t().to(legacy if legacy is not None else dtype)

    def type_as(self, other: Tensor) -> Tensor:
        return self._t().to(other._data.dtype)

    # ---- new tensors like this one ----

    def _new(self, fill: Any, size: tuple[Any, ...], dtype: Any, requires_grad: bool) -> Tensor:
        from .creation import full
        from .tensor_methods import _shape_args

        dt = self._data.dtype if dtype is None else resolve_dtype(dtype)
        out = full(_shape_args(size), fill, dtype=dt)
        return out.requires_grad_(True) if requires_grad else out

    def new_zeros(
        self,
        *size: Any,
        dtype: Any = None,
        device: Any = None,
        requires_grad: bool = False,
        **kw: Any,
    ) -> Tensor:  # noqa: E501
        _no_extra(kw, "new_zeros")
        return self._new(0, size, dtype, requires_grad)

    def new_ones(
        self,
        *size: Any,
        dtype: Any = None,
        device: Any = None,
        requires_grad: bool = False,
        **kw: Any,
    ) -> Tensor:  # noqa: E501
        _no_extra(kw, "new_ones")
        return self._new(1, size, dtype, requires_grad)

    def new_empty(
        self,
        *size: Any,
        dtype: Any = None,
        device: Any = None,
        requires_grad: bool = False,
        **kw: Any,
    ) -> Tensor:  # noqa: E501
        _no_extra(kw, "new_empty")
        return self._new(0, size, dtype, requires_grad)

    def new_full(
        self,
        size: Any,
        fill_value: Any,
        dtype: Any = None,
        device: Any = None,
        requires_grad: bool = False,
        **kw: Any,
    ) -> Tensor:  # noqa: E501
        _no_extra(kw, "new_full")
        return self._new(fill_value, (tuple(size),), dtype, requires_grad)

    def new_tensor(
        self,
        data: Any,
        dtype: Any = None,
        device: Any = None,
        requires_grad: bool = False,
        **kw: Any,
    ) -> Tensor:  # noqa: E501
        _no_extra(kw, "new_tensor")
        from .creation import tensor

        dt = self._data.dtype if dtype is None else dtype
        return tensor(getattr(data, "_data", data), dtype=dt, requires_grad=requires_grad)

    # ---- views and pieces ----

    def narrow(self, dim: int, start: int, length: int) -> Tensor:
        d = wrap_dim(dim, self._data.ndim)
        size = self._data.shape[d]
        start = int(start) + size if start < 0 else int(start)
        if not 0 <= start <= size or length < 0 or start + length > size:
            raise RuntimeError(
                f"start ({start}) + length ({length}) exceeds dimension size ({size})."
            )
        index = (slice(None),) * d + (slice(start, start + int(length)),)
        return self._t()[index]

    def split(self, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
        d = wrap_dim(dim, self._data.ndim)
        size = self._data.shape[d]
        if isinstance(split_size_or_sections, (int, np.integer)):
            step = int(split_size_or_sections)
            bounds = [(s, min(s + step, size)) for s in range(0, size, step)] or [(0, 0)]
        else:
            sections = [int(n) for n in split_size_or_sections]
            if sum(sections) != size:
                raise RuntimeError(
                    "split_with_sizes expects split_sizes to sum exactly to "
                    f"{size} (input tensor's size at dimension {d}), but got "
                    f"split_sizes={sections}"
                )
            starts = np.cumsum([0, *sections[:-1]]).tolist()
            bounds = [(s, s + n) for s, n in zip(starts, sections, strict=True)]
        return tuple(self._t()[(slice(None),) * d + (slice(a, b),)] for a, b in bounds)

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        size = self._data.shape[wrap_dim(dim, self._data.ndim)]
        return self.split(-(-size // chunks) if size else 1, dim)

    def view_as(self, other: Tensor) -> Tensor:
        return self._t().view(other._data.shape)

    def reshape_as(self, other: Tensor) -> Tensor:
        return self._t().reshape(other._data.shape)

    def expand_as(self, other: Tensor) -> Tensor:
        return self._t().expand(other._data.shape)

    # ---- comparisons and arithmetic by name ----

    def eq(self, other: Any) -> Tensor:
        return self._t() == other

    def ne(self, other: Any) -> Tensor:
        return self._t() != other

    def lt(self, other: Any) -> Tensor:
        return self._t() < other

    def le(self, other: Any) -> Tensor:
        return self._t() <= other

    def gt(self, other: Any) -> Tensor:
        return self._t() > other

    def ge(self, other: Any) -> Tensor:
        return self._t() >= other

    def equal(self, other: Tensor) -> bool:
        return self._data.shape == other._data.shape and bool(np.all(self._data == other._data))

    def add(self, other: Any, alpha: Any = 1) -> Tensor:
        return self._t() + (other if alpha == 1 else other * alpha)

    def sub(self, other: Any, alpha: Any = 1) -> Tensor:
        return self._t() - (other if alpha == 1 else other * alpha)

    def mul(self, other: Any) -> Tensor:
        return self._t() * other

    def div(self, other: Any, rounding_mode: str | None = None) -> Tensor:
        out = self._t() / other
        if rounding_mode is None:
            return out
        from .tensor import Tensor

        rounded = np.floor(out._data) if rounding_mode == "floor" else np.trunc(out._data)
        return Tensor._wrap(
            rounded.astype(
                np.result_type(self._data, np.asarray(getattr(other, "_data", other))), copy=False
            )
        )  # noqa: E501

    def __rpow__(self, base: Any) -> Tensor:
        """``2 ** x``: a number raised to this tensor (float for an integer tensor)."""
        from . import compat_ops
        from .dtypes import result_type

        if isinstance(base, bool) or not isinstance(base, (int, float, np.number)):
            return NotImplemented
        dt = result_type(self._data, base)  # torch's promotion: 2 ** int64 stays int64
        if dt.kind not in "fc":
            return self._t()._wrap(np.power(dt.type(base), self._data.astype(dt)))
        return compat_ops.RPow.apply(self._t().to(dt), float(base))

    def neg(self) -> Tensor:
        return -self._t()

    # ---- in place (on the data; see Tensor._inplace) ----

    def add_(self, other: Any, *args: Any, alpha: Any = 1) -> Tensor:
        if args:  # the deprecated add_(alpha, other)
            warnings.warn(
                "This overload of add_ is deprecated:\n\tadd_(Number alpha, Tensor other)\n"
                "Consider using one of the following signatures instead:\n"
                "\tadd_(Tensor other, *, Number alpha = 1)",
                UserWarning,
                stacklevel=2,
            )
            other, alpha = args[0], other
        return self._t().__iadd__(other if alpha == 1 else other * alpha)

    def sub_(self, other: Any, alpha: Any = 1) -> Tensor:
        return self._t().__isub__(other if alpha == 1 else other * alpha)

    def mul_(self, other: Any) -> Tensor:
        return self._t().__imul__(other)

    def div_(self, other: Any) -> Tensor:
        return self._t().__itruediv__(other)

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002 (torch's)
        t = self._t()
        t._check_inplace()
        t._data[...] = self.clamp(min, max)._data
        return t

    def unsqueeze_(self, dim: int) -> Tensor:
        t = self._t()
        t._data = t._data.reshape(t.unsqueeze(dim)._data.shape)
        return t

    def squeeze_(self, dim: int | None = None) -> Tensor:
        t = self._t()
        t._data = t._data.reshape(t.squeeze(dim)._data.shape)
        return t

    def scatter_(self, dim: int, index: Tensor, src: Any = None, value: Any = None) -> Tensor:
        t = self._t()
        t._check_inplace()
        values = value if src is None else src
        arr = np.asarray(getattr(values, "_data", values), dtype=t._data.dtype)
        idx = index._data
        if arr.ndim:
            arr = arr[tuple(slice(0, n) for n in idx.shape)]
        np.put_along_axis(
            t._data, idx, np.broadcast_to(arr, idx.shape), axis=wrap_dim(dim, t._data.ndim)
        )
        return t
