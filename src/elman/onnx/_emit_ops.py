"""ONNX for elman's autograd Functions: one emitter per op, found by class (or a base).

An emitter gets the tracer, the op's arguments as ``Function.apply`` received them and
its results (with their traced values), and returns the ONNX name of each result.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import ops, reduce_ops, shape_ops
from ..autograd._operands import wrap_dim
from ..nn import functional as F
from ..nn import functional_activation as FA
from ..nn import functional_ce as FCE
from ..nn import functional_embedding as FE
from ..nn import functional_loss as FL
from ._emit_index import emit_index, emit_reshape
from ._graph import onnx_dtype
from ._symbolic import ExportError

__all__ = ["emitter_for"]

_EMITTERS: dict[type, Any] = {}


def emitter_for(cls: type) -> Any:
    for base in cls.__mro__:
        if base in _EMITTERS:
            return _EMITTERS[base]
    return None


def _on(*classes: type) -> Any:
    def register(fn: Any) -> Any:
        for c in classes:
            _EMITTERS[c] = fn
        return fn

    return register


def _traced(tr: Any, args: Any) -> Any:
    return next((a for a in args if tr.is_traced(a)), None)


def operand(tr: Any, a: Any, dtype: Any, like: Any) -> str:
    """An op input in the result's dtype: a tensor (cast if needed) or a Python number."""
    if isinstance(a, (int, float, bool)) and not hasattr(a, "_data"):
        return tr.g.scalar_like(a, dtype)
    return tr.cast(tr.name_of(a, like=like), a.dtype, dtype)


_BINARY = {ops.Add: "Add", ops.Sub: "Sub", ops.Mul: "Mul", ops.Div: "Div", ops.Maximum: "Max"}


@_on(*_BINARY)
def _binary(tr: Any, args: Any, kw: Any, res: Any) -> str:
    dt = res[0].dtype
    like = _traced(tr, args)
    names = [operand(tr, a, dt, like) for a in args]
    op = next(v for k, v in _BINARY.items() if k in tr.current.__mro__)
    return tr.g.node(op, names)  # type: ignore[no-any-return]


@_on(ops.Pow)
def _pow(tr: Any, args: Any, kw: Any, res: Any) -> str:
    x, p = args
    dt = res[0].dtype
    return tr.g.node("Pow", [operand(tr, x, dt, None), tr.g.scalar_like(p, dt)])


_UNARY = {
    ops.Neg: "Neg",
    ops.Tanh: "Tanh",
    ops.Relu: "Relu",
    ops.Sigmoid: "Sigmoid",
    ops.Exp: "Exp",
    ops.Log: "Log",
    ops.Abs: "Abs",
    ops.Sqrt: "Sqrt",
    ops.Clone: "Identity",
}


@_on(*_UNARY)
def _unary(tr: Any, args: Any, kw: Any, res: Any) -> str:
    op = next(v for k, v in _UNARY.items() if k in tr.current.__mro__)
    return tr.g.node(op, [tr.name_of(args[0])])  # type: ignore[no-any-return]


@_on(ops.Cast)
def _cast(tr: Any, args: Any, kw: Any, res: Any) -> str:
    return tr.g.node("Cast", [tr.name_of(args[0])], to=onnx_dtype(res[0].dtype))  # type: ignore[no-any-return]


@_on(ops.MatMul)
def _matmul(tr: Any, args: Any, kw: Any, res: Any) -> str:
    dt = res[0].dtype
    like = _traced(tr, args)
    return tr.g.node("MatMul", [operand(tr, a, dt, like) for a in args])  # type: ignore[no-any-return]


@_on(shape_ops.Reshape)
def _reshape(tr: Any, args: Any, kw: Any, res: Any) -> str:
    return emit_reshape(tr, args[0], args[1])


@_on(shape_ops.Permute)
def _permute(tr: Any, args: Any, kw: Any, res: Any) -> str:
    return tr.g.node("Transpose", [tr.name_of(args[0])], perm=list(args[1]))  # type: ignore[no-any-return]


