"""Compiled twins (numba) of the stack and packed-layer kernels: same signatures, same results.

:func:`stack_forward` / :func:`stack_backward` are what the package calls, once per RNN
forward and backward. :mod:`.dispatch` picks the variant from the problem's shape:

* ``fused``: one compiled call for the whole stack (:mod:`._nb_fused`);
* ``layered``: per layer one NumPy GEMM for the input projection of all steps (both
  directions at once), the recurrence compiled (:mod:`._nb_recur`, or :mod:`._nb_split` on
  two threads), and after BPTT one GEMM each for dW_ih, dW_hh and dX (the bias gradient is
  summed inside the BPTT loop).

See :mod:`.stack_ref` and :mod:`.rnn_ref` for the math, the shapes and the packed layout.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numba import config as numba_config

from . import _jit  # noqa: F401  (numba's environment: see _jit; the package imports it first)
from ._blas import gemm_pointers, single_threaded_blas
from ._nb_fused import fused_backward, fused_forward
from ._nb_ops import DOT, GEMM, OUTER
from ._nb_recur import (
    gather_prev,
    recur_backward,
    recur_backward_gemm,
    recur_forward,
    recur_forward_gemm,
)
from ._nb_simd import pack_columns
from ._nb_split import (
    matmul2,
    rows_recur_backward,
    rows_recur_forward,
    run_pair,
    split_recur_backward,
    split_recur_forward,
)
from ._nb_wave import wave_pair_forward
from .dispatch import SPLIT, Variant, choose
from .flat import flat_shapes, flat_spans, split_flat

__all__ = ["stack_forward", "stack_backward", "packed_layer_forward", "packed_layer_backward"]

Weights = Sequence[tuple[np.ndarray, np.ndarray, Any, Any]]
_C = np.ascontiguousarray


def _fptr(dtype: np.dtype) -> int:
    s, d = gemm_pointers()
    return s if dtype == np.float32 else d


def _mode(mode: Any, fptr: int) -> Any:
    """GEMM needs NumPy's BLAS address, SPLIT and OUTER compiled code: DOT stands in."""
    if mode is GEMM and not fptr:
        return DOT
    if (mode is SPLIT or mode is OUTER) and numba_config.DISABLE_JIT:
        return DOT
    return mode


def _plain(mode: Any, fptr: int) -> Any:
    """The single-thread mode for the one-layer twins (SPLIT runs as OUTER there)."""
    return _mode(OUTER if mode is SPLIT else mode, fptr)


