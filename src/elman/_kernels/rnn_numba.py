"""Compiled twins (numba) of the stack and packed-layer kernels: same signatures, same results.

:func:`stack_forward` / :func:`stack_backward` are what the package calls, once per RNN
forward and backward. :mod:`.dispatch` picks the variant from the problem's shape:

* ``fused``: one compiled call for the whole stack (:mod:`._nb_fused`);
* ``layered``: per layer one NumPy GEMM for the input projection of all steps (both
  directions at once), the recurrence compiled (:mod:`._nb_recur`), and after BPTT one GEMM
  each for dW_ih, dW_hh and dX (bias gradients are one sum).

See :mod:`.stack_ref` and :mod:`.rnn_ref` for the math, the shapes and the packed layout.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import _jit  # noqa: F401  (configures numba before it is imported)
from ._blas import gemm_pointers
from ._nb_fused import fused_backward, fused_forward
from ._nb_recur import gather_prev, recur_backward, recur_forward
from .dispatch import Variant, choose

__all__ = ["stack_forward", "stack_backward", "packed_layer_forward", "packed_layer_backward"]

Weights = Sequence[tuple[np.ndarray, np.ndarray, Any, Any]]
_C = np.ascontiguousarray


def _fptr(dtype: np.dtype) -> int:
    s, d = gemm_pointers()
    return s if dtype == np.float32 else d


def _plan(x: np.ndarray, h0: np.ndarray, num_layers: int) -> Variant:
    NLD, N, H = h0.shape
    return choose(x.shape[0], N, x.shape[1], H, num_layers, NLD // num_layers)


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


def run_forward(variant: Variant, x, batch_sizes, h0, weights, num_layers, relu, masks):  # noqa: ANN001, ANN201
    """:func:`stack_forward` with the variant given (tests force each one)."""
    x, h0, sizes = _C(x), _C(h0), _C(batch_sizes, dtype=np.int64)
    if variant.fused:
        return _fused_forward(x, sizes, h0, weights, num_layers, relu, masks, variant.mode)
    return _layered_forward(x, sizes, h0, weights, num_layers, relu, masks, variant.mode)


def run_backward(variant: Variant, x, batch_sizes, h0, weights, num_layers, relu, masks, outs, g_out, g_hn):  # noqa: ANN001, ANN201, E501
    """:func:`stack_backward` with the variant given."""
    x, h0, sizes = _C(x), _C(h0), _C(batch_sizes, dtype=np.int64)
    g_out, g_hn = _C(g_out), _C(g_hn)
    args = (x, sizes, h0, weights, num_layers, relu, masks, outs, g_out, g_hn, variant.mode)
    return (_fused_backward if variant.fused else _layered_backward)(*args)


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
    mode = choose(x.shape[0], h0.shape[0], x.shape[1], h0.shape[1], 1, 1).mode
    out = np.matmul(x, w_ih.T)  # (T, H)
    if b_ih is not None:
        out += b_ih + b_hh
    hn = np.empty_like(h0)
    sizes = _C(batch_sizes, dtype=np.int64)
    W, WT = _C(w_hh, dtype=x.dtype), _C(w_hh.T, dtype=x.dtype)
    recur_forward(out, 0, sizes, h0, W, WT, reverse, relu, mode, _fptr(x.dtype), hn)
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
    mode = choose(x.shape[0], h0.shape[0], x.shape[1], h0.shape[1], 1, 1).mode
    sizes = _C(batch_sizes, dtype=np.int64)
    delta, prev, dh0 = np.empty_like(out), np.empty_like(out), np.empty_like(h0)
    W, WT, fptr = _C(w_hh, dtype=x.dtype), _C(w_hh.T, dtype=x.dtype), _fptr(x.dtype)
    recur_backward(out, g_out, 0, sizes, _C(g_hn), W, WT, reverse, relu, mode, fptr, delta, dh0)
    gather_prev(out, 0, sizes, h0, reverse, prev)
    return delta @ w_ih, dh0, delta.T @ x, delta.T @ prev, delta.sum(axis=0)


# ---- fused: one compiled call for the whole stack -------------------------------------------


def _pack_forward(weights: Weights, has_bias: bool, dtype: Any) -> np.ndarray:
    parts: list[np.ndarray] = []
    for w_ih, w_hh, b_ih, b_hh in weights:
        parts += [w_ih.T, w_hh.T, b_ih, b_hh] if has_bias else [w_ih.T, w_hh.T]
    return np.concatenate(parts, axis=None, dtype=dtype)


def _pack_backward(weights: Weights, dtype: Any) -> np.ndarray:
    return np.concatenate([w for ws in weights for w in ws[:2]], axis=None, dtype=dtype)


def _masks3(masks: Sequence[np.ndarray] | None, shape: tuple[int, int], dtype: Any) -> np.ndarray:
    if masks is None or len(masks) == 0:
        return np.empty((0, *shape), dtype=dtype)
    if len(masks) == 1:
        return _C(masks[0], dtype=dtype)[None]
    return np.stack(masks).astype(dtype, copy=False)


def _stacked(outs: Sequence[np.ndarray]) -> np.ndarray:
    """(NL, T, D*H) from the per-layer outputs, without a copy when they are our own views."""
    base = outs[0].base
    if (
        isinstance(base, np.ndarray)
        and base.ndim == 3
        and base.shape[0] == len(outs)
        and base.flags.c_contiguous
        and all(o.shape == base.shape[1:] and o.ctypes.data == base[i].ctypes.data
                for i, o in enumerate(outs))
    ):  # fmt: skip
        return base
    return np.stack(outs)


def _fused_forward(x, sizes, h0, weights, num_layers, relu, masks, mode):  # noqa: ANN001, ANN202
    NLD, N, H = h0.shape
    DH = NLD // num_layers * H
    has_bias = weights[0][2] is not None
    outs = np.empty((num_layers, x.shape[0], DH), dtype=x.dtype)
    hn = np.empty_like(h0)
    m = _masks3(masks, (x.shape[0], DH), x.dtype)
    wbuf = _pack_forward(weights, has_bias, x.dtype)
    fused_forward(x, sizes, h0, wbuf, num_layers, has_bias, relu, m, outs, hn)
    return list(outs), hn


def _fused_backward(x, sizes, h0, weights, num_layers, relu, masks, outs, g_out, g_hn, mode):  # noqa: ANN001, ANN202
    NLD, N, H = h0.shape
    D = NLD // num_layers
    T, I = x.shape
    dx, dh0 = np.empty_like(x), np.empty_like(h0)
    sizes_in = [I if k < D else D * H for k in range(NLD)]
    gbuf = np.empty(sum(H * n + H * H + H for n in sizes_in), dtype=x.dtype)
    m = _masks3(masks, (T, D * H), x.dtype)
    fused_backward(x, sizes, h0, _pack_backward(weights, x.dtype), num_layers, relu, m,
                   _stacked(outs), g_out, g_hn, dx, dh0, gbuf)  # fmt: skip
    grads, q = [], 0
    for n in sizes_in:
        dw_ih = gbuf[q : q + H * n].reshape(H, n)
        dw_hh = gbuf[q + H * n : q + H * n + H * H].reshape(H, H)
        q += H * n + H * H + H
        grads.append((dw_ih, dw_hh, gbuf[q - H : q]))
    return dx, dh0, grads


# ---- layered: GEMMs over all steps in NumPy, the recurrence compiled ------------------------


def _cat_w_ih(ws: Weights) -> np.ndarray:
    return ws[0][0] if len(ws) == 1 else np.concatenate([w[0] for w in ws])  # (D*H, In)


def _layered_forward(x, sizes, h0, weights, num_layers, relu, masks, mode):  # noqa: ANN001, ANN202
    NLD, N, H = h0.shape
    D = NLD // num_layers
    fptr = _fptr(x.dtype)
    outs = np.empty((num_layers, x.shape[0], D * H), dtype=x.dtype)
    hn = np.empty_like(h0)
    layer_in = x
    for layer in range(num_layers):
        ws = weights[layer * D : (layer + 1) * D]
        out = outs[layer]
        np.matmul(layer_in, _cat_w_ih(ws).T, out=out)  # every step's projection, (T, D*H)
        if ws[0][2] is not None:
            out += np.concatenate([b_ih + b_hh for _, _, b_ih, b_hh in ws])
        for d, (_, w_hh, _, _) in enumerate(ws):
            k = layer * D + d
            W, WT = _C(w_hh, dtype=x.dtype), _C(w_hh.T, dtype=x.dtype)
            recur_forward(out, d * H, sizes, h0[k], W, WT, d == 1, relu, mode, fptr, hn[k])
        last = masks is None or layer == num_layers - 1
        layer_in = out if last else out * masks[layer]
    return list(outs), hn


def _layered_backward(x, sizes, h0, weights, num_layers, relu, masks, outs, g_out, g_hn, mode):  # noqa: ANN001, ANN202
    NLD, N, H = h0.shape
    D = NLD // num_layers
    T = x.shape[0]
    fptr = _fptr(x.dtype)
    dh0 = np.empty_like(h0)
    grads: list[Any] = [None] * NLD
    g = g_out
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
        prev = np.empty((T, D * H), dtype=x.dtype)
        for d, (_, w_hh, _, _) in enumerate(ws):
            k = layer * D + d
            W, WT = _C(w_hh, dtype=x.dtype), _C(w_hh.T, dtype=x.dtype)
            recur_backward(out, g, d * H, sizes, g_hn[k], W, WT, d == 1, relu, mode, fptr, delta,
                           dh0[k])  # fmt: skip
            gather_prev(out, d * H, sizes, h0[k], d == 1, prev)
        dw_ih = delta.T @ layer_in  # (D*H, In): both directions in one GEMM
        db = delta.sum(axis=0)
        for d in range(D):
            cols = slice(d * H, (d + 1) * H)
            grads[layer * D + d] = (dw_ih[cols], delta[:, cols].T @ prev[:, cols], db[cols])
        g_in = delta @ _cat_w_ih(ws)  # (T, In): summed over directions
        g = g_in if layer == 0 or masks is None else g_in * masks[layer - 1]
    return g, dh0, grads
