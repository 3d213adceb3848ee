"""The layered path of the compiled stack: per layer, the input projection of all steps,
the weight gradients and dX are NumPy GEMMs over all steps; only the sequential part runs
compiled, in the step mode of the variant :mod:`.dispatch` chose (one thread: AXPY, DOT,
OUTER, GEMM; two threads: SPLIT, the batch in two halves (``rows``: GEMM or WIDE), and
``pairs`` of independent recurrences). :func:`forward` / :func:`backward` are the layered
variants' entry points.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import scratch
from ._blas import gemm_pointers, hold_one_thread, release_one_thread
from .array_loops import contiguous as _C
from .blocked_forward import layer_views, project_blocks, wave_blocks
from .bptt_steps import layer_bptt, replaces_gemm, serves
from .direction_pairs import directions_backward, directions_forward
from .first_step import direct, first_backward, first_rows, pays, zero_start
from .layer_pipeline import wave_pair_forward
from .layer_products import (
    add_first_term,
    dw_hh_of,
    input_grad,
    products_for,
    project,
    project_all,
    projector,
    t_product,
)
from .modes import AXPY, DOT, GEMM, OUTER, SPLIT
from .recurrence import recur_backward, recur_forward
from .recurrence_gemm import recur_backward_gemm, recur_forward_gemm
from .rows_weights import layer_rows_backward
from .simd_products import pack_columns
from .split_recurrence import (
    rows_recur_backward,
    rows_recur_forward,
    split_recur_backward,
    split_recur_forward,
)
from .stack_ref import Stack, Weights, layer_input

__all__ = [
    "forward",
    "backward",
    "fptr_of",
    "recur_forward_in",
    "recur_backward_in",
    "layered_forward",
    "layered_backward",
    "project",
    "t_product",
]


def forward(variant: Any, stack: Stack, keep: bool = True) -> tuple[list[np.ndarray], np.ndarray]:
    """The layered variants' forward entry (:func:`layered_forward`), OpenBLAS held on
    this thread meanwhile: elman's own threads only (.threads)."""
    held = hold_one_thread()
    try:
        return layered_forward(stack, variant, keep)
    finally:
        if held:
            release_one_thread()


def backward(
    variant: Any,
    stack: Stack,
    outs: Any,
    g_out: np.ndarray,
    g_hn: np.ndarray,
    need_dx=True,
    need_dh0=True,
) -> Any:
    """The layered backward entry (:func:`layered_backward`), of the ``fused-forward*``
    variants too."""
    held = hold_one_thread()
    try:
        return layered_backward(stack, variant, outs, g_out, g_hn, need_dx, need_dh0)
    finally:
        if held:
            release_one_thread()


def fptr_of(dtype: np.dtype) -> int:
    s, d = gemm_pointers()
    return s if dtype == np.float32 else d


def recur_forward_in(mode, fptr, out, c0, sizes, bias, h0, w_hh, reverse, relu, hn, rows=False):
    """One direction's recurrence, in place on ``out`` (columns c0:c0+H), in ``mode``
    (``rows``: the batch split between two threads, for mode GEMM or WIDE).

    Args:
        mode: the step product: a modes.Mode (Python side) or its token (compiled side)
        fptr: address of NumPy's CBLAS ?gemm for the dtype (_blas.gemm_pointers), 0 without
        out: (T, D*H) x_t W_ih^T + ... on entry, h_t on exit (columns c0:c0+H)
        c0: first column of this direction in the layer arrays (0, or H for the reverse one)
        sizes: (L,) int64 batch_sizes: rows active at each step
        bias: (H,) b_ih + b_hh
        h0: (N, H) initial state
        w_hh: (H, H) W_hh of the layer's dtype
        reverse: walk the steps from the last to the first (the reverse direction)
        relu: ReLU, else tanh
        hn: (N, H) out: each sequence's state after its last step
        rows: the batch split between two threads (variant ``rows``; mode GEMM or WIDE)
    """
    rest = zero_start(out, c0, sizes, bias, h0, w_hh, reverse, relu)
    if rest is not None:  # the first step is done; the others start from its states
        out, sizes, h0 = rest
        if len(sizes) == 0:
            hn[...] = h0
            return
    if mode is SPLIT:
        split_recur_forward(out, c0, sizes, bias, h0, w_hh, reverse, relu, hn)
    elif rows:
        rows_recur_forward(out, c0, sizes, bias, h0, w_hh, reverse, relu, fptr, hn, mode)
    elif mode is GEMM or (mode is OUTER and fptr and direct(sizes, w_hh.shape[0], True)):
        WT = w_hh.T if direct(sizes, w_hh.shape[0], True) else _C(w_hh.T)  # (F: no copy)
        recur_forward_gemm(out, c0, sizes, bias, h0, WT, reverse, relu, fptr, hn)
    elif mode is OUTER:
        P = pack_columns(w_hh.T)
        recur_forward(out, c0, sizes, bias, h0, P, P, reverse, relu, mode.token, hn)
    else:
        recur_forward(out, c0, sizes, bias, h0, w_hh, _C(w_hh.T), reverse, relu, mode.token, hn)


