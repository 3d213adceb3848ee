"""torch's function names that everyday scripts call on the ``torch`` module: creation with
``device=`` (CPU only), the legacy tensor types (``torch.LongTensor([...])``), random
permutations and integers on torch's streams, ``multinomial``, reductions and selections by
name (``torch.max(x, 1)``, ``torch.argmax``, ``torch.where``...).

Each returns what the torch function returns: values, dtypes and shapes, the same random
numbers for the same seed.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from . import compat_ops, creation
from .compat_random import multinomial, rand_like, randint, randn_like, randperm
from .dtypes import resolve_dtype
from .tensor import Tensor
from .tensor_compat import LEGACY_TYPES, _no_extra, legacy_array
from .tensor_methods import _shape_args

__all__ = [
    "check_cpu",
    "zeros",
    "ones",
    "empty",
    "full",
    "tensor",
    "arange",
    "randn",
    "rand",
    "eye",
    "randperm",
    "randint",
    "rand_like",
    "randn_like",
    "multinomial",
    "where",
    "flip",
    "argmax",
    "argmin",
    "max",
    "min",
    "sum",
    "mean",
    "sqrt",
    "abs",
    "round",
    "clamp",
    "topk",
    "sort",
    "eq",
    "equal",
    "mm",
    "numel",
    "is_tensor",
    "Variable",
    "LEGACY_CLASSES",
]

_CPU = re.compile(r"cpu(:0)?")
_TORCH_NAMES = {
    "int64": "Long",
    "int32": "Int",
    "int16": "Short",
    "int8": "Char",
    "uint8": "Byte",
    "bool": "Bool",
}


def check_cpu(device: Any) -> None:
    """Refuse any device but the CPU, in one line."""
    if device is not None and not _CPU.fullmatch(str(device)):
        raise RuntimeError(
            f"elman runs on the CPU only: device must be 'cpu', got {str(device)!r} "
            "(torch.cuda.is_available() is False in elman)"
        )


def _done(t: Tensor, requires_grad: bool) -> Tensor:
    return t.requires_grad_(True) if requires_grad else t


def _sized(size: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """The shape from ``f(2, 3)``, ``f((2, 3))`` or ``f(size=(2, 3))``; other keywords
    (``out``, ``layout``, ``pin_memory``...) are refused by name."""
    extra = set(kwargs) - {"size", "layout", "pin_memory", "memory_format"}
    if extra:
        raise TypeError(f"got an unexpected keyword argument {sorted(extra)[0]!r}")
    if "size" in kwargs:
        if size:
            raise TypeError("size given both positionally and as a keyword")
        return tuple(_shape_args((kwargs["size"],)))
    return size


def zeros(
    *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False, **kw: Any
) -> Tensor:
    """``torch.zeros(*size, dtype=None, device=None, requires_grad=False)``."""
    check_cpu(device)
    return creation.zeros(*_sized(size, kw), dtype=dtype, requires_grad=requires_grad)


def ones(
    *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False, **kw: Any
) -> Tensor:
    """``torch.ones(*size, dtype=None, device=None, requires_grad=False)``."""
    check_cpu(device)
    return creation.ones(*_sized(size, kw), dtype=dtype, requires_grad=requires_grad)


def empty(
    *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False, **kw: Any
) -> Tensor:
    """``torch.empty``: zero-filled here (torch leaves the memory uninitialised)."""
    check_cpu(device)
    return creation.zeros(*_sized(size, kw), dtype=dtype, requires_grad=requires_grad)


def full(
    size: Any,
    fill_value: Any,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    **kw: Any,
) -> Tensor:
    """``torch.full``: the dtype follows ``fill_value`` (bool, int64, else float32)."""
    _no_extra(kw, "full")
    check_cpu(device)
    if dtype is None:
        if isinstance(fill_value, bool):
            dtype = np.bool_
        elif isinstance(fill_value, (int, np.integer)):
            dtype = np.int64
    return _done(creation.full(tuple(_shape_args((size,))), fill_value, dtype=dtype), requires_grad)


def tensor(
    data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False, **kw: Any
) -> Tensor:
    """``torch.tensor(data, dtype=None, device=None, requires_grad=False)``."""
    _no_extra(kw, "tensor")
    check_cpu(device)
    return creation.tensor(data, dtype=dtype, requires_grad=requires_grad)


def arange(
    *args: Any,
    start: Any = None,
    end: Any = None,
    step: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    **kw: Any,
) -> Tensor:
    """``torch.arange(end)`` / ``(start, end, step=1)``, positionally or by keyword: int64
    for integer arguments."""
    check_cpu(device)
    _no_extra(kw, "arange")
    bounds = dict(zip(("start", "end", "step"), args, strict=False))
    for name, value in (("start", start), ("end", end), ("step", step)):
        if value is not None:
            if name in bounds:
                raise TypeError(f"arange() got multiple values for argument '{name}'")
            bounds[name] = value
    if "end" in bounds and "start" not in bounds:
        bounds["start"] = 0
    return _done(creation.arange(**bounds, dtype=dtype), requires_grad)


def randn(
    *size: Any,
    generator: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    **kw: Any,
) -> Tensor:
    """Samples of N(0, 1), torch's numbers for the same seed."""
    check_cpu(device)
    shape = _sized(size, kw)
    return creation.randn(*shape, dtype=dtype, generator=generator, requires_grad=requires_grad)


