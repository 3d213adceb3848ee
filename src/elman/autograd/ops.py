"""Differentiable elementwise, reduction, shape and linear-algebra operations.

Each Function's forward and backward sit side by side; broadcasting is undone in
:func:`unbroadcast` only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import binary, check_int, check_matmul, check_no_bool_sub
from ._matmul import matmul_arrays
from .dtypes import get_default_dtype, result_type
from .function import Context, Function


def wrap_dim(dim: int, ndim: int) -> int:
    """``dim`` in ``range(ndim)``; negative dims count from the end; 0-d takes 0 and -1.

    Raises the IndexError torch raises, where NumPy would wrap or say AxisError.
    """
    if not isinstance(dim, int) or isinstance(dim, bool):
        dim = check_int("dim", dim)
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})"
        )
    return dim % n


def promote(*operands: Any) -> tuple[Any, ...]:
    """Cast array operands to torch's result dtype (see :func:`result_type`).

    Python scalars stay as they are: NumPy treats them as weak, so they keep the dtype.
    """
    dt = result_type(*operands)
    return tuple(
        x.astype(dt, copy=False)
        if isinstance(x, np.ndarray)
        else x.item()  # a NumPy scalar would not be weak: make it a Python number
        if isinstance(x, np.generic)
        else x
        for x in operands
    )


def floating(a: np.ndarray) -> np.ndarray:
    """Integer input of a floating-point function computes in the default dtype, as torch."""
    return a if a.dtype.kind in "fc" else a.astype(get_default_dtype())


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` down to ``shape``: the adjoint of NumPy broadcasting."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


# ---- binary arithmetic ----------------------------------------------------------------


class Add(Function):
    @staticmethod
    def forward(ctx: Context, a: Any, b: Any) -> np.ndarray:
        ctx.shapes = (np.shape(a), np.shape(b))
        return binary(np.add, *promote(a, b))

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, Any]:
        sa, sb = ctx.shapes
        return unbroadcast(g, sa), unbroadcast(g, sb)


class Sub(Function):
    @staticmethod
    def forward(ctx: Context, a: Any, b: Any) -> np.ndarray:
        ctx.shapes = (np.shape(a), np.shape(b))
        check_no_bool_sub(a, b)
        return binary(np.subtract, *promote(a, b))

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, Any]:
        sa, sb = ctx.shapes
        return unbroadcast(g, sa), unbroadcast(-g, sb)


class Mul(Function):
    @staticmethod
    def forward(ctx: Context, a: Any, b: Any) -> np.ndarray:
        a, b = promote(a, b)
        ctx.save_for_backward(a, b)
        return binary(np.multiply, a, b)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, Any]:
        a, b = ctx.saved_tensors
        ga = unbroadcast(g * b, np.shape(a)) if ctx.needs_input_grad[0] else None
        gb = unbroadcast(g * a, np.shape(b)) if ctx.needs_input_grad[1] else None
        return ga, gb


class Div(Function):
    @staticmethod
    def forward(ctx: Context, a: Any, b: Any) -> np.ndarray:
        a, b = promote(a, b)
        if result_type(a, b).kind != "f":  # true division of integers: the default float
            a, b = (np.asarray(x, dtype=get_default_dtype()) for x in (a, b))
        ctx.save_for_backward(a, b)
        return binary(np.true_divide, a, b)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, Any]:
        a, b = ctx.saved_tensors
        ga = unbroadcast(g / b, np.shape(a)) if ctx.needs_input_grad[0] else None
        # torch's order, -g * ((a / b) / b): b * b underflows to 0 for |b| ~ 1e-30 in float32
        gb = unbroadcast(-g * ((a / b) / b), np.shape(b)) if ctx.needs_input_grad[1] else None
        return ga, gb


class Pow(Function):
    """``a ** p`` for a Tensor ``a`` and a Python number ``p``."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, p: float) -> np.ndarray:
        a = promote(a, p)[0]  # an int tensor to a float power computes in float32
        ctx.save_for_backward(a, p)
        if a.dtype.kind in "iu" and isinstance(p, int) and p < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        if a.dtype.kind == "f" and a.dtype.itemsize < 8 and isinstance(p, float):
            # torch raises a float32 base to the double exponent (std::pow(float, double));
            # NumPy would round the exponent to float32 first (1e-50 -> 0, so x**1e-50 = 1)
            return np.power(a.astype(np.float64), p).astype(a.dtype)
        return np.power(a, p)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, None]:
        a, p = ctx.saved_tensors
        if p == 0:  # d(x**0)/dx is 0 everywhere, also at x = 0 where x**-1 is inf
            return np.zeros_like(a), None
        return g * p * np.power(a, p - 1), None


