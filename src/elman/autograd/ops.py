"""Differentiable elementwise and linear-algebra operations (reductions: :mod:`.reduce_ops`).

Each Function's forward and backward sit side by side; broadcasting is undone in
:func:`._operands.unbroadcast` only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._kernels.special import power, relu_backward, sign, tanh_ref
from ._checks import binary, check_matmul, check_no_bool_sub
from ._matmul import matmul_arrays
from ._operands import floating, promote, unbroadcast
from .dtypes import get_default_dtype, result_type
from .function import Context, Function

# ---- binary arithmetic ----------------------------------------------------------------


class Add(Function):
    backward_name = "AddBackward0"

    @staticmethod
    def forward(ctx: Context, a: Any, b: Any) -> np.ndarray:
        ctx.shapes = (np.shape(a), np.shape(b))
        return binary(np.add, *promote(a, b))

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, Any]:
        sa, sb = ctx.shapes
        return unbroadcast(g, sa), unbroadcast(g, sb)


class Sub(Function):
    backward_name = "SubBackward0"

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
    backward_name = "MulBackward0"

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
    backward_name = "DivBackward0"

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

    backward_name = "PowBackward0"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, p: float) -> np.ndarray:
        a = promote(a, p)[0]  # an int tensor to a float power computes in float32
        ctx.save_for_backward(a, p)
        if a.dtype.kind in "iu" and isinstance(p, int) and p < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        return _pow(a, p)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, None]:
        a, p = ctx.saved_tensors
        if p == 0:  # d(x**0)/dx is 0 everywhere, also at x = 0 where x**-1 is inf
            return np.zeros_like(a), None
        return g * (p * _pow(a, p - 1)), None  # torch's pow_backward, same order


def _pow(a: np.ndarray, p: float) -> np.ndarray:
    """torch's ``a ** p`` for a Python number: its special exponents as its kernel (sqrt for
    0.5, NaN at -inf; x * x for 2, ...), other exponents as ``std::pow(float, double)``.
    NumPy would round a float32 array's exponent to float32 first: 1e-50 -> 0, so
    (-0.6) ** 1e-50 = 1 where torch gives NaN; and in the backward -8.6e-11 - 1 -> -1, an
    odd integer, so (-0.) ** (p - 1) = -inf and (-2.) ** (p - 1) = -0.5 where torch's
    non-integer exponent gives +inf and NaN."""
    if a.dtype.kind == "f" and a.dtype.itemsize < 8 and p not in (0, 1, 0.5, -0.5, -1, 2, 3, -2):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # as torch, quietly
            return np.power(a.astype(np.float64), p).astype(a.dtype)
    return power(a, p)


class Maximum(Function):
    """Elementwise maximum (NaN if either is NaN); ties split the gradient evenly, as torch.

    The gradient is torch's selection, not a product with a 0/1 weight: ``g / 2`` at ties,
    0 to the smaller side, ``g`` otherwise, so a NaN pair gives both sides ``g`` (neither
    compares smaller) and an inf ``g`` gives 0, not NaN, to the smaller side.
    """

    backward_name = "MaximumBackward0"

    @staticmethod
    def forward(ctx: Context, a: Any, b: Any) -> np.ndarray:
        a, b = promote(a, b)
        ctx.save_for_backward(a, b)
        return binary(np.maximum, a, b)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, Any]:
        a, b = ctx.saved_tensors
        zero = g.dtype.type(0)
        tie = np.where(a == b, g / 2, g)
        ga = np.where(a < b, zero, tie)
        gb = np.where(a > b, zero, tie)
        return unbroadcast(ga, np.shape(a)), unbroadcast(gb, np.shape(b))


class MatMul(Function):
    backward_name = "UnsafeViewBackward0"  # batched; see matmul() for the others

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
    backward_name = "NegBackward0"

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
    backward_name = "TanhBackward0"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        y = tanh_ref(floating(a))  # exactly +-1 where torch's is (see _kernels.special)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> np.ndarray:
        (y,) = ctx.saved_tensors
        return g * (1 - y * y)


class Relu(Function):
    """max(x, 0); the derivative at 0 is 0, as in torch."""

    backward_name = "ReluBackward0"

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
        return relu_backward(g, y)  # torch's threshold_backward: a select, NaN y passes g


class Sigmoid(Function):
    backward_name = "SigmoidBackward0"

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
    backward_name = "ExpBackward0"

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
    backward_name = "LogBackward0"

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
    backward_name = "AbsBackward0"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        if a.dtype == np.bool_:
            raise NotImplementedError("\"abs\" not implemented for 'bool'")
        ctx.save_for_backward(a)
        return np.abs(a)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> np.ndarray:
        (a,) = ctx.saved_tensors
        return g * sign(a)  # torch's sgn: 0 at NaN (NumPy's sign gives NaN)


class Sqrt(Function):
    backward_name = "SqrtBackward0"

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
    backward_name = "ToCopyBackward0"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, dtype: np.dtype) -> np.ndarray:
        ctx.src = a.dtype
        return a.astype(dtype)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[np.ndarray, None]:
        return g.astype(ctx.src), None


class Clone(Function):
    backward_name = "CloneBackward0"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        return np.array(a, copy=True)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> np.ndarray:
        return g


# torch names some ops by their arguments: the same Functions under those names
class Mm(MatMul):
    backward_name = "MmBackward0"


class Mv(MatMul):
    backward_name = "MvBackward0"


class Dot(MatMul):
    backward_name = "DotBackward0"


_MATMULS: dict[tuple[int, int], type[MatMul]] = {(2, 2): Mm, (2, 1): Mv, (1, 1): Dot}


def matmul(a: Any, b: Any) -> Any:
    """``a @ b`` as one graph node, named as torch names the product."""
    return _MATMULS.get((np.ndim(a), np.ndim(b)), MatMul).apply(a, b)