def recur_backward_in(
    mode,
    fptr,
    out,
    g,
    c0,
    sizes,
    g_hn,
    w_hh,
    reverse,
    relu,
    delta,
    dh0,
    db,
    rows=False,
    need_dh0=True,
):
    """One direction's BPTT: delta's columns c0:c0+H, dh0, and db += the bias gradient.
    Without ``need_dh0`` dh0 is left unwritten and the first step runs apart, without the
    product that only makes dh0 (:mod:`.first_step`).

    Args:
        mode: the step product: a modes.Mode (Python side) or its token (compiled side)
        fptr: address of NumPy's CBLAS ?gemm for the dtype (_blas.gemm_pointers), 0 without
        out: (T, D*H) the forward's h_t
        g: (T, D*H) gradient of the layer's output
        c0: first column of this direction in the layer arrays (0, or H for the reverse one)
        sizes: (L,) int64 batch_sizes: rows active at each step
        g_hn: (N, H) gradient of h_n
        w_hh: (H, H) W_hh of the layer's dtype
        reverse: walk the steps from the last to the first (the reverse direction)
        relu: ReLU, else tanh
        delta: (T, D*H) out: dL/dz_t in this direction's columns
        dh0: (N, H) out: gradient of h0
        db: (H,) float64: += the bias gradient
        rows: the batch split between two threads (variant ``rows``; mode GEMM or WIDE)
        need_dh0: dh0 is read (a gradient of h0 is wanted)
    """
    first = first_rows(out.shape[0], sizes, reverse) if len(sizes) and not need_dh0 else None
    if first is not None and pays(first[1], g_hn.shape[1], not len(first[3])):  # no dh0 product
        o, n, rest, rest_sizes = first
        dh = g_hn  # the gradient of the first step's states: g_hn's, and the later steps'
        if len(rest_sizes):
            dh = np.empty_like(g_hn)
            o_, g_, d_ = out[rest], g[rest], delta[rest]
            recur_backward_in(
                mode, fptr, o_, g_, c0, rest_sizes, g_hn, w_hh, reverse, relu, d_, dh, db, rows
            )  # fmt: skip
        first_backward(out, g, o, n, c0, dh, relu, delta, db)
        return
    if mode is SPLIT:
        split_recur_backward(out, g, c0, sizes, g_hn, w_hh, reverse, relu, delta, dh0, db)
    elif rows:
        rows_recur_backward(
            out, g, c0, sizes, g_hn, w_hh, reverse, relu, fptr, delta, dh0, db, mode
        )
    elif mode is GEMM or (mode is OUTER and fptr and direct(sizes, w_hh.shape[0], False)):
        recur_backward_gemm(out, g, c0, sizes, g_hn, w_hh, reverse, relu, fptr, delta, dh0, db)
    elif mode is OUTER:  # dh = delta_t @ W_hh: W_hh is the packed operand here
        P = pack_columns(w_hh)
        recur_backward(out, g, c0, sizes, g_hn, P, P, reverse, relu, mode.token, delta, dh0, db)
    else:
        WT = _C(w_hh.T)
        recur_backward(out, g, c0, sizes, g_hn, w_hh, WT, reverse, relu, mode.token, delta, dh0, db)


def _bias(ws: Weights, H: int, dtype: Any) -> list[np.ndarray]:
    """b_ih + b_hh per direction (zeros without bias): added inside the recurrence."""
    if ws[0][2] is None:
        return [np.zeros(H, dtype=dtype)] * len(ws)
    return [(b_ih + b_hh).astype(dtype, copy=False) for _, _, b_ih, b_hh in ws]