class Maximum(Function):
    """Elementwise maximum; ties split the gradient evenly, as torch does."""

    @staticmethod
    def forward(ctx: Context, a: Any, b: Any) -> np.ndarray:
        a, b = promote(a, b)
        ctx.save_for_backward(a, b)
        return binary(np.maximum, a, b)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, Any]:
        a, b = ctx.saved_tensors
        wa = (a > b) + 0.5 * (a == b)
        return unbroadcast(g * wa, np.shape(a)), unbroadcast(g * (1 - wa), np.shape(b))


class MatMul(Function):
    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(a, b)
        check_matmul(a, b)
        return matmul_arrays(a, b)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, Any]:
        a, b = ctx.saved_tensors
        # 1-D operands act as a row (a) or a column (b) whose unit dim the output dropped
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = g[..., None] if b.ndim == 1 else g
        g2 = g2[..., None, :] if a.ndim == 1 else g2
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = matmul_arrays(g2, np.swapaxes(b2, -1, -2))
            ga = unbroadcast(ga, a2.shape).reshape(a.shape)
        if ctx.needs_input_grad[1]:
            gb = matmul_arrays(np.swapaxes(a2, -1, -2), g2)
            gb = unbroadcast(gb, b2.shape).reshape(b.shape)
        return ga, gb


# ---- unary ------------------------------------------------------------------------------


class Neg(Function):
    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        if a.dtype == np.bool_:
            raise RuntimeError(
                "Negation, the `-` operator, on a bool tensor is not supported. If you are "
                "trying to invert a mask, use the `~` or `logical_not()` operator instead."
            )
        return np.negative(a)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> np.ndarray:
        return -g


class Tanh(Function):
    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        y = np.tanh(floating(a))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> np.ndarray:
        (y,) = ctx.saved_tensors
        return g * (1 - y * y)


