"""Differentiable ops torch scripts use beyond the RNN core: clamp, flip, where, the values
of topk / sort (gathered along a dim), diag, round; each forward next to its backward.

torch's gradients: ``clamp`` passes the gradient where ``min <= x <= max`` (both bounds
inclusive), ``where`` sends it to the chosen side, ``round`` has a zero gradient.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._operands import unbroadcast, wrap_dim
from .function import Context, Function

__all__ = ["Clamp", "Flip", "Where", "TakeAlong", "Diag", "Round", "RPow"]


class Clamp(Function):
    """``min(max(x, lo), hi)``; NaN stays NaN (and gets a zero gradient, as in torch)."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, lo: Any, hi: Any) -> np.ndarray:
        keep = np.ones(a.shape, dtype=bool)
        out = a
        if lo is not None:
            keep &= a >= lo  # NaN gets no gradient, as torch's mask
            out = np.where(a < lo, np.asarray(lo, a.dtype), out)
        if hi is not None:
            keep &= a <= hi
            out = np.where(a > hi, np.asarray(hi, a.dtype), out)
        ctx.save_for_backward(keep)
        return np.asarray(out, dtype=a.dtype)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[np.ndarray, None, None]:
        (keep,) = ctx.saved_tensors
        return g * keep, None, None


class Flip(Function):
    @staticmethod
    def forward(ctx: Context, a: np.ndarray, dims: tuple[int, ...]) -> np.ndarray:
        ctx.dims = dims
        return np.flip(a, dims).copy() if dims else a.copy()

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[np.ndarray, None]:
        return (np.flip(g, ctx.dims).copy() if ctx.dims else g), None


class Where(Function):
    """``cond ? a : b`` elementwise, broadcast; ``cond`` is a bool array (not differentiated)."""

    @staticmethod
    def forward(ctx: Context, cond: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(cond)
        ctx.shapes = (a.shape, b.shape)
        return np.where(cond, a, b)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[None, np.ndarray, np.ndarray]:
        (cond,) = ctx.saved_tensors
        zero = np.zeros((), g.dtype)
        ga = unbroadcast(np.where(cond, g, zero), ctx.shapes[0])
        gb = unbroadcast(np.where(cond, zero, g), ctx.shapes[1])
        return None, ga, gb


class TakeAlong(Function):
    """``take_along_axis(a, idx, dim)`` where ``idx`` holds distinct positions per line (the
    indices of topk / sort), so the backward is a plain put."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, idx: np.ndarray, dim: int) -> np.ndarray:
        ctx.shape, ctx.dim = a.shape, dim
        ctx.save_for_backward(idx)
        return np.take_along_axis(a, idx, axis=dim)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[np.ndarray, None, None]:
        (idx,) = ctx.saved_tensors
        out = np.zeros(ctx.shape, dtype=g.dtype)
        np.put_along_axis(out, idx, g, axis=ctx.dim)
        return out, None, None


class Diag(Function):
    """A vector -> the square matrix with it on diagonal ``k``; a matrix -> its diagonal."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, k: int) -> np.ndarray:
        ctx.shape, ctx.k = a.shape, k
        if a.ndim not in (1, 2):
            raise RuntimeError("diag(): Supports 1D or 2D tensors. Got " + f"{a.ndim}D")
        return np.diag(a, k).copy()

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[np.ndarray, None]:
        if len(ctx.shape) == 1:
            return np.diag(g, ctx.k).copy(), None
        out = np.zeros(ctx.shape, dtype=g.dtype)
        n = np.arange(g.size)
        rows, cols = (n, n + ctx.k) if ctx.k >= 0 else (n - ctx.k, n)
        out[rows, cols] = g
        return out, None


class RPow(Function):
    """``base ** x`` for a number ``base``: gradient ``base ** x * ln(base)``."""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, base: float) -> np.ndarray:
        out = np.power(x.dtype.type(base), x)
        ctx.save_for_backward(out)
        ctx.log_base = np.log(x.dtype.type(base)) if base > 0 else np.nan
        return out

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[np.ndarray, None]:
        (out,) = ctx.saved_tensors
        return g * out * ctx.log_base, None


class Round(Function):
    @staticmethod
    def forward(ctx: Context, a: np.ndarray, decimals: int) -> np.ndarray:
        return np.round(a, decimals)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[np.ndarray, None]:
        return np.zeros_like(g), None


def sort_indices(a: np.ndarray, dim: int, descending: bool) -> np.ndarray:
    """Positions that sort ``a`` along ``dim`` (stable: equal values keep their order; NaN
    counts as the largest value, as in torch)."""
    axis = wrap_dim(dim, max(a.ndim, 1))
    src = a.reshape(1) if a.ndim == 0 else a
    if not descending:
        return np.argsort(src, axis=axis, kind="stable")
    if src.dtype.kind == "f":  # NaN first, then the largest
        return np.argsort(np.where(np.isnan(src), -np.inf, -src), axis=axis, kind="stable")
    if src.dtype == np.bool_:
        return np.argsort(~src, axis=axis, kind="stable")
    return np.argsort(-src.astype(np.int64), axis=axis, kind="stable")
