"""Tensor methods that the traced graph records as their own ONNX ops.

elman computes ``unsqueeze``, ``squeeze`` and ``flatten`` as a Reshape to sizes it read;
written as such the graph would freeze those sizes, so a :class:`TracedTensor` records
them as ONNX's Unsqueeze, Squeeze and a Reshape built from the input's Shape instead.
Comparisons, ``argmax`` and ``long`` make no autograd node at all, and indexing with a
tensor loses the tensor before the op sees it: they are recorded here too.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from onnx import TensorProto

from ..autograd import Tensor
from ..autograd._operands import wrap_dim
from ..autograd.trace_hook import HOOK
from ._symbolic import ExportError

__all__ = ["traced_method"]

_COMPARE = {
    np.equal: "Equal",
    np.less: "Less",
    np.less_equal: "LessOrEqual",
    np.greater: "Greater",
    np.greater_equal: "GreaterOrEqual",
}


def _has_tensor(index: Any) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, (Tensor, np.ndarray, list)) for i in items)


def traced_method(t: Any, name: str, *args: Any) -> Any:
    tr = HOOK.tracer
    base = getattr(Tensor, name)
    if tr is None or tr.depth or (name == "__getitem__" and not _has_tensor(args[0])):
        return base(t, *args)  # plain indexing is recorded through its autograd op
    with tr.quiet():
        out = base(t, *args)
    tr.bind(out, _EMIT[name](tr, t, out, *args))
    return out


def _unsqueeze(tr: Any, t: Any, out: Any, dim: int) -> str:
    return tr.g.node("Unsqueeze", [tr.name_of(t), tr.g.ints([wrap_dim(dim, t.ndim + 1)])])


def _squeeze(tr: Any, t: Any, out: Any, dim: Any) -> str:
    shape = t._data.shape
    if dim is None:  # the dims of size 1 now (as torch's exporter, which freezes them)
        axes = [i for i, n in enumerate(shape) if n == 1]
    else:
        d = wrap_dim(dim, len(shape)) if shape else 0
        axes = [d] if shape and shape[d] == 1 else []
    if not axes:
        return tr.g.node("Identity", [tr.name_of(t)])
    return tr.g.node("Squeeze", [tr.name_of(t), tr.g.ints(axes)])


def _flatten(tr: Any, t: Any, out: Any, start: int, end: int) -> str:
    n = t.ndim
    if n == 0:
        return tr.g.node("Reshape", [tr.name_of(t), tr.g.ints([1])])
    a, b = wrap_dim(start, n), wrap_dim(end, n)
    shape = tr.shape_of(t)
    parts = []
    if a > 0:
        parts.append(tr.g.node("Slice", [shape, tr.g.ints([0]), tr.g.ints([a])]))
    parts.append(tr.g.ints([-1]))
    if b < n - 1:
        parts.append(tr.g.node("Slice", [shape, tr.g.ints([b + 1]), tr.g.ints([n])]))
    target = tr.g.node("Concat", parts, axis=0) if len(parts) > 1 else parts[0]
    return tr.g.node("Reshape", [tr.name_of(t), target])


def _expand(tr: Any, t: Any, out: Any, *shape: Any) -> str:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    # -1 keeps the input's size: as 1 in ONNX's broadcasting Expand
    pieces = [tr.sym(1 if (not isinstance(n, Tensor) and n == -1) else n) for n in shape]
    target = tr.g.node("Concat", pieces, axis=0) if len(pieces) > 1 else pieces[0]
    return tr.g.node("Expand", [tr.name_of(t), target])


def _argmax(tr: Any, t: Any, out: Any, dim: Any, keepdim: bool) -> str:
    x = tr.name_of(t)
    if dim is None:
        flat = tr.g.node("Reshape", [x, tr.g.ints([-1])])
        return tr.g.node("ArgMax", [flat], axis=0, keepdims=0)
    return tr.g.node("ArgMax", [x], axis=wrap_dim(dim, t.ndim), keepdims=int(keepdim))


def _long(tr: Any, t: Any, out: Any) -> str:
    return tr.g.node("Cast", [tr.name_of(t)], to=TensorProto.INT64)


def _compare(tr: Any, t: Any, out: Any, other: Any, op: Any) -> str:
    a = tr.name_of(t)
    if isinstance(other, Tensor):
        b = tr.name_of(other, like=t)
        common = np.result_type(t.dtype, other.dtype)
    else:
        common = t.dtype  # a Python number compares in the tensor's dtype
        b = tr.g.scalar_like(other, common)
    a = tr.cast(a, t.dtype, common)
    if isinstance(other, Tensor):
        b = tr.cast(b, other.dtype, common)
    if op is np.not_equal:
        return tr.g.node("Not", [tr.g.node("Equal", [a, b])])
    if op not in _COMPARE:
        raise ExportError(f"comparison {op.__name__} is not exportable{tr.where()}")
    return tr.g.node(_COMPARE[op], [a, b])


def _getitem(tr: Any, t: Any, out: Any, index: Any) -> str:
    items = index if isinstance(index, tuple) else (index,)
    picks = [i for i, it in enumerate(items) if isinstance(it, (Tensor, np.ndarray, list))]
    rest_full = all(
        isinstance(it, slice) and it == slice(None) for i, it in enumerate(items) if i != picks[0]
    )
    if len(picks) != 1 or not rest_full:
        raise ExportError(
            "indexing with a tensor is exportable only as x[idx] or x[:, ..., idx] (one "
            f"integer index tensor, full slices elsewhere){tr.where()}"
        )
    idx = items[picks[0]]
    idx = idx if isinstance(idx, Tensor) else Tensor(np.asarray(idx))
    if idx.dtype.kind == "b":
        raise ExportError(f"indexing with a boolean mask is not exportable{tr.where()}")
    name = tr.cast(tr.name_of(idx), idx.dtype, np.int64)
    return tr.g.node("Gather", [tr.name_of(t), name], axis=picks[0])


_EMIT = {
    "unsqueeze": _unsqueeze,
    "squeeze": _squeeze,
    "flatten": _flatten,
    "expand": _expand,
    "argmax": _argmax,
    "long": _long,
    "_compare": _compare,
    "__getitem__": _getitem,
}
