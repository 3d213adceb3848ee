"""Compiled twins (numba) of the stack and packed-layer kernels: same signatures, same results.

:func:`stack_forward` / :func:`stack_backward` are what the package calls, once per RNN
forward and backward. :mod:`.dispatch` picks the variant from the problem's shape:

* ``fused``: one compiled call for the whole stack (:mod:`._nb_fused`);
* ``layered`` (:mod:`._layered`): per layer one NumPy GEMM for the input projection of all
  steps (both directions at once), the recurrence compiled (:mod:`._nb_recur` on one thread;
  :mod:`._nb_split` and :mod:`._nb_wave` on two), and after BPTT one GEMM each for dW_ih,
  dW_hh and dX (the bias gradient is summed inside the BPTT loop).

See :mod:`.stack_ref` and :mod:`.rnn_ref` for the math, the shapes and the packed layout.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import _blocks, _jit  # noqa: F401  (numba's environment: see _jit; the package imports it first)
from ._blas import hold_one_thread, release_one_thread, single_threaded_blas
from ._layered import (
    fptr_of,
    layered_backward,
    layered_forward,
    plain_mode,
    project,
    recur_backward_in,
    recur_forward_in,
    t_product,
)
from ._nb_fused import fused_backward, fused_forward
from ._nb_recur import gather_prev
from .dispatch import Variant, choose
from .flat import flat_shapes, flat_spans, split_flat

__all__ = ["stack_forward", "stack_backward", "packed_layer_forward", "packed_layer_backward"]

Weights = Sequence[tuple[np.ndarray, np.ndarray, Any, Any]]
_C = np.ascontiguousarray


def _plan(x: np.ndarray, h0: np.ndarray, num_layers: int) -> Variant:
    NLD, N, H = h0.shape
    T = x.shape[0] if x.ndim == 2 else x.shape[0] * x.shape[1]  # rows, or (L, N, I) steps
    return choose(T, N, x.shape[-1], H, num_layers, NLD // num_layers)


# ---- the public twins -----------------------------------------------------------------------


def stack_forward(
    x: np.ndarray,
    batch_sizes: np.ndarray,
    h0: np.ndarray,
    weights: Weights,
    num_layers: int,
    relu: bool,
    masks: Sequence[np.ndarray] | None,
    keep: bool = True,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Compiled :func:`.stack_ref.stack_forward`: with ``keep=False`` the stack runs in
    one (T, D*H) buffer (:mod:`._blocks`; the fused path: in place)."""
    variant = _plan(x, h0, num_layers)
    return run_forward(variant, x, batch_sizes, h0, weights, num_layers, relu, masks, keep)


def stack_backward(
    x: np.ndarray,
    batch_sizes: np.ndarray,
    h0: np.ndarray,
    weights: Weights,
    num_layers: int,
    relu: bool,
    masks: Sequence[np.ndarray] | None,
    outs: Sequence[np.ndarray],
    g_out: np.ndarray,
    g_hn: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, list[tuple[np.ndarray, np.ndarray, np.ndarray]]]:
    """Compiled :func:`.stack_ref.stack_backward`."""
    variant = _plan(x, h0, num_layers)
    args = (x, batch_sizes, h0, weights, num_layers, relu, masks, outs, g_out, g_hn)
    return run_backward(variant, *args)


def run_forward(variant: Variant, x, batch_sizes, h0, weights, num_layers, relu, masks, keep=True):
    """:func:`stack_forward` with the variant given (tests force each one)."""
    if x.ndim == 3 and keep:  # rows: a copy unless time-major contiguous
        x = x.reshape(-1, x.shape[-1])
    x, h0, sizes = (_C(x) if x.ndim == 2 else x), _C(h0), _C(batch_sizes, dtype=np.int64)
    args = (x, sizes, h0, weights, num_layers, relu, masks, variant.mode)
    if variant.fused:  # (no BLAS call at all)
        return _fused_forward(*args, keep)
    held = hold_one_thread()  # OpenBLAS on this thread: elman's own threads only (.threads)
    try:
        return layered_forward(*args, variant.pairs, variant.rows, keep)
    finally:
        if held:
            release_one_thread()


