"""The ONNX ops an imported graph runs (continued): indexing, reductions, comparisons
and the integer helpers torch's exporter writes around packed sequences."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..nn import functional as F
from ._import_ops import OPS, _axes, arr, const, ints, is_int, op

__all__ = ["OPS"]


@op("Gather")
def _gather(inputs: list[Any], attrs: dict[str, Any], op_type: str = "") -> list[Any]:
    x, idx = inputs
    axis = attrs.get("axis", 0) % max(x.ndim, 1)
    i = arr(idx).astype(np.int64)
    if is_int(x):
        return [const(np.take(arr(x), i, axis=axis))]
    lead = (slice(None),) * axis
    if i.ndim == 0:
        return [x[(*lead, int(i))]]
    return [x[(*lead, i)]]


@op("Slice")
def _slice(inputs: list[Any], attrs: dict[str, Any], op_type: str = "") -> list[Any]:
    x = inputs[0]
    if len(inputs) > 1:  # opset >= 10: inputs
        starts, ends = ints(inputs[1]), ints(inputs[2])
        axes = ints(inputs[3]) if len(inputs) > 3 and inputs[3] is not None else None
        steps = ints(inputs[4]) if len(inputs) > 4 and inputs[4] is not None else None
    else:
        starts, ends, axes = attrs["starts"], attrs["ends"], attrs.get("axes")
        steps = None
    axes = axes if axes is not None else list(range(len(starts)))
    steps = steps if steps is not None else [1] * len(starts)
    index = [slice(None)] * x.ndim
    for s, e, a, st in zip(starts, ends, axes, steps, strict=True):
        index[a % x.ndim] = slice(s, e, st)
    if is_int(x):
        return [const(arr(x)[tuple(index)])]
    return [x[tuple(index)]]


def _reduce_axes(inputs: list[Any], attrs: dict[str, Any], ndim: int) -> Any:
    axes = _axes(inputs, attrs)
    if not axes:
        return None if not attrs.get("noop_with_empty_axes", 0) else ()
    return tuple(sorted(a % ndim for a in axes))


@op("ReduceSum", "ReduceMean", "ReduceMax", "ReduceProd", "ReduceMin")
def _reduce(inputs: list[Any], attrs: dict[str, Any], op_type: str = "") -> list[Any]:
    x = inputs[0]
    keep = bool(attrs.get("keepdims", 1))
    axes = _reduce_axes(inputs, attrs, max(x.ndim, 1))
    if axes == ():
        return [x]
    if is_int(x) or op_type in ("ReduceProd", "ReduceMin"):
        fn = {
            "ReduceSum": np.sum,
            "ReduceMean": np.mean,
            "ReduceMax": np.max,
            "ReduceProd": np.prod,
            "ReduceMin": np.min,
        }[op_type]
        return [const(np.asarray(fn(arr(x), axis=axes, keepdims=keep)).astype(arr(x).dtype))]
    if op_type == "ReduceSum":
        return [x.sum(axes if axes is not None else tuple(range(x.ndim)), keepdim=keep)]
    if op_type == "ReduceMean":
        return [x.mean(axes if axes is not None else tuple(range(x.ndim)), keepdim=keep)]
    if axes is None and not keep:
        return [x.max()]
    for a in sorted(axes if axes is not None else range(x.ndim), reverse=True):
        x = x.max(a, keepdim=True).values
    if not keep:
        x = x.reshape(tuple(n for i, n in enumerate(x._data.shape) if i not in set(axes or ())))
    return [x]


@op("ArgMax")
def _argmax(inputs: list[Any], attrs: dict[str, Any], op_type: str = "") -> list[Any]:
    a = arr(inputs[0])
    axis = attrs.get("axis", 0)
    if attrs.get("select_last_index", 0):
        flipped = np.flip(a, axis)
        idx = a.shape[axis] - 1 - np.argmax(flipped, axis=axis)
    else:
        idx = np.argmax(a, axis=axis)
    if attrs.get("keepdims", 1):
        idx = np.expand_dims(idx, axis)
    return [const(idx.astype(np.int64))]


_COMPARE = {
    "Equal": np.equal,
    "Less": np.less,
    "LessOrEqual": np.less_equal,
    "Greater": np.greater,
    "GreaterOrEqual": np.greater_equal,
}


@op(*_COMPARE)
def _compare(inputs: list[Any], attrs: dict[str, Any], op_type: str = "") -> list[Any]:
    return [const(_COMPARE[op_type](arr(inputs[0]), arr(inputs[1])))]


@op("Not")
def _not(inputs: list[Any], attrs: dict[str, Any], op_type: str = "") -> list[Any]:
    return [const(np.logical_not(arr(inputs[0])))]


@op("Softmax", "LogSoftmax")
def _softmax(inputs: list[Any], attrs: dict[str, Any], op_type: str = "") -> list[Any]:
    fn = F.log_softmax if op_type == "LogSoftmax" else F.softmax
    return [fn(inputs[0], dim=attrs.get("axis", -1))]


@op("Range")
def _range(inputs: list[Any], attrs: dict[str, Any], op_type: str = "") -> list[Any]:
    start, limit, delta = (arr(t).reshape(()) for t in inputs)
    return [const(np.arange(start, limit, delta, dtype=arr(inputs[0]).dtype))]


@op("TopK")
def _topk(inputs: list[Any], attrs: dict[str, Any], op_type: str = "") -> list[Any]:
    a = arr(inputs[0])
    k = ints(inputs[1])[0]
    axis = attrs.get("axis", -1) % a.ndim
    keys = -a if attrs.get("largest", 1) else a
    order = np.argsort(keys, axis=axis, kind="stable")  # ties: the lower index first
    idx = np.take(order, np.arange(k), axis=axis)
    return [const(np.take_along_axis(a, idx, axis=axis)), const(idx.astype(np.int64))]


@op("ScatterElements")
def _scatter(inputs: list[Any], attrs: dict[str, Any], op_type: str = "") -> list[Any]:
    if attrs.get("reduction", "none") != "none":
        raise NotImplementedError("ScatterElements with a reduction")
    data, idx, upd = (arr(t) for t in inputs)
    out = data.copy()
    np.put_along_axis(out, idx.astype(np.int64), upd, axis=attrs.get("axis", 0))
    return [const(out)]


@op("SoftmaxCrossEntropyLoss")
def _softmax_ce(inputs: list[Any], attrs: dict[str, Any], op_type: str = "") -> list[Any]:
    x, labels = inputs[0], inputs[1]
    w = inputs[2] if len(inputs) > 2 else None
    ignore = attrs.get("ignore_index", -100)
    loss = F.cross_entropy(
        x, labels, weight=w, ignore_index=ignore, reduction=attrs.get("reduction", "mean")
    )
    return [loss, F.log_softmax(x, dim=1)]


SUPPORTED = sorted([*OPS, "RNN"])
