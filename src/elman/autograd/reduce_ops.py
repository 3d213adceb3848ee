"""Differentiable reductions: sum, mean and max (over all elements or one dim).

Each Function's forward and backward sit side by side, as in :mod:`.ops`; torch names the
forms over a dim differently (``SumBackward1``), hence the small subclasses at the end.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._operands import wrap_dim
from .function import Context, Function


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
    backward_name = "SumBackward0"  # over a dim: SumDim

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
    backward_name = "MeanBackward0"  # over a dim: MeanDim

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

    backward_name = "MaxBackward0"  # over all elements: MaxAll

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
            # torch's evenly_distribute_backward: the gradient shared by the maxima, or by
            # the NaNs when the max is NaN (a == NaN would select nothing)
            ctx.save_for_backward(np.isnan(a) if np.isnan(value) else a == value)
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
        if ctx.dim is None:  # zeros, and g / count where selected (no inf * 0 elsewhere)
            out = np.zeros(saved.shape, dtype=g.dtype)
            out[saved] = g / g.dtype.type(np.count_nonzero(saved))
            return out, None, None
        shape = ctx.shape or (1,)
        axis = wrap_dim(ctx.dim, len(ctx.shape))
        out = np.zeros(shape, dtype=g.dtype)
        gk = g if ctx.keepdim and ctx.shape else np.expand_dims(g, axis)
        np.put_along_axis(out, saved, gk, axis=axis)
        return out.reshape(ctx.shape), None, None


# torch names the forms by their arguments: the same Functions under those names
class SumDim(Sum):
    backward_name = "SumBackward1"


class MeanDim(Mean):
    backward_name = "MeanBackward1"


class MaxAll(MaxDim):
    backward_name = "MaxBackward1"
