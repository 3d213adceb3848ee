"""The layered path of the compiled stack: per layer, the input projection of all steps,
the weight gradients and dX are NumPy GEMMs over all steps; only the sequential part runs
compiled, in the step mode of the variant :mod:`.dispatch` chose (one thread: AXPY, DOT,
OUTER, GEMM; two threads: SPLIT, the batch in two halves (``rows``: GEMM or WIDE), and
``pairs`` of independent recurrences). :func:`forward` / :func:`backward` are the layered
variants' entry points.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np
from numba import config as numba_config

from ._blas import gemm_pointers, hold_one_thread, release_one_thread, two_threads_allowed
from ._blocks import layer_views, project_blocks, wave_blocks
from ._nb_ops import outer_into
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
    split_recur_backward,
    split_recur_forward,
)
from ._nb_wave import wave_pair_forward
from ._pair import run_pair
from .config import TWO_THREAD_PRODUCT
from .modes import GEMM, OUTER, SPLIT
from .stack_ref import layer_input

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

Weights = Sequence[tuple[np.ndarray, np.ndarray, Any, Any]]
_C = np.ascontiguousarray


def forward(variant, x, sizes, h0, weights, num_layers, relu, masks, keep=True):
    """The layered variants' forward entry (:func:`layered_forward`), OpenBLAS held on
    this thread meanwhile: elman's own threads only (.threads)."""
    held = hold_one_thread()
    try:
        return layered_forward(x, sizes, h0, weights, num_layers, relu, masks, variant, keep)
    finally:
        if held:
            release_one_thread()


def backward(variant, x, sizes, h0, weights, num_layers, relu, masks, outs, g_out, g_hn):
    """The layered backward entry (:func:`layered_backward`), of the ``fused-forward*``
    variants too."""
    held = hold_one_thread()
    try:
        args = (x, sizes, h0, weights, num_layers, relu, masks, outs, g_out, g_hn)
        return layered_backward(*args, variant)
    finally:
        if held:
            release_one_thread()


def _products(two_threads: bool, work: int) -> Any:
    """The matmul for the products of all steps, the largest ``work`` multiply-adds: split
    between the two threads (all of them for a two-thread variant; big ones otherwise,
    when two threads are allowed)."""
    if two_threads:
        return matmul2
    if work >= TWO_THREAD_PRODUCT and two_threads_allowed():
        return partial(matmul2, min_work=TWO_THREAD_PRODUCT)
    return np.matmul


def fptr_of(dtype: np.dtype) -> int:
    s, d = gemm_pointers()
    return s if dtype == np.float32 else d


def recur_forward_in(mode, fptr, out, c0, sizes, bias, h0, w_hh, reverse, relu, hn, rows=False):
    """One direction's recurrence, in place on ``out`` (columns c0:c0+H), in ``mode``
    (``rows``: the batch split between two threads, for mode GEMM or WIDE)."""
    if mode is SPLIT:
        split_recur_forward(out, c0, sizes, bias, h0, w_hh, reverse, relu, hn)
    elif rows:
        rows_recur_forward(out, c0, sizes, bias, h0, w_hh, reverse, relu, fptr, hn, mode)
    elif mode is GEMM:
        recur_forward_gemm(out, c0, sizes, bias, h0, _C(w_hh.T), reverse, relu, fptr, hn)
    elif mode is OUTER:
        P = pack_columns(w_hh.T)
        recur_forward(out, c0, sizes, bias, h0, P, P, reverse, relu, mode.token, hn)
    else:
        WT = _C(w_hh.T)
        recur_forward(out, c0, sizes, bias, h0, w_hh, WT, reverse, relu, mode.token, hn)


def recur_backward_in(
    mode, fptr, out, g, c0, sizes, g_hn, w_hh, reverse, relu, delta, dh0, db, rows=False
):
    """One direction's BPTT: delta's columns c0:c0+H, dh0, and db += the bias gradient."""
    if mode is SPLIT:
        split_recur_backward(out, g, c0, sizes, g_hn, w_hh, reverse, relu, delta, dh0, db)
    elif rows:
        args = (out, g, c0, sizes, g_hn, w_hh, reverse, relu, fptr, delta, dh0, db)
        rows_recur_backward(*args, mode)
    elif mode is GEMM:
        recur_backward_gemm(out, g, c0, sizes, g_hn, w_hh, reverse, relu, fptr, delta, dh0, db)
    elif mode is OUTER:  # dh = delta_t @ W_hh: W_hh is the packed operand here
        P = pack_columns(w_hh)
        recur_backward(out, g, c0, sizes, g_hn, P, P, reverse, relu, mode.token, delta, dh0, db)
    else:
        WT = _C(w_hh.T)
        recur_backward(out, g, c0, sizes, g_hn, w_hh, WT, reverse, relu, mode.token, delta, dh0, db)


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


