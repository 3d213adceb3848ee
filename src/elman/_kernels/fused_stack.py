"""The fused stack's Python side: the whole stack in one compiled call each way
(:mod:`.fused_stack_loops`), for the variants whose forward or backward is ``fused``.

:func:`forward` / :func:`backward` are the variants' entry points (grouped weights, as the
general path passes them); :func:`fused_forward_flat` / :func:`fused_backward_flat` take the
weights already flat (:mod:`.flat`), as :class:`elman.nn.RNN` keeps them (the fast lane).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import blocked_forward
from ._blas import gemm_pointers, hold_one_thread, release_one_thread
from .array_loops import contiguous as _C
from .flat import flat_shapes, flat_spans, split_flat
from .fused_stack_loops import fused_backward, fused_forward
from .modes import GEMM
from .optional_blas import LOOPS
from .stack_ref import Stack, Weights

__all__ = [
    "forward",
    "backward",
    "fused_forward_flat",
    "fused_backward_flat",
    "len_rows",
    "projection_fptr",
]


def forward(variant: Any, stack: Stack, keep: bool = True) -> tuple[list[np.ndarray], np.ndarray]:
    """The fused variants' forward entry: :func:`.stack_ref.stack_forward` in one compiled
    call (``stack.x``, ``.sizes``, ``.h0`` contiguous; ``variant``: whether the input
    projections are BLAS calls, :func:`projection_fptr`)."""
    x, sizes, h0, weights, num_layers, relu, masks = stack
    NLD, N, H = h0.shape
    T, DH = len_rows(x), NLD // num_layers * H
    has_bias = weights[0][2] is not None
    fptr = projection_fptr(variant, x.dtype)
    full = keep or fptr != 0 or _small_stack(x, num_layers, T, DH)
    outs = np.empty((num_layers if full else 1, T, DH), dtype=x.dtype)
    x = fused_rows(x, outs, full)
    hn = np.empty_like(h0)
    m = _masks_stacked(masks, (T, DH), x.dtype)
    wbuf = _pack_forward(weights, has_bias, x.dtype)
    if fptr:
        _blas_forward(x, sizes, h0, wbuf, num_layers, has_bias, relu, m, outs, hn, not full, fptr)
    else:
        fused_forward(x, sizes, h0, wbuf, num_layers, has_bias, relu, m, outs, hn, not full, LOOPS)
    return list(outs if keep else outs[-1:]), hn


def _blas_forward(x, sizes, h0, wbuf, num_layers, has_bias, relu, m, outs, hn, lean, fptr):
    """fused_forward with BLAS projections (``fptr``), OpenBLAS held on this thread
    meanwhile (its workers, woken inside a kernel, cost ~100x the product here).

    Args:
        x: (T, I) rows
        sizes: (L,) int64 batch_sizes
        h0: (NL*D, N, H)
        wbuf: every parameter flat, in torch's order (.flat)
        num_layers: NL, layers
        has_bias: wbuf holds b_ih and b_hh
        relu: ReLU, else tanh
        m: (NL-1, T, D*H) dropout masks, or (0, ...)
        outs: (NL, T, D*H) out
        hn: (NL*D, N, H) out
        lean: a forward without a graph: the last layer's output only
        fptr: ?gemm for the input projections (an int64 address)
    """
    held = hold_one_thread()
    try:
        fused_forward(x, sizes, h0, wbuf, num_layers, has_bias, relu, m, outs, hn, lean, fptr)
    finally:
        if held:
            release_one_thread()


def projection_fptr(variant: Any, dtype: Any) -> int:
    """NumPy's ?gemm for ``dtype`` when ``variant`` runs its input-side products with BLAS
    (the fused variants of mode GEMM, for short stacks of wide inputs, where the loops'
    products are most of the call: ``fused-forward-gemm``'s input projections, ``fused-gemm``'s
    projections, dW_ih and input gradients), else 0 (the loops)."""
    if variant is None or variant.mode is not GEMM:
        return 0
    s, d = gemm_pointers()
    return np.int64(s if np.dtype(dtype) == np.float32 else d)


def backward(
    variant: Any,
    stack: Stack,
    outs: Any,
    g_out: np.ndarray,
    g_hn: np.ndarray,
    need_dx=True,
    need_dh0=True,
) -> Any:
    """The ``fused`` variants' backward entry: :func:`.stack_ref.stack_backward` in one
    compiled call (dx and dh0 always: the loop computes them with the rest; ``need_dx`` and
    ``need_dh0`` are unread)."""
    x, sizes, h0, weights, num_layers, relu, masks = stack
    NLD, N, H = h0.shape
    T, I = x.shape
    has_bias = weights[0][2] is not None
    m = _masks_stacked(masks, (T, NLD // num_layers * H), x.dtype)
    wbuf = _pack_forward(weights, has_bias, x.dtype)
    dx, dh0, gbuf, db = fused_backward_flat(
        x, sizes, h0, wbuf, num_layers, has_bias, relu, _stacked(outs), g_out, g_hn, m, variant
    )
    views = split_flat(gbuf, flat_spans(flat_shapes(I, H, num_layers, NLD // num_layers, has_bias)))
    step = 4 if has_bias else 2
    return dx, dh0, [(views[k * step], views[k * step + 1], db[k]) for k in range(NLD)]


def _pack_forward(weights: Weights, has_bias: bool, dtype: Any) -> np.ndarray:
    parts = [w.ravel() for ws in weights for w in (ws if has_bias else ws[:2])]
    return np.concatenate(parts).astype(dtype, copy=False)


def _masks_stacked(
    masks: Sequence[np.ndarray] | None, shape: tuple[int, int], dtype: Any
) -> np.ndarray:
    if masks is None or len(masks) == 0:
        return np.empty((0, *shape), dtype=dtype)
    if isinstance(masks, np.ndarray):  # (NL-1, T, D*H) already: no stacked copy
        return _C(masks, dtype=dtype)
    if len(masks) == 1:
        return _C(masks[0], dtype=dtype)[None]
    return np.stack(masks).astype(dtype, copy=False)


def _stacked(outs: Sequence[np.ndarray]) -> np.ndarray:
    """(NL, T, D*H) from the per-layer outputs; no copy when they are the views that
    :func:`stack_forward` returned (``list`` of one (NL, T, D*H) array, in order)."""
    base = outs[0].base
    if base is not None and base.ndim == 3 and base.shape[0] == len(outs):
        if all(o.base is base for o in outs) and base.flags.c_contiguous:
            return base
    return np.stack(outs) if len(outs) > 1 else _C(outs[0])[None]


def _small_stack(x: np.ndarray, num_layers: int, T: int, DH: int) -> bool:
    """True when every layer's output and a copy of the input together fit in one scratch
    block: then a forward without a graph keeps them all, as with a graph (the same bits),
    and skips the lean row-at-a-time projection, which costs up to +40% on long tiny-H
    stacks; the memory beyond the output stays under one block either way."""
    return num_layers * T * DH + len_rows(x) * x.shape[-1] <= blocked_forward.BLOCK_ELEMENTS


def len_rows(x: np.ndarray) -> int:
    """Rows of (T, I) rows or of an (L, N, I) time-major array."""
    return x.shape[0] if x.ndim == 2 else x.shape[0] * x.shape[1]


def fused_rows(x: np.ndarray, outs: np.ndarray, keep: bool) -> np.ndarray:
    """x as (T, I) rows for the fused forward: (T, I) rows as they are; (L, N, I) time-major
    as a view when contiguous, else (a batch-first input's view, ``keep`` False) copied
    into the first I columns of ``outs[0]``, which the kernel reads a row at a time before
    writing that row: no memory beyond the output (a separate copy when I > D*H)."""
    if x.ndim == 2:
        return x
    T, I = len_rows(x), x.shape[2]
    if x.flags.c_contiguous or I > outs.shape[2] or keep:
        return _C(x.reshape(T, I))
    staged = outs[0][:, :I]  # (T, I), row stride D*H
    staged.reshape(x.shape)[...] = x
    return staged


def fused_forward_flat(
    x, sizes, h0, wbuf, num_layers, has_bias, relu, masks=None, keep=True, variant=None
):
    """The fused forward on weights already flat (:mod:`.flat` layout): outs
    (NL, T, D*H) and hn. ``x``, ``sizes``, ``h0`` and ``wbuf`` contiguous, one dtype.
    ``keep=False``: outs (1, T, D*H), the last layer's output only (see fused_forward),
    and ``x`` may be (L, N, I) time-major of any strides (:func:`fused_rows`).

    Args:
        x: (T, I) packed rows (or (L, N, I) time-major where the forward allows it)
        sizes: (L,) int64 batch_sizes: rows active at each step
        h0: (NL*D, N, H)
        wbuf: every parameter flat, in torch's order (.flat)
        num_layers: NL, layers
        has_bias: wbuf holds b_ih and b_hh
        relu: ReLU, else tanh
        masks: (NL-1, T, D*H) or None
        keep: False: only the last layer's output is returned (a forward without a graph)
        variant: the call's variant (its input projections: :func:`projection_fptr`)
    """
    NLD, N, H = h0.shape
    T, DH = len_rows(x), NLD // num_layers * H
    fptr = projection_fptr(variant, x.dtype)
    full = keep or fptr != 0 or _small_stack(x, num_layers, T, DH)
    outs = np.empty((num_layers if full else 1, T, DH), dtype=x.dtype)
    x = fused_rows(x, outs, full)
    hn = np.empty_like(h0)
    m = _NO_MASKS[x.dtype] if masks is None else masks
    if fptr:
        _blas_forward(x, sizes, h0, wbuf, num_layers, has_bias, relu, m, outs, hn, not full, fptr)
    else:
        fused_forward(x, sizes, h0, wbuf, num_layers, has_bias, relu, m, outs, hn, not full, LOOPS)
    return (outs if keep else outs[-1:]), hn


def fused_backward_flat(
    x,
    sizes,
    h0,
    wbuf,
    num_layers,
    has_bias,
    relu,
    outs,
    g_out,
    g_hn,
    masks=None,
    variant=None,
    gbuf=None,
):
    """BPTT of :func:`fused_forward_flat`: dx, dh0, the gradients flat as ``wbuf`` (both
    bias slots hold db) and db (NL*D, H).

    Args:
        x: (T, I) packed rows (or (L, N, I) time-major where the forward allows it)
        sizes: (L,) int64 batch_sizes: rows active at each step
        h0: (NL*D, N, H)
        wbuf: every parameter flat, in torch's order (.flat)
        num_layers: NL, layers
        has_bias: wbuf holds b_ih and b_hh
        relu: ReLU, else tanh
        outs: (NL, T, D*H) the forward's outputs
        g_out: (T, D*H) gradient of the output
        g_hn: (NL*D, N, H)
        masks: (NL-1, T, D*H) or None
        variant: the call's variant (BLAS for the input-side products: projection_fptr)
        gbuf: out: the gradients' flat buffer, shaped as ``wbuf`` (every element written);
            None: a new one
    """
    dx, dh0 = np.empty_like(x), np.empty_like(h0)
    if gbuf is None:
        gbuf = np.empty_like(wbuf)
    db = np.empty(h0.shape[::2], dtype=x.dtype)
    m = _NO_MASKS[x.dtype] if masks is None else masks
    fptr = projection_fptr(variant, x.dtype)
    held = hold_one_thread() if fptr else False
    try:
        fused_backward(
            x, sizes, h0, wbuf, num_layers, has_bias, relu, m, outs, g_out, g_hn, dx, dh0, gbuf, db,
            fptr or LOOPS,
        )  # fmt: skip
    finally:
        if held:
            release_one_thread()
    return dx, dh0, gbuf, db


_NO_MASKS = {  # "no dropout" for the fused kernels, shared (they never write masks)
    np.dtype(np.float32): np.empty((0, 0, 0), np.float32),
    np.dtype(np.float64): np.empty((0, 0, 0), np.float64),
}