def layered_forward(stack: Stack, variant: Any, keep: bool = True) -> Any:
    """Every layer's output (NL, T, D*H), as views, and h_n. ``keep=False`` (a forward whose
    outputs no backward reads): only the last layer's, every layer in one buffer of a
    block more than (T, D*H) (:func:`.blocked_forward.layer_views`), and ``x`` may be (L, N, I)
    time-major of any strides."""
    x, sizes, h0, weights, num_layers, relu, masks = stack
    NLD, N, H = h0.shape
    if not keep and H == 1:
        # one output column: NumPy calls ?gemv, whose last rows of a call round apart from
        # the same rows inside a longer call; only whole products give the same bits here
        outs, hn = layered_forward(stack._replace(x=_C(x.reshape(-1, x.shape[-1]))), variant)
        return outs[-1:], hn
    D = NLD // num_layers
    fptr = fptr_of(x.dtype)
    mode, pairs, rows = variant.mode, variant.pairs, variant.rows
    T = x.shape[0] if x.ndim == 2 else x.shape[0] * x.shape[1]
    matmul = products_for(variant)
    if keep:  # (an earlier call's buffer when nothing holds it: no fresh pages to fault in)
        outs = scratch.empty((num_layers, T, D * H), x.dtype)
    else:
        outs = layer_views(T, D * H, num_layers, x.dtype)
    hn = np.empty_like(h0)
    layer_in = x
    layer = 0
    while layer < num_layers:
        ws = weights[layer * D : (layer + 1) * D]
        out = outs[layer]
        below = None if masks is None or layer == 0 else masks[layer - 1]
        in_blocks = pairs and D == 1 and layer + 1 < num_layers and not keep
        in_blocks = in_blocks and np.may_share_memory(out, outs[layer + 1])
        if keep:
            project_all(matmul, layer_in, ws, out)  # every step's projection, (T, D*H)
        elif not in_blocks:  # (the wavefront in blocks projects its lower layer itself)
            project_blocks(projector(matmul, ws, T), layer_in, below, out)
        biases = _bias(ws, H, x.dtype)
        if pairs and D == 2:  # the two directions side by side
            w_hh = [w[1] for w in ws]
            directions_forward(out, sizes, biases, h0[layer * 2 :], w_hh, relu, hn[layer * 2 :])
        elif pairs and layer + 1 < num_layers:  # this layer and the next side by side
            pair = slice(layer, layer + 2)
            upper = weights[layer + 1]
            mask = None if masks is None else masks[layer]
            w_hh = (weights[layer][1], upper[1])
            bias = (biases[0], _bias([upper], H, x.dtype)[0])
            if in_blocks:  # (layer + 1 goes where layer_in was: they share the buffer rows)
                wave_blocks(
                    projector(matmul, ws, T),
                    layer_in,
                    below,
                    outs[layer + 1],
                    sizes,
                    bias,
                    h0[pair],
                    w_hh,
                    upper[0],
                    mask,
                    relu,
                    fptr,
                    hn[pair],
                )
            else:
                wave_pair_forward(
                    out,
                    outs[layer + 1],
                    sizes,
                    bias,
                    h0[pair],
                    w_hh,
                    upper[0],
                    mask,
                    relu,
                    fptr,
                    hn[pair],
                )
            layer += 1
            out = outs[layer]
        else:
            for d, ((_, w_hh, _, _), bias) in enumerate(zip(ws, biases, strict=True)):
                k, c0 = layer * D + d, d * H
                w_hh = _C(w_hh, dtype=x.dtype)
                recur_forward_in(
                    mode, fptr, out, c0, sizes, bias, h0[k], w_hh, d == 1, relu, hn[k], rows
                )
        last = masks is None or layer == num_layers - 1
        if keep:
            layer_in = out if last else out * masks[layer]
        else:  # (its mask is applied a block at a time by the next projection)
            layer_in = out
        layer += 1
    return (list(outs) if keep else [out]), hn