def _project_all(matmul: Any, x: np.ndarray, ws: Weights, out: np.ndarray) -> None:
    """out (T, D*H) = x @ [W_ih of each direction].T."""
    if _apart(x.shape[0], ws):
        H = ws[0][0].shape[0]
        for d, w in enumerate(ws):
            project(matmul, x, w[0], out[:, d * H : (d + 1) * H])
    else:
        project(matmul, x, _cat_w_ih(ws), out)


def _input_grad(matmul: Any, delta: np.ndarray, ws: Weights) -> np.ndarray:
    """delta (T, D*H) @ [W_ih of each direction]: the layer input's gradient (T, In)."""
    if not _apart(delta.shape[0], ws):
        return matmul(delta, _cat_w_ih(ws))
    H = ws[0][0].shape[0]
    g = matmul(delta[:, :H], ws[0][0])
    g += matmul(delta[:, H:], ws[1][0])
    return g


def _projector(matmul: Any, ws: Weights, T: int) -> Any:
    """For :mod:`._blocks`: ``proj(a, o)``, o = a @ [W_ih of each direction].T for a block of
    rows, the directions apart or together as :func:`_project_all` would put them for all T
    rows, so that each row comes out as from one product over all rows."""
    H = ws[0][0].shape[0]
    if _apart(T, ws):
        parts = [(w[0], slice(d * H, (d + 1) * H)) for d, w in enumerate(ws)]
    else:
        parts = [(_cat_w_ih(ws), slice(None))]
    return partial(_project_parts, matmul, parts)


def _project_parts(matmul: Any, parts: list, a: np.ndarray, o: np.ndarray) -> None:
    for w, cols in parts:
        project(matmul, a, w, o[:, cols])


def _cat_w_ih(ws: Weights) -> np.ndarray:
    return ws[0][0] if len(ws) == 1 else np.concatenate([w[0] for w in ws])  # (D*H, In)


def _bias(ws: Weights, H: int, dtype: Any) -> list[np.ndarray]:
    """b_ih + b_hh per direction (zeros without bias): added inside the recurrence."""
    if ws[0][2] is None:
        return [np.zeros(H, dtype=dtype)] * len(ws)
    return [(b_ih + b_hh).astype(dtype, copy=False) for _, _, b_ih, b_hh in ws]


def layered_forward(x, sizes, h0, weights, num_layers, relu, masks, variant, keep=True):
    """Every layer's output (NL, T, D*H), as views, and h_n. ``keep=False`` (a forward whose
    outputs no backward reads): only the last layer's, every layer in one buffer of a
    block more than (T, D*H) (:func:`._blocks.layer_views`), and ``x`` may be (L, N, I)
    time-major of any strides."""
    NLD, N, H = h0.shape
    if not keep and H == 1:
        # one output column: NumPy calls ?gemv, whose last rows of a call round apart from
        # the same rows inside a longer call; only whole products give the same bits here
        x = _C(x.reshape(-1, x.shape[-1]))
        outs, hn = layered_forward(x, sizes, h0, weights, num_layers, relu, masks, variant)
        return outs[-1:], hn
    D = NLD // num_layers
    fptr = fptr_of(x.dtype)
    mode, pairs, rows = variant.mode, variant.pairs, variant.rows
    T = x.shape[0] if x.ndim == 2 else x.shape[0] * x.shape[1]
    matmul = _products(variant.two_threads, T * D * H * max(x.shape[-1], D * H))
    if keep:
        outs = np.empty((num_layers, T, D * H), dtype=x.dtype)
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
            _project_all(matmul, layer_in, ws, out)  # every step's projection, (T, D*H)
        elif not in_blocks:  # (the wavefront in blocks projects its lower layer itself)
            project_blocks(_projector(matmul, ws, T), layer_in, below, out)
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
            if in_blocks:  # (layer + 1 goes where layer_in was: they share the buffer rows)
                args = (sizes, bias, h0[pair], w_hh, upper[0], mask, relu, fptr, hn[pair])
                wave_blocks(_projector(matmul, ws, T), layer_in, below, outs[layer + 1], *args)
            else:
                args = (out, outs[layer + 1], sizes, bias, h0[pair], w_hh, upper[0], mask, relu)
                wave_pair_forward(*args, fptr, hn[pair])
            layer += 1
            out = outs[layer]
        else:
            for d, ((_, w_hh, _, _), bias) in enumerate(zip(ws, biases, strict=True)):
                k, c0 = layer * D + d, d * H
                w_hh = _C(w_hh, dtype=x.dtype)
                args = (out, c0, sizes, bias, h0[k], w_hh, d == 1, relu, hn[k], rows)
                recur_forward_in(mode, fptr, *args)
        last = masks is None or layer == num_layers - 1
        if keep:
            layer_in = out if last else out * masks[layer]
        else:  # (its mask is applied a block at a time by the next projection)
            layer_in = out
        layer += 1
    return (list(outs) if keep else [out]), hn


