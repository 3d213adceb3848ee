"""The ONNX ops an imported graph runs, on elman Tensors.

Float values go through elman's differentiable ops (so an imported model trains);
integer values (shapes, indices, lengths) are computed in NumPy, as constants of the
call. Each function takes ``(inputs, attrs)`` (absent optional inputs are None) and
returns the list of outputs. ``RNN`` is run by the importer with its ``nn.RNN``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from onnx import helper

import elman

from ..autograd import Tensor
from ..nn import functional as F

__all__ = ["OPS"]

OPS: dict[str, Any] = {}


def op(*names: str) -> Any:
    def register(fn: Any) -> Any:
        for n in names:
            OPS[n] = fn
        return fn

    return register


def is_int(t: Any) -> bool:
    return t._data.dtype.kind in "iub"


def arr(t: Any) -> np.ndarray:
    return t._data


def const(a: Any) -> Tensor:
    return Tensor(np.asarray(a))


def ints(t: Any) -> list[int]:
    return [int(v) for v in np.asarray(t._data).reshape(-1)]


def _axes(inputs: list[Any], attrs: dict[str, Any], k: int = 1) -> list[int] | None:
    if len(inputs) > k and inputs[k] is not None:
        return ints(inputs[k])
    return attrs.get("axes")


_NUMPY_BINARY = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply}


@op("Add", "Sub", "Mul", "Div")
def _binary(inputs: list[Any], attrs: dict[str, Any], op_type: str = "") -> list[Any]:
    a, b = inputs
    if is_int(a) and is_int(b):
        if op_type == "Div":
            q = np.trunc(arr(a) / arr(b)).astype(np.result_type(arr(a), arr(b)))
            return [const(q)]
        return [const(_NUMPY_BINARY[op_type](arr(a), arr(b)))]
    if op_type == "Add":
        return [a + b]
    if op_type == "Sub":
        return [a - b]
    if op_type == "Mul":
        return [a * b]
    return [a / b]


@op("Pow")
def _pow(inputs: list[Any], attrs: dict[str, Any], op_type: str = "") -> list[Any]:
    x, y = inputs
    if y._data.size != 1:
        raise NotImplementedError("Pow with a tensor exponent")
    return [x ** float(y._data.reshape(()))]


@op("Max")
def _max(inputs: list[Any], attrs: dict[str, Any], op_type: str = "") -> list[Any]:
    out = inputs[0]
    for t in inputs[1:]:
        out = elman.maximum(out, t)
    return [out]


_UNARY = {
    "Tanh": lambda t: t.tanh(),
    "Relu": lambda t: t.relu(),
    "Sigmoid": lambda t: t.sigmoid(),
    "Exp": lambda t: t.exp(),
    "Log": lambda t: t.log(),
    "Abs": lambda t: t.abs(),
    "Sqrt": lambda t: t.sqrt(),
    "Neg": lambda t: -t,
    "Identity": lambda t: t,
}


@op(*_UNARY)
def _unary(inputs: list[Any], attrs: dict[str, Any], op_type: str = "") -> list[Any]:
    return [_UNARY[op_type](inputs[0])]


@op("Dropout")
def _dropout(inputs: list[Any], attrs: dict[str, Any], op_type: str = "") -> list[Any]:
    x = inputs[0]  # inference: the identity, and a mask of ones
    return [x, const(np.ones(x._data.shape, dtype=bool))]


@op("Cast")
def _cast(inputs: list[Any], attrs: dict[str, Any], op_type: str = "") -> list[Any]:
    dtype = helper.tensor_dtype_to_np_dtype(attrs["to"])
    x = inputs[0]
    if dtype.kind == "f" and not is_int(x):
        return [x.to(dtype)]
    return [const(arr(x).astype(dtype))]


@op("MatMul")
def _matmul(inputs: list[Any], attrs: dict[str, Any], op_type: str = "") -> list[Any]:
    return [inputs[0] @ inputs[1]]


@op("Gemm")
def _gemm(inputs: list[Any], attrs: dict[str, Any], op_type: str = "") -> list[Any]:
    a, b = inputs[0], inputs[1]
    c = inputs[2] if len(inputs) > 2 else None
    alpha, beta = attrs.get("alpha", 1.0), attrs.get("beta", 1.0)
    if attrs.get("transA", 0):
        a = a.t()
    if attrs.get("transB", 0) and alpha == 1.0 and beta == 1.0 and (c is None or c.ndim == 1):
        return [F.linear(a, b, c)]  # one fused node, as nn.Linear
    if attrs.get("transB", 0):
        b = b.t()
    y = a @ b
    if alpha != 1.0:
        y = y * alpha
    if c is not None:
        y = y + (c * beta if beta != 1.0 else c)
    return [y]


@op("Transpose")
def _transpose(inputs: list[Any], attrs: dict[str, Any], op_type: str = "") -> list[Any]:
    x = inputs[0]
    perm = attrs.get("perm") or list(reversed(range(x.ndim)))
    if is_int(x):
        return [const(np.transpose(arr(x), perm))]
    return [x.permute(*perm)]


@op("Reshape")
def _reshape(inputs: list[Any], attrs: dict[str, Any], op_type: str = "") -> list[Any]:
    x, shape = inputs[0], ints(inputs[1])
    if not attrs.get("allowzero", 0):
        shape = [x._data.shape[i] if n == 0 else n for i, n in enumerate(shape)]
    return [const(arr(x).reshape(shape)) if is_int(x) else x.reshape(tuple(shape))]


@op("Flatten")
def _flatten(inputs: list[Any], attrs: dict[str, Any], op_type: str = "") -> list[Any]:
    x = inputs[0]
    k = attrs.get("axis", 1) % max(x.ndim, 1) if attrs.get("axis", 1) < 0 else attrs.get("axis", 1)
    lead = int(np.prod(x._data.shape[:k], dtype=np.int64))
    return [x.reshape(lead, -1)]


@op("Squeeze", "Unsqueeze")
def _squeeze(inputs: list[Any], attrs: dict[str, Any], op_type: str = "") -> list[Any]:
    x = inputs[0]
    shape = list(x._data.shape)
    axes = _axes(inputs, attrs)
    if op_type == "Squeeze":
        rank = len(shape)
        drop = {a % rank for a in axes} if axes else {i for i, n in enumerate(shape) if n == 1}
        new = [n for i, n in enumerate(shape) if i not in drop]
    else:
        rank = len(shape) + len(axes or [])
        new = shape[:]
        for a in sorted(a % rank for a in axes or []):
            new.insert(a, 1)
    return [const(arr(x).reshape(new)) if is_int(x) else x.reshape(tuple(new))]


@op("Concat")
def _concat(inputs: list[Any], attrs: dict[str, Any], op_type: str = "") -> list[Any]:
    axis = attrs["axis"]
    if all(is_int(t) for t in inputs):
        return [const(np.concatenate([arr(t) for t in inputs], axis=axis))]
    return [elman.cat(list(inputs), dim=axis)]


@op("Shape")
def _shape(inputs: list[Any], attrs: dict[str, Any], op_type: str = "") -> list[Any]:
    shape = np.asarray(inputs[0]._data.shape, dtype=np.int64)
    start, end = attrs.get("start", 0), attrs.get("end")
    return [const(shape[start:end])]


@op("Constant")
def _constant(inputs: list[Any], attrs: dict[str, Any], op_type: str = "") -> list[Any]:
    for key in ("value", "value_float", "value_floats", "value_int", "value_ints"):
        if key in attrs:
            v = attrs[key]
            if key in ("value_float", "value_floats"):
                v = np.asarray(v, dtype=np.float32)
            elif key in ("value_int", "value_ints"):
                v = np.asarray(v, dtype=np.int64)
            return [const(v)]
    raise NotImplementedError(f"Constant with attributes {sorted(attrs)}")


@op("ConstantOfShape")
def _constant_of_shape(inputs: list[Any], attrs: dict[str, Any], op_type: str = "") -> list[Any]:
    value = attrs.get("value", np.zeros(1, dtype=np.float32))
    return [const(np.full(ints(inputs[0]), value.reshape(-1)[0], dtype=value.dtype))]


@op("Expand")
def _expand(inputs: list[Any], attrs: dict[str, Any], op_type: str = "") -> list[Any]:
    x, shape = inputs[0], ints(inputs[1])
    target = np.broadcast_shapes(x._data.shape, tuple(shape))
    if is_int(x):
        return [const(np.broadcast_to(arr(x), target).copy())]
    return [x.expand(tuple(target))]