def layered_backward(
    stack: Stack,
    variant: Any,
    outs: Any,
    g_out: Any,
    g_hn: Any,
    need_dx: bool = True,
    need_dh0: bool = True,
) -> Any:
    """BPTT of :func:`layered_forward`: dx (None without ``need_dx``: no product for it),
    dh0 (None without ``need_dh0``: no product for it either) and per (layer, direction)
    (dW_ih, dW_hh, db). ``pairs`` pairs the two directions of a layer (a unidirectional
    stack's backward runs as ``split``)."""
    x, sizes, h0, weights, num_layers, relu, masks = stack
    NLD, N, H = h0.shape
    D = NLD // num_layers
    T = x.shape[0]
    fptr = fptr_of(x.dtype)
    mode, pairs, rows = variant.mode, variant.pairs and D == 2, variant.rows
    matmul = products_for(variant)
    dh0 = np.empty_like(h0)
    grads: list[Any] = [None] * NLD
    g = g_out
    dense = T == N * len(sizes)
    zero = None if h0.any() else True  # h0 checked once a call, not per layer and direction
    # the BPTT of small H (bptt_steps): a row's state in one or two vectors, dW_hh in its
    # step loop where that is cheaper than the GEMM after it (else dw_hhs is None); for the
    # loop modes, and for the GEMM mode over a few rows (its BLAS call a step costs more)
    loops = mode in (AXPY, DOT, OUTER) and serves(H, x.dtype)
    few = mode is GEMM and replaces_gemm(N, H, x.dtype)
    vector = (loops or few) and not (pairs or rows)
    for layer in reversed(range(num_layers)):
        ws = weights[layer * D : (layer + 1) * D]
        out = _C(outs[layer])
        delta = scratch.empty((T, D * H), x.dtype)
        prev = None if dense else np.empty((T, D * H), dtype=x.dtype)
        db = np.zeros(D * H)  # float64 partial sums, one per step
        in_loop = rows and mode is GEMM and dense and T > 0  # weight gradients in the loop
        dw_hhs = dx = None
        if in_loop:  # (the rows' BPTT sums dW_ih, dX and dW_hh but its first step's term)
            layer_in = layer_input(x, outs, masks, layer)
            dw_ih, dw_hhs, dx = layer_rows_backward(
                stack, layer_in, layer, out, g, g_hn, delta, db, dh0, need_dh0, layer > 0 or need_dx
            )  # fmt: skip
            for d in range(D):
                add_first_term(dw_hhs[d], delta, h0[layer * D + d], d * H, H, d == 1)
        elif vector:
            ks = slice(layer * D, (layer + 1) * D)
            w_hh = [w[1] for w in ws]
            dw_hhs = layer_bptt(
                out, g, sizes, g_hn[ks], h0[ks], w_hh, relu, need_dh0, delta, dh0[ks], db
            )  # fmt: skip
        elif pairs:
            w_hh = [w[1] for w in ws]
            pair = slice(layer * 2, layer * 2 + 2)
            dh0_ = dh0[pair]
            directions_backward(out, g, sizes, g_hn[pair], w_hh, relu, delta, dh0_, db, need_dh0)
        else:
            for d, (_, w_hh, _, _) in enumerate(ws):
                k, c0 = layer * D + d, d * H
                w_hh, cols = _C(w_hh, dtype=x.dtype), slice(c0, c0 + H)
                recur_backward_in(
                    mode, fptr, out, g, c0, sizes, g_hn[k], w_hh, d == 1, relu, delta, dh0[k],
                    db[cols], rows, need_dh0,
                )  # fmt: skip
        # each (T, D*H) array is let go as soon as it is spent (g here: a layer's incoming
        # gradient is one of ours below the top), so that at most the saved outputs, g_out,
        # g and delta live at once (a masked layer input only while dW_ih needs it)
        g = None
        if not in_loop:
            layer_in = layer_input(x, outs, masks, layer)
            dw_ih = t_product(matmul, delta, layer_in)  # (D*H, In): both directions, one GEMM
        layer_in = None
        db = db.astype(x.dtype)
        for d in range(D):
            k, cols = layer * D + d, slice(d * H, (d + 1) * H)
            if dw_hhs is None:
                dw_hh = dw_hh_of(matmul, delta, out, prev, sizes, h0[k], d * H, H, d == 1, zero)
            else:
                dw_hh = dw_hhs[d]
            grads[k] = (dw_ih[cols], dw_hh, db[cols])
        prev = None
        if layer == 0 and not need_dx:
            break
        In = ws[0][0].shape[1]  # (a reused array: a fresh one faults its pages in)
        g = dx if in_loop else input_grad(matmul, delta, ws, scratch.empty((T, In), x.dtype))
        delta = None
        if layer > 0 and masks is not None:
            g *= masks[layer - 1]  # in place: g is a fresh array
    return g, (dh0 if need_dh0 else None), grads