def _directions_forward(out, sizes, biases, h0, w_hh, relu, hn):
    """Both directions of one layer at once, one thread each (OUTER loops): columns 0:H of
    ``out`` forward in time, H:2H in reverse; h0 and hn: the layer's two (N, H) states."""
    H = h0.shape[2]

    def direction(d: int) -> tuple:
        P = pack_columns(w_hh[d].T, out.dtype)
        return (out, d * H, sizes, biases[d], h0[d], P, P, d == 1, relu, OUTER.token, hn[d])

    run_pair(recur_forward, direction(0), direction(1))


def _directions_backward(out, g, sizes, g_hn, w_hh, relu, delta, dh0, db):
    """BPTT of both directions of one layer at once, one thread each (see
    :func:`_directions_forward`); db (2H,) float64 receives both bias gradients."""
    H = g_hn.shape[2]

    def direction(d: int) -> tuple:
        P = pack_columns(w_hh[d], out.dtype)  # dh = delta_t @ W_hh: W_hh is packed here
        cols = slice(d * H, (d + 1) * H)
        args = (out, g, d * H, sizes, g_hn[d], P, P, d == 1, relu, OUTER.token, delta, dh0[d])
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
    dw = t_product(np.matmul, delta[first, cols], h0)
    if T > N:
        dw += matmul(delta[rest, cols].T, out[neighbours, cols])
    return dw


def t_product(matmul: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a.T @ b, a sum over the rows of a and b. One row (a single step of one sequence):
    an outer product, in a compiled loop (NumPy's matmul runs it without BLAS, ~10x slower)."""
    if a.shape[0] == 1 and a.dtype == b.dtype and not numba_config.DISABLE_JIT:
        out = np.empty((a.shape[1], b.shape[1]), dtype=a.dtype)
        outer_into(_C(a[0]), _C(b[0]), out)
        return out
    return matmul(a.T, b)


def layered_backward(x, sizes, h0, weights, num_layers, relu, masks, outs, g_out, g_hn, variant):
    """BPTT of :func:`layered_forward`: dx, dh0 and per (layer, direction) (dW_ih, dW_hh,
    db). ``pairs`` pairs the two directions of a layer (a unidirectional stack's backward
    runs as ``split``)."""
    NLD, N, H = h0.shape
    D = NLD // num_layers
    T = x.shape[0]
    fptr = fptr_of(x.dtype)
    mode, pairs, rows = variant.mode, variant.pairs and D == 2, variant.rows
    matmul = _products(variant.two_threads, T * D * H * max(x.shape[1], D * H))
    dh0 = np.empty_like(h0)
    grads: list[Any] = [None] * NLD
    g = g_out
    dense = T == N * len(sizes)
    for layer in reversed(range(num_layers)):
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
                recur_backward_in(mode, fptr, *args, rows)
        # each (T, D*H) array is let go as soon as it is spent (g here: a layer's incoming
        # gradient is one of ours below the top), so that at most the saved outputs, g_out,
        # g and delta live at once (a masked layer input only while dW_ih needs it)
        g = args = None  # (args held g too)
        layer_in = layer_input(x, outs, masks, layer)
        dw_ih = t_product(matmul, delta, layer_in)  # (D*H, In): both directions, one GEMM
        layer_in = None
        db = db.astype(x.dtype)
        for d in range(D):
            k, cols = layer * D + d, slice(d * H, (d + 1) * H)
            dw_hh = _dw_hh(matmul, delta, out, prev, sizes, h0[k], d * H, H, d == 1)
            grads[k] = (dw_ih[cols], dw_hh, db[cols])
        prev = None
        g = _input_grad(matmul, delta, ws)  # (T, In): summed over directions
        delta = None
        if layer > 0 and masks is not None:
            g *= masks[layer - 1]  # in place: g is a fresh array
    return g, dh0, grads
