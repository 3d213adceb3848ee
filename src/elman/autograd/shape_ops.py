"""Differentiable shape, indexing and joining operations: views and copies of the data.

Their backward moves gradients back into place (a reshape, an inverse permutation, a
scatter-add for indices that may repeat, a split) without any arithmetic on the values.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .function import Context, Function
from .ops import promote, unbroadcast, wrap_dim

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


def is_basic_index(index: Any) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, (int, slice)) for i in items)


def memory_order(a: np.ndarray) -> list[int] | None:
    """The permutation of axes that makes ``a`` C-contiguous (largest stride first), when
    ``a`` is a permuted view of a C-contiguous array (the batch-first view of an RNN's
    output); None when ``a`` is C-contiguous already or no permutation makes it so."""
    if a.flags.c_contiguous or a.ndim < 2:
        return None
    perm = sorted(range(a.ndim), key=lambda ax: -a.strides[ax])
    return perm if a.transpose(perm).flags.c_contiguous else None


def zeros_in_order(shape: tuple[int, ...], dtype: Any, order: list[int] | None) -> np.ndarray:
    """Zeros of ``shape`` laid out in memory as ``memory_order`` said (C order for None):
    a gradient in its input's layout, which a consumer reading memory order (the RNN's
    backward) takes without a transposing copy."""
    if order is None:
        return np.zeros(shape, dtype=dtype)
    inverse = [0] * len(order)
    for i, ax in enumerate(order):
        inverse[ax] = i
    return np.zeros([shape[ax] for ax in order], dtype=dtype).transpose(inverse)


class GetItem(Function):
    backward_name = "IndexBackward0"  # advanced indexing; basic: Slice

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, index: Any) -> np.ndarray:
        ctx.shape, ctx.dtype, ctx.index = a.shape, a.dtype, index
        ctx.order = memory_order(a)
        return a[index]

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[np.ndarray, None]:
        out = zeros_in_order(ctx.shape, ctx.dtype, ctx.order)  # (in the input's layout)
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
