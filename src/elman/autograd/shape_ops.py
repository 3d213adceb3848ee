"""Differentiable shape, indexing and joining operations: views and copies of the data.

Their backward moves gradients back into place (a reshape, an inverse permutation, a
scatter-add for indices that may repeat, a split) without any arithmetic on the values.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._kernels import scratch
from ._operands import promote, unbroadcast, wrap_dim
from .function import Context, Function

__all__ = ["Reshape", "Permute", "Expand", "GetItem", "Cat", "Stack"]


class Reshape(Function):
    backward_name = "ViewBackward0"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        ctx.shape = a.shape
        try:
            return a.reshape(shape)
        except ValueError:
            raise RuntimeError(
                f"shape '{list(shape)}' is invalid for input of size {a.size}"
            ) from None

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[np.ndarray, None]:
        return g.reshape(ctx.shape), None


class Permute(Function):
    backward_name = "PermuteBackward0"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, dims: tuple[int, ...]) -> np.ndarray:
        ctx.dims = dims
        return np.transpose(a, dims)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[np.ndarray, None]:
        return np.transpose(g, np.argsort(ctx.dims)), None


class Expand(Function):
    backward_name = "ExpandBackward0"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        ctx.shape = a.shape
        return np.broadcast_to(a, shape)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[np.ndarray, None]:
        return unbroadcast(g, ctx.shape), None


def memory_order(strides: tuple[int, ...] | None) -> tuple[int, ...] | None:
    """The axes of an array of ``strides`` from the outermost in memory to the innermost
    (largest stride first), or None when that is the axes' own order (C order) or there is
    nothing to order (``strides`` None: a C-contiguous array, the usual case)."""
    if strides is None or len(strides) < 2:
        return None
    axes = tuple(sorted(range(len(strides)), key=lambda k: -abs(strides[k])))
    return None if axes == tuple(range(len(strides))) else axes


def zeros_in_order(shape: tuple[int, ...], dtype: Any, axes: tuple[int, ...] | None) -> np.ndarray:
    """Zeros of ``shape`` laid out in memory with ``axes`` outermost first (None: C order),
    so that a slice's gradient has the layout of the array it was sliced from: the gradient
    of ``out[:, -1]`` for a batch-first view of a time-major RNN output reaches the RNN's
    backward in its own time-major order, without a transposing copy. Large ones come from
    :mod:`.._kernels.scratch` (reused, already-faulted pages; the page faults of a fresh
    multi-megabyte array cost several times the fill)."""
    if axes is None:
        return scratch.zeros(shape, dtype)
    buf = scratch.zeros(tuple(shape[k] for k in axes), dtype)
    return buf.transpose(np.argsort(axes))


def is_basic_index(index: Any) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, (int, slice)) for i in items)


class GetItem(Function):
    backward_name = "IndexBackward0"  # advanced indexing; basic: Slice

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, index: Any) -> np.ndarray:
        ctx.shape, ctx.dtype, ctx.index = a.shape, a.dtype, index
        ctx.strides = None if a.flags.c_contiguous else a.strides  # (ordered when needed)
        return a[index]

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[np.ndarray, None]:
        out = zeros_in_order(ctx.shape, ctx.dtype, memory_order(ctx.strides))
        if is_basic_index(ctx.index):
            out[ctx.index] = g
        else:  # advanced indices may repeat an element: accumulate
            np.add.at(out, ctx.index, g)
        return out, None


class Slice(GetItem):
    backward_name = "SliceBackward0"  # integers and slices only (as torch, by name)


class Cat(Function):
    backward_name = "CatBackward0"

    @staticmethod
    def forward(ctx: Context, *arrays: np.ndarray, dim: int = 0) -> np.ndarray:
        dim = wrap_dim(dim, arrays[0].ndim)
        ctx.sizes = [a.shape[dim] for a in arrays]
        ctx.dim = dim
        return np.concatenate(promote(*arrays), axis=dim)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[np.ndarray, ...]:
        cuts = np.cumsum(ctx.sizes)[:-1]
        return tuple(np.split(g, cuts, axis=ctx.dim))


class Stack(Function):
    backward_name = "StackBackward0"

    @staticmethod
    def forward(ctx: Context, *arrays: np.ndarray, dim: int = 0) -> np.ndarray:
        ctx.dim = wrap_dim(dim, arrays[0].ndim + 1)
        ctx.n = len(arrays)
        return np.stack(promote(*arrays), axis=ctx.dim)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[np.ndarray, ...]:
        return tuple(np.take(g, i, axis=ctx.dim) for i in range(ctx.n))
