"""The products over all steps of a layer in the layered stack: the input projections,
the weight gradients and dX, each one NumPy GEMM over every step (both directions at
once where that is cheaper), on the two threads for the two-thread variants and for the
big products of the others (``Variant.split_products``, decided by :func:`.dispatch.choose`).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
from numba import config as numba_config

from .array_loops import contiguous as _C
from .config import TWO_THREAD_PRODUCT
from .handover import matmul_two_threads
from .products import outer_into
from .recurrence import gather_prev
from .stack_ref import Weights

__all__ = [
    "products_for",
    "project",
    "project_all",
    "input_grad",
    "projector",
    "dw_hh_of",
    "add_first_term",
    "t_product",
]


def products_for(variant: Any) -> Any:
    """The matmul for the products of all steps of ``variant``'s call: split between the two
    threads for a two-thread variant, and for the big ones of the call when
    :func:`.dispatch.choose` said so (``split_products``)."""
    if variant.two_threads:
        return matmul_two_threads
    if variant.split_products:
        return partial(matmul_two_threads, min_work=TWO_THREAD_PRODUCT)
    return np.matmul


def project(matmul: Any, x: np.ndarray, w_ih: np.ndarray, out: np.ndarray) -> None:
    """out = x @ w_ih.T, the input projection of every step (one feature: a compiled loop).
    ``out`` may be a block of columns of a wider array."""
    one_dtype = x.dtype == w_ih.dtype == out.dtype
    if x.shape[1] == 1 and one_dtype and not numba_config.DISABLE_JIT:
        outer_into(x[:, 0], _C(w_ih[:, 0]), out)
    else:
        matmul(x, w_ih.T, out)


def _apart(rows: int, ws: Weights) -> bool:
    """Whether two directions' products are cheaper apart than through a copy of their
    weights side by side: the copy (D*H*In) outweighs reading x twice (T*In) for short
    calls (one step of 400 units: the copy was most of the call)."""
    return len(ws) == 2 and rows < 2 * ws[0][0].shape[0]


def project_all(matmul: Any, x: np.ndarray, ws: Weights, out: np.ndarray) -> None:
    """out (T, D*H) = x @ [W_ih of each direction].T."""
    if _apart(x.shape[0], ws):
        H = ws[0][0].shape[0]
        for d, w in enumerate(ws):
            project(matmul, x, w[0], out[:, d * H : (d + 1) * H])
    else:
        project(matmul, x, _cat_w_ih(ws), out)


def input_grad(matmul: Any, delta: np.ndarray, ws: Weights, out: Any = None) -> np.ndarray:
    """delta (T, D*H) @ [W_ih of each direction]: the layer input's gradient (T, In), into
    ``out`` when given."""
    if not _apart(delta.shape[0], ws):
        return matmul(delta, _cat_w_ih(ws), out=out)
    H = ws[0][0].shape[0]
    g = matmul(delta[:, :H], ws[0][0], out=out)
    g += matmul(delta[:, H:], ws[1][0])
    return g


def projector(matmul: Any, ws: Weights, T: int) -> Any:
    """For :mod:`.blocked_forward`: ``proj(a, o)``, o = a @ [W_ih of each direction].T for a
    block of rows, the directions apart or together as :func:`project_all` would put them
    for all T rows, so that each row comes out as from one product over all rows."""
    H = ws[0][0].shape[0]
    if _apart(T, ws):
        parts = [(w[0], slice(d * H, (d + 1) * H)) for d, w in enumerate(ws)]
    else:
        parts = [(_cat_w_ih(ws), slice(None))]
    return partial(project_parts, matmul, parts)


def project_parts(matmul: Any, parts: list, a: np.ndarray, o: np.ndarray) -> None:
    for w, cols in parts:
        project(matmul, a, w, o[:, cols])


def _cat_w_ih(ws: Weights) -> np.ndarray:
    return ws[0][0] if len(ws) == 1 else np.concatenate([w[0] for w in ws])  # (D*H, In)


def dw_hh_of(matmul, delta, out, prev, sizes, h0, c0, H, reverse, h0_zero=None):
    """delta_d.T @ (the states each step consumed), without gathering them when dense.

    Args:
        matmul: the product to use (np.matmul or on two threads)
        delta: (T, D*H) dL/dz
        out: (T, D*H) the forward's h_t
        prev: (T, D*H) scratch for the gathered states (packed input), or None when dense
        sizes: (L,) int64 batch_sizes: rows active at each step
        h0: (N, H) this direction's h0
        c0: first column of this direction in the layer arrays (0, or H for the reverse one)
        H: hidden size
        reverse: the reverse direction
        h0_zero: True when the caller knows h0 is zero (the stack's whole h0 checked once
            a call); None: checked here
    """
    cols = slice(c0, c0 + H)
    T, N = delta.shape[0], h0.shape[0]
    if T == 0:
        return np.zeros((H, H), dtype=delta.dtype)
    if T != N * len(sizes):  # packed: gather the previous states
        gather_prev(out, c0, sizes, h0, reverse, prev)
        return matmul(delta[:, cols].T, prev[:, cols])
    first, rest = (slice(T - N, T), slice(0, T - N)) if reverse else (slice(0, N), slice(N, T))
    neighbours = slice(N, T) if reverse else slice(0, T - N)
    # the first step's term, delta_first.T @ h0, is zero for a zero h0 unless delta_first
    # holds an inf or NaN (0 * inf is NaN): then no product (one step: the whole of dW_hh)
    lead = delta[first, cols]
    zero = (h0_zero or not h0.any()) and bool(np.isfinite(lead).all())
    if T == N:
        return np.zeros((H, H), dtype=delta.dtype) if zero else t_product(np.matmul, lead, h0)
    later = t_product(matmul, delta[rest, cols], out[neighbours, cols])  # (one row: a loop)
    if not zero:
        later += t_product(np.matmul, lead, h0)
    return later


def add_first_term(dw_hh, delta, h0, c0, H, reverse):
    """dw_hh += delta_first.T @ h0: the term of the sequences' first step (dense input),
    which :func:`dw_hh_of` adds to its product of the later steps, and skips the same way:
    zero for a zero h0 unless delta_first holds an inf or NaN.

    Args:
        dw_hh: (H, H) the later steps' sum, in place
        delta: (T, D*H) dL/dz, T = L * N
        h0: (N, H) this direction's h0
        c0: first column of this direction in the layer arrays (0, or H for the reverse one)
        H: hidden size
        reverse: the reverse direction (its first step is the last rows)
    """
    T, N = delta.shape[0], h0.shape[0]
    lead = delta[slice(T - N, T) if reverse else slice(0, N), c0 : c0 + H]
    if h0.any() or not bool(np.isfinite(lead).all()):
        dw_hh += t_product(np.matmul, lead, h0)


def t_product(matmul: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a.T @ b, a sum over the rows of a and b. One row (a single step of one sequence):
    an outer product, in a compiled loop (NumPy's matmul runs it without BLAS, ~10x slower)."""
    if a.shape[0] == 1 and a.dtype == b.dtype and not numba_config.DISABLE_JIT:
        out = np.empty((a.shape[1], b.shape[1]), dtype=a.dtype)
        outer_into(_C(a[0]), _C(b[0]), out)
        return out
    return matmul(a.T, b)