def _plan(x: np.ndarray, h0: np.ndarray, num_layers: int) -> Variant:
    NLD, N, H = h0.shape
    return choose(x.shape[0], N, x.shape[1], H, num_layers, NLD // num_layers)


def _recur_forward(mode, fptr, out, c0, sizes, bias, h0, w_hh, reverse, relu, hn, rows=False):
    """One direction's recurrence, in place on ``out`` (columns c0:c0+H), in ``mode``
    (``rows``: GEMM with the batch split between two threads)."""
    if mode is SPLIT:
        split_recur_forward(out, c0, sizes, bias, h0, w_hh, reverse, relu, hn)
    elif mode is GEMM and rows:
        rows_recur_forward(out, c0, sizes, bias, h0, w_hh, reverse, relu, fptr, hn)
    elif mode is GEMM:
        recur_forward_gemm(out, c0, sizes, bias, h0, _C(w_hh.T), reverse, relu, fptr, hn)
    elif mode is OUTER:
        P = pack_columns(w_hh.T)
        recur_forward(out, c0, sizes, bias, h0, P, P, reverse, relu, mode, hn)
    else:
        recur_forward(out, c0, sizes, bias, h0, w_hh, _C(w_hh.T), reverse, relu, mode, hn)


def _recur_backward(
    mode, fptr, out, g, c0, sizes, g_hn, w_hh, reverse, relu, delta, dh0, db, rows=False
):
    """One direction's BPTT: delta's columns c0:c0+H, dh0, and db += the bias gradient."""
    if mode is SPLIT:
        split_recur_backward(out, g, c0, sizes, g_hn, w_hh, reverse, relu, delta, dh0, db)
    elif mode is GEMM and rows:
        args = (out, g, c0, sizes, g_hn, w_hh, reverse, relu, fptr, delta, dh0, db)
        rows_recur_backward(*args)
    elif mode is GEMM:
        recur_backward_gemm(out, g, c0, sizes, g_hn, w_hh, reverse, relu, fptr, delta, dh0, db)
    elif mode is OUTER:  # dh = delta_t @ W_hh: W_hh is the packed operand here
        P = pack_columns(w_hh)
        recur_backward(out, g, c0, sizes, g_hn, P, P, reverse, relu, mode, delta, dh0, db)
    else:
        args = (out, g, c0, sizes, g_hn, w_hh, _C(w_hh.T), reverse, relu, mode, delta, dh0, db)
        recur_backward(*args)


# ---- the public twins -----------------------------------------------------------------------


def stack_forward(
    x: np.ndarray,
    batch_sizes: np.ndarray,
    h0: np.ndarray,
    weights: Weights,
    num_layers: int,
    relu: bool,
    masks: Sequence[np.ndarray] | None,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Compiled :func:`.stack_ref.stack_forward`."""
    variant = _plan(x, h0, num_layers)
    return run_forward(variant, x, batch_sizes, h0, weights, num_layers, relu, masks)


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


def run_forward(variant: Variant, x, batch_sizes, h0, weights, num_layers, relu, masks):
    """:func:`stack_forward` with the variant given (tests force each one)."""
    x, h0, sizes = _C(x), _C(h0), _C(batch_sizes, dtype=np.int64)
    args = (x, sizes, h0, weights, num_layers, relu, masks, variant.mode)
    if variant.fused:  # (no BLAS call at all)
        return _fused_forward(*args)
    if variant.one_blas_thread:
        with single_threaded_blas():
            return _layered_forward(*args, variant.pairs, variant.rows)
    return _layered_forward(*args)


def run_backward(
    variant: Variant, x, batch_sizes, h0, weights, num_layers, relu, masks, outs, g_out, g_hn
):
    """:func:`stack_backward` with the variant given."""
    x, h0, sizes = _C(x), _C(h0), _C(batch_sizes, dtype=np.int64)
    g_out, g_hn = _C(g_out), _C(g_hn)
    args = (x, sizes, h0, weights, num_layers, relu, masks, outs, g_out, g_hn, variant.mode)
    if variant.fused_backward:
        return _fused_backward(*args)
    if variant.one_blas_thread:
        with single_threaded_blas():
            return _layered_backward(*args, variant.pairs, variant.rows)
    return _layered_backward(*args)


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
    x, h0 = _C(x), _C(h0)
    fptr = _fptr(x.dtype)
    mode = _plain(choose(x.shape[0], h0.shape[0], x.shape[1], h0.shape[1], 1, 1).mode, fptr)
    out = np.matmul(x, w_ih.T)  # (T, H)
    H = h0.shape[1]
    bias = np.zeros(H, dtype=x.dtype) if b_ih is None else (b_ih + b_hh).astype(x.dtype)
    hn = np.empty_like(h0)
    sizes = _C(batch_sizes, dtype=np.int64)
    _recur_forward(mode, fptr, out, 0, sizes, bias, h0, _C(w_hh, dtype=x.dtype), reverse, relu, hn)
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
    x, h0, out, g_out = _C(x), _C(h0), _C(out), _C(g_out)
    fptr = _fptr(x.dtype)
    mode = _plain(choose(x.shape[0], h0.shape[0], x.shape[1], h0.shape[1], 1, 1).mode, fptr)
    sizes = _C(batch_sizes, dtype=np.int64)
    delta, prev, dh0 = np.empty_like(out), np.empty_like(out), np.empty_like(h0)
    db = np.zeros(h0.shape[1])
    w = _C(w_hh, dtype=x.dtype)
    _recur_backward(mode, fptr, out, g_out, 0, sizes, _C(g_hn), w, reverse, relu, delta, dh0, db)
    gather_prev(out, 0, sizes, h0, reverse, prev)
    return delta @ w_ih, dh0, delta.T @ x, delta.T @ prev, db.astype(x.dtype)


# ---- fused: one compiled call for the whole stack -------------------------------------------


def _pack_forward(weights: Weights, has_bias: bool, dtype: Any) -> np.ndarray:
    parts = [w.ravel() for ws in weights for w in (ws if has_bias else ws[:2])]
    return np.concatenate(parts).astype(dtype, copy=False)


def _masks3(masks: Sequence[np.ndarray] | None, shape: tuple[int, int], dtype: Any) -> np.ndarray:
    if masks is None or len(masks) == 0:
        return np.empty((0, *shape), dtype=dtype)
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


def _fused_forward(x, sizes, h0, weights, num_layers, relu, masks, mode):
    NLD, N, H = h0.shape
    T, DH = x.shape[0], NLD // num_layers * H
    has_bias = weights[0][2] is not None
    outs = np.empty((num_layers, T, DH), dtype=x.dtype)
    hn = np.empty_like(h0)
    m = _masks3(masks, (T, DH), x.dtype)
    wbuf = _pack_forward(weights, has_bias, x.dtype)
    fused_forward(x, sizes, h0, wbuf, num_layers, has_bias, relu, m, outs, hn)
    return list(outs), hn


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


def fused_forward_flat(x, sizes, h0, wbuf, num_layers, has_bias, relu, masks=None):
    """The fused forward on weights already flat (:mod:`.flat` layout): outs
    (NL, T, D*H) and hn. ``x``, ``sizes``, ``h0`` and ``wbuf`` contiguous, one dtype."""
    NLD, N, H = h0.shape
    T, DH = x.shape[0], NLD // num_layers * H
    outs = np.empty((num_layers, T, DH), dtype=x.dtype)
    hn = np.empty_like(h0)
    m = _NO_MASKS[x.dtype] if masks is None else masks
    fused_forward(x, sizes, h0, wbuf, num_layers, has_bias, relu, m, outs, hn)
    return outs, hn


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


# ---- layered: GEMMs over all steps in NumPy, the recurrence compiled ------------------------


def _cat_w_ih(ws: Weights) -> np.ndarray:
    return ws[0][0] if len(ws) == 1 else np.concatenate([w[0] for w in ws])  # (D*H, In)


def _bias(ws: Weights, H: int, dtype: Any) -> list[np.ndarray]:
    """b_ih + b_hh per direction (zeros without bias): added inside the recurrence."""
    if ws[0][2] is None:
        return [np.zeros(H, dtype=dtype)] * len(ws)
    return [(b_ih + b_hh).astype(dtype, copy=False) for _, _, b_ih, b_hh in ws]


def _layered_forward(x, sizes, h0, weights, num_layers, relu, masks, mode, pairs=False, rows=False):
    NLD, N, H = h0.shape
    D = NLD // num_layers
    fptr = _fptr(x.dtype)
    mode = _mode(mode, fptr)
    pairs = pairs and mode is SPLIT
    rows = rows and mode is GEMM and not numba_config.DISABLE_JIT
    matmul = matmul2 if mode is SPLIT or rows else np.matmul
    outs = np.empty((num_layers, x.shape[0], D * H), dtype=x.dtype)
    hn = np.empty_like(h0)
    layer_in = x
    layer = 0
    while layer < num_layers:
        ws = weights[layer * D : (layer + 1) * D]
        out = outs[layer]
        matmul(layer_in, _cat_w_ih(ws).T, out)  # every step's projection, (T, D*H)
        biases = _bias(ws, H, x.dtype)
        if pairs and D == 2:  # the two directions side by side
            args = (out, sizes, biases, h0[layer * 2 :], [w[1] for w in ws], relu)
            _directions_forward(*args, hn[layer * 2 :])
        elif pairs and layer + 1 < num_layers:  # this layer and the next side by side
            pair = slice(layer, layer + 2)
            upper = weights[layer + 1]
            mask = None if masks is None else masks[layer]
            w_hh = (weights[layer][1], upper[1])
            bias = (biases[0], _bias([upper], H, x.dtype)[0])
            args = (out, outs[layer + 1], sizes, bias, h0[pair], w_hh, upper[0], mask, relu)
            wave_pair_forward(*args, fptr, hn[pair])
            layer += 1
            out = outs[layer]
        else:
            for d, ((_, w_hh, _, _), bias) in enumerate(zip(ws, biases, strict=True)):
                k, c0 = layer * D + d, d * H
                w_hh = _C(w_hh, dtype=x.dtype)
                args = (out, c0, sizes, bias, h0[k], w_hh, d == 1, relu, hn[k], rows)
                _recur_forward(mode, fptr, *args)
        last = masks is None or layer == num_layers - 1
        layer_in = out if last else out * masks[layer]
        layer += 1
    return list(outs), hn


def _directions_forward(out, sizes, biases, h0, w_hh, relu, hn):
    """Both directions of one layer at once, one thread each (OUTER loops): columns 0:H of
    ``out`` forward in time, H:2H in reverse; h0 and hn: the layer's two (N, H) states."""
    H = h0.shape[2]

    def direction(d: int) -> tuple:
        P = pack_columns(w_hh[d].T, out.dtype)
        return (out, d * H, sizes, biases[d], h0[d], P, P, d == 1, relu, OUTER, hn[d])

    run_pair(recur_forward, direction(0), direction(1))


def _directions_backward(out, g, sizes, g_hn, w_hh, relu, delta, dh0, db):
    """BPTT of both directions of one layer at once, one thread each (see
    :func:`_directions_forward`); db (2H,) float64 receives both bias gradients."""
    H = g_hn.shape[2]

    def direction(d: int) -> tuple:
        P = pack_columns(w_hh[d], out.dtype)  # dh = delta_t @ W_hh: W_hh is packed here
        cols = slice(d * H, (d + 1) * H)
        args = (out, g, d * H, sizes, g_hn[d], P, P, d == 1, relu, OUTER, delta, dh0[d])
        return (*args, db[cols])

    run_pair(recur_backward, direction(0), direction(1))


def _dw_hh(matmul, delta, out, prev, sizes, h0, c0, H, reverse):
    """delta_d.T @ (the states each step consumed), without gathering them when dense."""
    cols = slice(c0, c0 + H)
    T, N = delta.shape[0], h0.shape[0]
    if T == 0:
        return np.zeros((H, H), dtype=delta.dtype)
    if T != N * len(sizes):  # packed: gather the previous states
        gather_prev(out, c0, sizes, h0, reverse, prev)
        return matmul(delta[:, cols].T, prev[:, cols])
    first, rest = (slice(T - N, T), slice(0, T - N)) if reverse else (slice(0, N), slice(N, T))
    neighbours = slice(N, T) if reverse else slice(0, T - N)
    dw = matmul(delta[rest, cols].T, out[neighbours, cols])
    dw += delta[first, cols].T @ h0
    return dw


def _layered_backward(
    x, sizes, h0, weights, num_layers, relu, masks, outs, g_out, g_hn, mode, pairs=False, rows=False
):
    NLD, N, H = h0.shape
    D = NLD // num_layers
    T = x.shape[0]
    fptr = _fptr(x.dtype)
    mode = _mode(mode, fptr)
    pairs = pairs and mode is SPLIT and D == 2
    rows = rows and mode is GEMM and not numba_config.DISABLE_JIT
    matmul = matmul2 if mode is SPLIT or rows else np.matmul
    dh0 = np.empty_like(h0)
    grads: list[Any] = [None] * NLD
    g = g_out
    dense = T == N * len(sizes)
    for layer in reversed(range(num_layers)):
        if layer == 0:
            layer_in = x
        elif masks is None:
            layer_in = outs[layer - 1]
        else:
            layer_in = outs[layer - 1] * masks[layer - 1]
        ws = weights[layer * D : (layer + 1) * D]
        out = _C(outs[layer])
        delta = np.empty((T, D * H), dtype=x.dtype)
        prev = None if dense else np.empty((T, D * H), dtype=x.dtype)
        db = np.zeros(D * H)  # float64 partial sums, one per step
        if pairs:
            w_hh = [w[1] for w in ws]
            args = (out, g, sizes, g_hn[layer * 2 :], w_hh, relu, delta, dh0[layer * 2 :], db)
            _directions_backward(*args)
        else:
            for d, (_, w_hh, _, _) in enumerate(ws):
                k, c0 = layer * D + d, d * H
                w_hh, cols = _C(w_hh, dtype=x.dtype), slice(c0, c0 + H)
                args = (out, g, c0, sizes, g_hn[k], w_hh, d == 1, relu, delta, dh0[k], db[cols])
                _recur_backward(mode, fptr, *args, rows)
        dw_ih = matmul(delta.T, layer_in)  # (D*H, In): both directions in one GEMM
        db = db.astype(x.dtype)
        for d in range(D):
            k, cols = layer * D + d, slice(d * H, (d + 1) * H)
            dw_hh = _dw_hh(matmul, delta, out, prev, sizes, h0[k], d * H, H, d == 1)
            grads[k] = (dw_ih[cols], dw_hh, db[cols])
        g_in = matmul(delta, _cat_w_ih(ws))  # (T, In): summed over directions
        g = g_in if layer == 0 or masks is None else g_in * masks[layer - 1]
    return g, dh0, grads