class Relu(Function):
    """max(x, 0); the derivative at 0 is 0, as in torch."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        if a.dtype == np.bool_:
            raise RuntimeError("Boolean inputs not supported for relu")
        y = np.maximum(a, 0).astype(a.dtype, copy=False)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> np.ndarray:
        (y,) = ctx.saved_tensors
        return g * (y > 0)


class Sigmoid(Function):
    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        a = floating(a)
        # e^-|a| never overflows, and e / (1 + e) keeps full relative precision for a << 0
        e = np.exp(-np.abs(a))
        y = np.where(a >= 0, 1 / (1 + e), e / (1 + e)).astype(a.dtype, copy=False)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> np.ndarray:
        (y,) = ctx.saved_tensors
        return g * y * (1 - y)


class Exp(Function):
    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        y = np.exp(floating(a))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> np.ndarray:
        (y,) = ctx.saved_tensors
        return g * y


class Log(Function):
    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        a = floating(a)
        ctx.save_for_backward(a)
        return np.log(a)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> np.ndarray:
        (a,) = ctx.saved_tensors
        return g / a


class Abs(Function):
    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        if a.dtype == np.bool_:
            raise NotImplementedError("\"abs\" not implemented for 'bool'")
        ctx.save_for_backward(a)
        return np.abs(a)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> np.ndarray:
        (a,) = ctx.saved_tensors
        return g * np.sign(a)


class Sqrt(Function):
    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        y = np.sqrt(floating(a))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> np.ndarray:
        (y,) = ctx.saved_tensors
        return g / (2 * y)


class Cast(Function):
    @staticmethod
    def forward(ctx: Context, a: np.ndarray, dtype: np.dtype) -> np.ndarray:
        ctx.src = a.dtype
        return a.astype(dtype)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[np.ndarray, None]:
        return g.astype(ctx.src), None


class Clone(Function):
    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        return np.array(a, copy=True)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> np.ndarray:
        return g


# ---- reductions -------------------------------------------------------------------------


def _axes(dim: Any, ndim: int) -> tuple[int, ...]:
    if dim is None:
        return tuple(range(ndim))
    dims = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
    axes = tuple(wrap_dim(d, ndim) for d in dims)
    if len(set(axes)) != len(axes):
        d = next(d for d in axes if axes.count(d) > 1)
        raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    return axes if ndim else ()  # a 0-d tensor reduces over dim 0 or -1 to itself


class Sum(Function):
    @staticmethod
    def forward(ctx: Context, a: np.ndarray, dim: Any = None, keepdim: bool = False) -> np.ndarray:
        ctx.shape = a.shape
        ctx.axes = _axes(dim, a.ndim)
        ctx.keepdim = keepdim
        # integer and bool sums are int64 (a count, for a mask), as in torch
        dtype = a.dtype if a.dtype.kind in "fc" else np.dtype(np.int64)
        return np.asarray(a.sum(axis=ctx.axes, keepdims=keepdim, dtype=dtype))

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[np.ndarray, None, None]:
        if not ctx.keepdim and ctx.shape:
            g = np.expand_dims(g, ctx.axes)
        return np.broadcast_to(g, ctx.shape).copy(), None, None


class Mean(Function):
    @staticmethod
    def forward(ctx: Context, a: np.ndarray, dim: Any = None, keepdim: bool = False) -> np.ndarray:
        if a.dtype.kind not in "fc":
            raise RuntimeError(
                "mean(): could not infer output dtype. Input dtype must be either a floating "
                f"point or complex dtype. Got: {a.dtype}"
            )
        ctx.shape = a.shape
        ctx.axes = _axes(dim, a.ndim)
        ctx.keepdim = keepdim
        ctx.count = int(np.prod([a.shape[i] for i in ctx.axes])) if a.ndim else 1
        return np.asarray(a.mean(axis=ctx.axes, keepdims=keepdim), dtype=a.dtype)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[np.ndarray, None, None]:
        if not ctx.keepdim and ctx.shape:
            g = np.expand_dims(g, ctx.axes)
        return np.broadcast_to(g / ctx.count, ctx.shape).copy(), None, None


class MaxDim(Function):
    """Max over one dim, returning (values, indices); or over all, returning the value.

    Over one dim the gradient goes to the index returned (the first maximum, as torch's CPU
    kernel picks); over all elements it is shared evenly by ties, as in torch.
    """

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, dim: int | None, keepdim: bool) -> Any:
        ctx.shape, ctx.dim, ctx.keepdim = a.shape, dim, keepdim
        if dim is None:
            if a.size == 0:
                raise RuntimeError(
                    "max(): Expected reduction dim to be specified for input.numel() == 0. "
                    "Specify the reduction dim with the 'dim' argument."
                )
            value = a.max()
            ctx.save_for_backward(a == value)
            return np.asarray(value)
        axis = wrap_dim(dim, a.ndim)
        if a.ndim and a.shape[axis] == 0:
            raise IndexError(f"max(): Expected reduction dim {axis} to have non-zero size.")
        src = a.reshape(1) if a.ndim == 0 else a
        idx = np.expand_dims(np.argmax(src, axis=axis), axis)
        ctx.save_for_backward(idx)
        vals = np.take_along_axis(src, idx, axis=axis)
        if not keepdim or a.ndim == 0:
            vals, idx = np.squeeze(vals, axis=axis), np.squeeze(idx, axis=axis)
        return vals, idx.astype(np.int64, copy=False)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray, *_: Any) -> tuple[np.ndarray, None, None]:
        (saved,) = ctx.saved_tensors
        if ctx.dim is None:
            return g * saved / np.count_nonzero(saved), None, None
        shape = ctx.shape or (1,)
        axis = wrap_dim(ctx.dim, len(ctx.shape))
        out = np.zeros(shape, dtype=g.dtype)
        gk = g if ctx.keepdim and ctx.shape else np.expand_dims(g, axis)
        np.put_along_axis(out, saved, gk, axis=axis)
        return out.reshape(ctx.shape), None, None