def run_backward(
    variant: Variant, x, batch_sizes, h0, weights, num_layers, relu, masks, outs, g_out, g_hn
):
    """:func:`stack_backward` with the variant given."""
    x, h0, sizes = _C(x), _C(h0), _C(batch_sizes, dtype=np.int64)
    g_out, g_hn = _C(g_out), _C(g_hn)
    args = (x, sizes, h0, weights, num_layers, relu, masks, outs, g_out, g_hn, variant.mode)
    if variant.fused_backward:
        return _fused_backward(*args)
    held = hold_one_thread()
    try:
        return layered_backward(*args, variant.pairs, variant.rows)
    finally:
        if held:
            release_one_thread()


def packed_layer_forward(
    x: np.ndarray,
    batch_sizes: np.ndarray,
    h0: np.ndarray,
    w_ih: np.ndarray,
    w_hh: np.ndarray,
    b_ih: np.ndarray | None,
    b_hh: np.ndarray | None,
    reverse: bool,
    relu: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Compiled :func:`.rnn_ref.packed_layer_forward`: out (T, H), h_n (N, H)."""
    with single_threaded_blas():
        return _packed_layer_forward(x, batch_sizes, h0, w_ih, w_hh, b_ih, b_hh, reverse, relu)


def _packed_layer_forward(x, batch_sizes, h0, w_ih, w_hh, b_ih, b_hh, reverse, relu):
    x, h0 = _C(x), _C(h0)
    fptr = fptr_of(x.dtype)
    mode = plain_mode(choose(x.shape[0], h0.shape[0], x.shape[1], h0.shape[1], 1, 1).mode, fptr)
    out = np.empty((x.shape[0], w_ih.shape[0]), dtype=np.result_type(x, w_ih))
    project(np.matmul, x, w_ih, out)  # (T, H)
    H = h0.shape[1]
    bias = np.zeros(H, dtype=x.dtype) if b_ih is None else (b_ih + b_hh).astype(x.dtype)
    hn = np.empty_like(h0)
    sizes = _C(batch_sizes, dtype=np.int64)
    recur_forward_in(
        mode, fptr, out, 0, sizes, bias, h0, _C(w_hh, dtype=x.dtype), reverse, relu, hn
    )
    return out, hn


def packed_layer_backward(
    x: np.ndarray,
    batch_sizes: np.ndarray,
    h0: np.ndarray,
    w_ih: np.ndarray,
    w_hh: np.ndarray,
    out: np.ndarray,
    g_out: np.ndarray,
    g_hn: np.ndarray,
    reverse: bool,
    relu: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Compiled :func:`.rnn_ref.packed_layer_backward`: dx, dh0, dW_ih, dW_hh, db."""
    with single_threaded_blas():
        args = (x, batch_sizes, h0, w_ih, w_hh, out, g_out, g_hn, reverse, relu)
        return _packed_layer_backward(*args)


def _packed_layer_backward(x, batch_sizes, h0, w_ih, w_hh, out, g_out, g_hn, reverse, relu):
    x, h0, out, g_out = _C(x), _C(h0), _C(out), _C(g_out)
    fptr = fptr_of(x.dtype)
    mode = plain_mode(choose(x.shape[0], h0.shape[0], x.shape[1], h0.shape[1], 1, 1).mode, fptr)
    sizes = _C(batch_sizes, dtype=np.int64)
    delta, prev, dh0 = np.empty_like(out), np.empty_like(out), np.empty_like(h0)
    db = np.zeros(h0.shape[1])
    w = _C(w_hh, dtype=x.dtype)
    recur_backward_in(mode, fptr, out, g_out, 0, sizes, _C(g_hn), w, reverse, relu, delta, dh0, db)
    gather_prev(out, 0, sizes, h0, reverse, prev)
    dw_ih, dw_hh = t_product(np.matmul, delta, x), t_product(np.matmul, delta, prev)
    return delta @ w_ih, dh0, dw_ih, dw_hh, db.astype(x.dtype)


# ---- fused: one compiled call for the whole stack -------------------------------------------


def _pack_forward(weights: Weights, has_bias: bool, dtype: Any) -> np.ndarray:
    parts = [w.ravel() for ws in weights for w in (ws if has_bias else ws[:2])]
    return np.concatenate(parts).astype(dtype, copy=False)


def _masks3(masks: Sequence[np.ndarray] | None, shape: tuple[int, int], dtype: Any) -> np.ndarray:
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


def _fused_forward(x, sizes, h0, weights, num_layers, relu, masks, mode, keep=True):
    NLD, N, H = h0.shape
    T, DH = len_rows(x), NLD // num_layers * H
    has_bias = weights[0][2] is not None
    full = keep or _small_stack(x, num_layers, T, DH)
    outs = np.empty((num_layers if full else 1, T, DH), dtype=x.dtype)
    x = fused_rows(x, outs, full)
    hn = np.empty_like(h0)
    m = _masks3(masks, (T, DH), x.dtype)
    wbuf = _pack_forward(weights, has_bias, x.dtype)
    fused_forward(x, sizes, h0, wbuf, num_layers, has_bias, relu, m, outs, hn, not full)
    return list(outs if keep else outs[-1:]), hn


def _small_stack(x: np.ndarray, num_layers: int, T: int, DH: int) -> bool:
    """True when every layer's output and a copy of the input together fit in one scratch
    block: then a forward without a graph keeps them all, as with a graph (the same bits),
    and skips the lean row-at-a-time projection, which costs up to +40% on long tiny-H
    stacks; the memory beyond the output stays under one block either way."""
    return num_layers * T * DH + len_rows(x) * x.shape[-1] <= _blocks.BLOCK_ELEMENTS


def _fused_backward(x, sizes, h0, weights, num_layers, relu, masks, outs, g_out, g_hn, mode):
    NLD, N, H = h0.shape
    T, I = x.shape
    has_bias = weights[0][2] is not None
    m = _masks3(masks, (T, NLD // num_layers * H), x.dtype)
    wbuf = _pack_forward(weights, has_bias, x.dtype)
    dx, dh0, gbuf, db = fused_backward_flat(
        x, sizes, h0, wbuf, num_layers, has_bias, relu, _stacked(outs), g_out, g_hn, m
    )
    views = split_flat(gbuf, flat_spans(flat_shapes(I, H, num_layers, NLD // num_layers, has_bias)))
    step = 4 if has_bias else 2
    return dx, dh0, [(views[k * step], views[k * step + 1], db[k]) for k in range(NLD)]


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


def fused_forward_flat(x, sizes, h0, wbuf, num_layers, has_bias, relu, masks=None, keep=True):
    """The fused forward on weights already flat (:mod:`.flat` layout): outs
    (NL, T, D*H) and hn. ``x``, ``sizes``, ``h0`` and ``wbuf`` contiguous, one dtype.
    ``keep=False``: outs (1, T, D*H), the last layer's output only (see fused_forward),
    and ``x`` may be (L, N, I) time-major of any strides (:func:`fused_rows`)."""
    NLD, N, H = h0.shape
    T, DH = len_rows(x), NLD // num_layers * H
    full = keep or _small_stack(x, num_layers, T, DH)
    outs = np.empty((num_layers if full else 1, T, DH), dtype=x.dtype)
    x = fused_rows(x, outs, full)
    hn = np.empty_like(h0)
    m = _NO_MASKS[x.dtype] if masks is None else masks
    fused_forward(x, sizes, h0, wbuf, num_layers, has_bias, relu, m, outs, hn, not full)
    return (outs if keep else outs[-1:]), hn


def fused_backward_flat(
    x, sizes, h0, wbuf, num_layers, has_bias, relu, outs, g_out, g_hn, masks=None
):
    """BPTT of :func:`fused_forward_flat`: dx, dh0, the gradients flat as ``wbuf`` (both
    bias slots hold db) and db (NL*D, H)."""
    dx, dh0, gbuf = np.empty_like(x), np.empty_like(h0), np.empty_like(wbuf)
    db = np.empty(h0.shape[::2], dtype=x.dtype)
    m = _NO_MASKS[x.dtype] if masks is None else masks
    fused_backward(
        x, sizes, h0, wbuf, num_layers, has_bias, relu, m, outs, g_out, g_hn, dx, dh0, gbuf, db
    )
    return dx, dh0, gbuf, db


_NO_MASKS = {  # "no dropout" for the fused kernels, shared (they never write masks)
    np.dtype(np.float32): np.empty((0, 0, 0), np.float32),
    np.dtype(np.float64): np.empty((0, 0, 0), np.float64),
}