@_on(shape_ops.Expand)
def _expand(tr: Any, args: Any, kw: Any, res: Any) -> str:
    return tr.g.node("Expand", [tr.name_of(args[0]), tr.shape_value(args[1])])  # type: ignore[no-any-return]


@_on(shape_ops.GetItem)
def _getitem(tr: Any, args: Any, kw: Any, res: Any) -> str:
    return emit_index(tr, args[0], args[1])


@_on(shape_ops.Cat, shape_ops.Stack)
def _join(tr: Any, args: Any, kw: Any, res: Any) -> str:
    dt = res[0].dtype
    like = _traced(tr, args)
    names = [operand(tr, a, dt, like) for a in args]
    if issubclass(tr.current, shape_ops.Stack):
        d = wrap_dim(kw.get("dim", 0), args[0].ndim + 1)
        names = [tr.g.node("Unsqueeze", [n, tr.g.ints([d])]) for n in names]
    else:
        d = wrap_dim(kw.get("dim", 0), args[0].ndim)
    return tr.g.node("Concat", names, axis=d)  # type: ignore[no-any-return]


def reduce(tr: Any, op: str, x: str, axes: list[int] | None, keepdims: bool) -> str:
    """ReduceSum/Mean/Max over ``axes`` (None: all), as the opset spells its axes."""
    if axes is None:
        return tr.g.node(op, [x], keepdims=int(keepdims))  # type: ignore[no-any-return]
    if op == "ReduceSum" or tr.g.opset >= 18:
        return tr.g.node(op, [x, tr.g.ints(axes)], keepdims=int(keepdims))  # type: ignore[no-any-return]
    return tr.g.node(op, [x], axes=axes, keepdims=int(keepdims))  # type: ignore[no-any-return]


def _axes(dim: Any, ndim: int) -> list[int] | None:
    if dim is None:
        return None
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    return sorted(wrap_dim(d, max(ndim, 1)) for d in dims)


@_on(reduce_ops.Sum, reduce_ops.Mean)
def _sum_mean(tr: Any, args: Any, kw: Any, res: Any) -> str:
    x, dim, keepdim = (list(args) + [None, False])[:3]
    t = args[0]
    op = "ReduceMean" if issubclass(tr.current, reduce_ops.Mean) else "ReduceSum"
    name = tr.cast(tr.name_of(t), t.dtype, res[0].dtype)
    if t.ndim == 0:
        return tr.g.node("Identity", [name])  # type: ignore[no-any-return]
    return reduce(tr, op, name, _axes(dim, t.ndim), bool(keepdim))


@_on(reduce_ops.MaxDim)
def _max(tr: Any, args: Any, kw: Any, res: Any) -> Any:
    t, dim, keepdim = args
    x = tr.name_of(t)
    if dim is None:
        return reduce(tr, "ReduceMax", x, None, False)
    if t.ndim == 0:
        return [tr.g.node("Identity", [x]), tr.g.const(np.zeros((), np.int64))]
    d = wrap_dim(dim, t.ndim)
    values = reduce(tr, "ReduceMax", x, [d], bool(keepdim))
    return [values, tr.g.node("ArgMax", [x], axis=d, keepdims=int(keepdim))]


@_on(F.LinearFunction)
def _linear(tr: Any, args: Any, kw: Any, res: Any) -> str:
    x, w, b = args
    xn, wn = tr.name_of(x), tr.name_of(w)
    if x.ndim == 2 and b is not None:
        return tr.g.node("Gemm", [xn, wn, tr.name_of(b)], transB=1)  # type: ignore[no-any-return]
    y = tr.g.node("MatMul", [xn, tr.g.node("Transpose", [wn], perm=[1, 0])])
    return y if b is None else tr.g.node("Add", [y, tr.name_of(b)])  # type: ignore[no-any-return]