def rand(
    *size: Any,
    generator: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    **kw: Any,
) -> Tensor:
    """Samples of U[0, 1), torch's numbers for the same seed."""
    check_cpu(device)
    shape = _sized(size, kw)
    return creation.rand(*shape, dtype=dtype, generator=generator, requires_grad=requires_grad)


def eye(
    n: int,
    m: int | None = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    **kw: Any,
) -> Tensor:
    """The ``n`` x ``m`` identity matrix (float32 unless ``dtype``)."""
    _no_extra(kw, "eye")
    check_cpu(device)
    return _done(Tensor._make(np.eye(n, m, dtype=resolve_dtype(dtype))), requires_grad)


def _tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor._make(np.asarray(x))


def where(condition: Any, input: Any = None, other: Any = None) -> Any:  # noqa: A002
    """``condition ? input : other`` (broadcast, torch's type promotion); with only the
    condition, the indices of its non-zeros as a tuple of int64 tensors."""
    cond = np.asarray(_tensor(condition)._data, dtype=bool)
    if input is None and other is None:
        return tuple(Tensor._wrap(i.astype(np.int64)) for i in np.nonzero(cond))
    from .dtypes import result_type

    a_raw = input._data if isinstance(input, Tensor) else input
    b_raw = other._data if isinstance(other, Tensor) else other
    dt = result_type(a_raw, b_raw)
    a = input.to(dt) if isinstance(input, Tensor) else Tensor._wrap(np.asarray(input, dt))
    b = other.to(dt) if isinstance(other, Tensor) else Tensor._wrap(np.asarray(other, dt))
    return compat_ops.Where.apply(Tensor._wrap(cond), a, b)


def flip(input: Tensor, dims: Any) -> Tensor:  # noqa: A002
    return input.flip(dims)


def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:  # noqa: A002
    return input.argmax(dim, keepdim)


def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:  # noqa: A002
    return input.argmin(dim, keepdim)


def max(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:  # noqa: A001,A002
    return input.max(dim, keepdim)


def min(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:  # noqa: A001,A002
    return input.min(dim, keepdim)


def sum(input: Tensor, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:  # noqa: A001,A002
    x = input if dtype is None else input.to(dtype)
    return x.sum(dim, keepdim)


def mean(input: Tensor, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:  # noqa: A002
    x = input if dtype is None else input.to(dtype)
    if x.dtype.kind not in "fc":
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating "
            f"point or complex dtype. Got: {_TORCH_NAMES.get(str(x.dtype), str(x.dtype))}"
        )
    return x.mean(dim, keepdim)


def sqrt(input: Tensor) -> Tensor:  # noqa: A002
    return input.sqrt()


def abs(input: Tensor) -> Tensor:  # noqa: A001,A002
    return input.abs()


def round(input: Tensor, decimals: int = 0) -> Tensor:  # noqa: A001,A002
    return input.round(decimals)


def clamp(input: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    return input.clamp(min, max)


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:  # noqa: A002,E501
    return input.topk(k, dim, largest, sorted)


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Any:  # noqa: A002,E501
    return input.sort(dim, descending)


def eq(input: Tensor, other: Any) -> Tensor:  # noqa: A002
    return input == other


def equal(input: Tensor, other: Tensor) -> bool:  # noqa: A002
    """True when both have the same shape and elements."""
    return input.equal(other)


def mm(input: Tensor, mat2: Tensor) -> Tensor:  # noqa: A002
    if input.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError("self must be a matrix" if input.ndim != 2 else "mat2 must be a matrix")
    return input @ mat2


def numel(input: Tensor) -> int:  # noqa: A002
    return input.numel()


def is_tensor(obj: Any) -> bool:
    return isinstance(obj, Tensor)


def Variable(data: Any, requires_grad: bool = False, volatile: bool = False) -> Tensor:  # noqa: N802
    """torch < 0.4's wrapper: today a Tensor is a Variable; returns ``data`` itself (with
    ``requires_grad`` set when asked)."""
    t = _tensor(data)
    return t.requires_grad_(True) if requires_grad else t


class _LegacyType(type):
    """``torch.LongTensor`` & co: calling makes a tensor of the type's dtype (torch's legacy
    constructor); ``isinstance(x, torch.LongTensor)`` checks the dtype."""

    dtype: np.dtype

    def __call__(cls, *args: Any, device: Any = None) -> Tensor:  # type: ignore[override]
        check_cpu(device)
        return Tensor._make(legacy_array(args, cls.dtype))

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, Tensor) and obj.dtype == cls.dtype


LEGACY_CLASSES: dict[str, type] = {
    name: _LegacyType(
        name, (), {"dtype": np.dtype(dt), "legacy_dtype": np.dtype(dt), "__module__": "elman"}
    )
    for name, dt in LEGACY_TYPES.items()
}