@_on(F.RNNCellFunction)
def _cell(tr: Any, args: Any, kw: Any, res: Any) -> str:
    x, h, w_ih, w_hh, b_ih, b_hh = args
    parts = []
    for inp, w, b in ((x, w_ih, b_ih), (h, w_hh, b_hh)):
        names = [tr.name_of(inp), tr.name_of(w)] + ([tr.name_of(b)] if b is not None else [])
        parts.append(tr.g.node("Gemm", names, transB=1))
    act = "Relu" if kw.get("relu") else "Tanh"
    return tr.g.node(act, [tr.g.node("Add", parts)])  # type: ignore[no-any-return]


@_on(FE.EmbeddingFunction)
def _embedding(tr: Any, args: Any, kw: Any, res: Any) -> str:
    weight, idx = args[0], args[1]
    name = tr.traced_array(idx)
    if name is None:
        name = tr.g.const(np.asarray(idx, dtype=np.int64))
    return tr.g.node("Gather", [tr.name_of(weight), name], axis=0)  # type: ignore[no-any-return]


@_on(FA.SoftmaxFunction, FA.LogSoftmaxFunction)
def _softmax(tr: Any, args: Any, kw: Any, res: Any) -> str:
    op = "LogSoftmax" if issubclass(tr.current, FA.LogSoftmaxFunction) else "Softmax"
    return tr.g.node(op, [tr.name_of(args[0])], axis=wrap_dim(args[1], args[0].ndim))  # type: ignore[no-any-return]


@_on(FL.MSELossFunction, FL.L1LossFunction)
def _loss(tr: Any, args: Any, kw: Any, res: Any) -> str:
    x, t, reduction = args
    dt = res[0].dtype
    like = _traced(tr, args)
    d = tr.g.node("Sub", [operand(tr, x, dt, like), operand(tr, t, dt, like)])
    err = (
        tr.g.node("Abs", [d])
        if issubclass(tr.current, FL.L1LossFunction)
        else tr.g.node("Mul", [d, d])
    )
    if reduction == "none":
        return err  # type: ignore[no-any-return]
    return reduce(tr, "ReduceMean" if reduction == "mean" else "ReduceSum", err, None, False)


@_on(FCE.CrossEntropyFunction)
def _cross_entropy(tr: Any, args: Any, kw: Any, res: Any) -> str:
    x, t, w, axis, ignore_index, reduction, eps, probs = args
    if probs or eps:
        raise ExportError(
            "cross_entropy is exportable with class-index targets and no label smoothing "
            f"(ONNX SoftmaxCrossEntropyLoss){tr.where()}"
        )
    g = tr.g
    scores, labels = tr.name_of(x), tr.cast(tr.name_of(t), t.dtype, np.int64)
    if x.ndim == 1:  # one sample: as a batch of one
        scores = g.node("Unsqueeze", [scores, g.ints([0])])
        labels = g.node("Unsqueeze", [labels, g.ints([0])])
    names = [scores, labels] + ([tr.name_of(w)] if w is not None else [])
    loss = g.node(
        "SoftmaxCrossEntropyLoss", names, reduction=reduction, ignore_index=int(ignore_index)
    )
    if x.ndim == 1 and reduction == "none":
        loss = g.node("Squeeze", [loss, g.ints([0])])
    return loss  # type: ignore[no-any-return]


@_on(FCE.ClassIndexRowsFunction)
def _cross_entropy_rows(tr: Any, args: Any, kw: Any, res: Any) -> str:
    """cross_entropy's common case ((N, C) scores, int64 targets, no weights or smoothing)."""
    x, t, ignore_index, reduction = args
    labels = tr.cast(tr.name_of(t), t.dtype, np.int64)
    return tr.g.node(  # type: ignore[no-any-return]
        "SoftmaxCrossEntropyLoss",
        [tr.name_of(x), labels],
        reduction=reduction,
        ignore_index=int(ignore_index),
    )
