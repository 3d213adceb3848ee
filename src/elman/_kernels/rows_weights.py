"""The weight gradients and dX of the ``rows`` variant's BPTT, made inside its loop.

The layered backward's products over all steps read delta (T, D*H) again after BPTT
wrote it: dW_hh = sum_t delta_t.T h_{t-1} and dW_ih = sum_t delta_t.T x_t, two GEMMs of
K = T rows each. In ``layered-rows`` (GEMM mode, a dense batch in two halves, one per
thread) each thread adds its rows' share of both, step by step, right after it computed
delta_t (:func:`backward_gemm_rows_dw`: two BLAS calls of K = its rows,
while delta_t is in cache and h_{t-1} is about to be read anyway), and the two threads'
shares are added at the end. Per thread this costs what its half of the two products
cost (the step's (H x k) @ (k x H) runs at the big GEMM's rate), without the second pass
over delta and the outputs and without the products' own hand-over; it also splits
dW_hh between the threads where the product over all steps stayed on one
(``TWO_THREAD_MIN_ROWS``: H < 128). The sums run in another order than one GEMM's (a
rounding difference, ~1e-7 relative in float32).

The same holds for dX = delta @ W_ih (the layer input's gradient, a product over all steps
after the BPTT, with its own hand-over): each thread makes its rows' share step by step
(the ``dx`` of :func:`backward_gemm_rows_dw`: one BLAS call (k x H) @ (H x In) a step, at
the big product's rate at I = 16, H = 128). (The forward's projection x @ W_ih.T was tried
the same way and not kept: a product of k rows rounds apart from the one over all steps for
wider inputs (OpenBLAS's small-matrix kernels), so the forward with a graph would no longer
give the bits of the forward without one, which runs the projection in blocks.)
"""

from __future__ import annotations

import numpy as np
from numba import njit

from . import scratch
from ._blas import NO_TRANS, gemm, gemm_pointers, gemm_tn
from ._jit import NOGIL
from .array_loops import contiguous as _C
from .handover import run_pair
from .recurrence import add_partial
from .recurrence_gemm import gemm_step_delta

__all__ = [
    "backward_gemm_rows_dw",
    "rows_backward_weights",
    "layer_rows_backward",
]


@njit(**NOGIL)
def backward_gemm_rows_dw(
    out, g, c0, N, W, reverse, relu, fptr, delta, dh, db, r0, r1, x, dw_hh, dw_ih, need_dh0,
    w_ih, dx, dx_acc,
):  # fmt: skip
    """:func:`.recurrence_gemm.backward_gemm_rows` for a dense batch (every step N rows)
    that also sums its rows' share of the weight gradients while delta_t is in cache: dw_hh +=
    delta_t.T @ h_{t-1} for every step but the sequence's first (its term, with h0, is the
    caller's: :func:`.layer_products.add_first_term`), dw_ih += delta_t.T @ x_t for every
    step (none where dw_ih has no columns); and, where dx has rows, the layer input's
    gradient of its rows, dx_t (=, or += with ``dx_acc``) delta_t @ W_ih, in the same pass
    (no product over all steps reading delta again, no hand-over of its own). Without
    ``need_dh0`` the first step's product, which only makes dh0, is skipped (dh's rows are
    then not dh0's).

    Args:
        out: (T, D*H) the forward's h_t (read)
        g: (T, D*H) gradient of the layer's output
        c0: first column of this direction in the layer arrays (0, or H for the reverse one)
        N: the batch: rows of every step (T = L * N)
        W: (H, H) W_hh, C-contiguous
        reverse: walk the steps from the last to the first (the reverse direction)
        relu: ReLU, else tanh
        fptr: address of NumPy's CBLAS ?gemm for the dtype (_blas.gemm_pointers)
        delta: (T, D*H) out: dL/dz_t in this direction's columns
        dh: (N, >= H) gradient of the state: g_hn's rows on entry, dh0's on exit
        db: (H,) float64 += this window's bias gradient
        r0: first batch row this call runs
        r1: end of the batch rows this call runs
        x: (T, In) the layer's input, unit column stride (read when dw_ih has columns)
        dw_hh: (H, H) C-contiguous, += this window's sum
        dw_ih: (H, In or 0) C-contiguous, += this window's sum
        need_dh0: dh0 is read (else the first step's product is skipped)
        w_ih: (H, In) W_ih, C-contiguous (read when dx has rows)
        dx: (T, In) C-contiguous: its rows of this window get delta_t @ W_ih; (0, In): none
        dx_acc: dx += the product (the second direction), else dx = it
    """
    H = W.shape[0]
    In = dw_ih.shape[1]
    Ix = dx.shape[1] if dx.shape[0] > 0 else 0
    L = out.shape[0] // N if N > 0 else 0
    part = np.empty(H, dtype=dh.dtype)
    blk = np.zeros(H)
    k = r1 - r0
    for s in range(L):
        t = s if reverse else L - 1 - s
        o = t * N
        gemm_step_delta(out, g, c0, o, r0, r1, H, relu, delta, dh, part)
        add_partial(db, 0, blk, part, H, s, L)
        if k > 0:
            if In > 0:
                gemm_tn(fptr, H, In, k, delta, o + r0, c0, x, o + r0, 0, dw_ih)
            if Ix > 0:
                gemm(fptr, NO_TRANS, k, Ix, H, delta, o + r0, c0, w_ih, dx_acc, dx, o + r0, 0)
            if s < L - 1:  # the states this step consumed: the walk's next step's
                p = (t + 1 if reverse else t - 1) * N
                gemm_tn(fptr, H, H, k, delta, o + r0, c0, out, p + r0, c0, dw_hh)
            if s < L - 1 or need_dh0:
                gemm(fptr, NO_TRANS, k, H, H, delta, o + r0, c0, W, False, dh, r0, 0)
    return True


def rows_backward_weights(out, g, c0, g_hn, w_hh, reverse, relu, fptr, delta, db, x, dw_hh, dw_ih,
                          need_dh0=True, w_ih=None, dx=None, dx_acc=False):  # fmt: skip
    """:func:`rows_recur_backward` (GEMM mode) of a dense batch that also makes the weight
    gradients: each thread sums its rows' share of dW_hh and dW_ih step by step while the
    step's delta_t is in cache (:func:`backward_gemm_rows_dw`), so no
    product over all steps reads delta again; the two shares are added here. dW_hh lacks
    the first step's term (delta_first.T @ h0: :func:`.layer_products.add_first_term`).

    Args:
        out: (T, D*H) the forward's h_t (read), T = L * N
        g: (T, D*H) gradient of the layer's output
        c0: first column of this direction in the layer arrays (0, or H for the reverse one)
        g_hn: (N, H) gradient of h_n
        w_hh: (H, H) W_hh, torch's layout
        reverse: walk the steps from the last to the first (the reverse direction)
        relu: ReLU, else tanh
        fptr: address of NumPy's CBLAS ?gemm for the dtype (_blas.gemm_pointers)
        delta: (T, D*H) out: dL/dz_t in this direction's columns
        db: (H,) float64: += the bias gradient
        x: (T, In) the layer's input, unit column stride
        dw_hh: (H, H) C-contiguous, zeros on entry: dW_hh but the first step's term on exit
        dw_ih: (H, In) C-contiguous, zeros on entry: dW_ih on exit
        need_dh0: the gradient of h0 is wanted
        w_ih: (H, In) W_ih, C-contiguous, with dx
        dx: (T, In) C-contiguous: = (or += with ``dx_acc``) delta @ W_ih; None: not made
        dx_acc: dx += the product

    Returns:
        dh0 (N, H) (None without ``need_dh0``)
    """
    N = g_hn.shape[0]
    k = N // 2 if N >= 2 else N  # (split_recurrence.row_split of a dense batch)
    db1, hh1, ih1 = np.zeros_like(db), np.zeros_like(dw_hh), np.zeros_like(dw_ih)
    dh = g_hn.copy()
    W = _C(w_hh)
    if dx is None:
        w_ih = dx = np.empty((0, 0), dtype=delta.dtype)
    run_pair(
        backward_gemm_rows_dw,
        (out, g, c0, N, W, reverse, relu, fptr, delta, dh, db, 0, k, x, dw_hh, dw_ih, need_dh0,
         w_ih, dx, dx_acc),
        (out, g, c0, N, W, reverse, relu, fptr, delta, dh, db1, k, N, x, hh1, ih1, need_dh0,
         w_ih, dx, dx_acc),
    )  # fmt: skip
    db += db1
    dw_hh += hh1
    dw_ih += ih1
    return dh if need_dh0 else None


def layer_rows_backward(stack, layer_in, layer, out, g, g_hn, delta, db, dh0, need_dh0,
                        need_dx=False):  # fmt: skip
    """BPTT of one layer of a dense batch in ``rows`` GEMM mode, the weight gradients and
    the input's gradient made inside each thread's loop (:func:`rows_backward_weights`):
    (dW_ih (D*H, In) of both directions, [dW_hh of each direction but its first step's
    term, which the caller adds: :func:`.layer_products.add_first_term`], dX (T, In) summed
    over the directions, None without ``need_dx``); delta, db and dh0 (with ``need_dh0``)
    as :func:`recur_backward_in` leaves them.

    Args:
        stack: the call's Stack (x (T, I), sizes, h0, weights, num_layers, relu, masks)
        layer_in: (T, In) the layer's input (stack_ref.layer_input)
        layer: the layer
        out: (T, D*H) its output, C-contiguous
        g: (T, D*H) gradient of its output
        g_hn: (NL*D, N, H) gradient of h_n
        delta: (T, D*H) out: dL/dz
        db: (D*H,) float64: += the bias gradients
        dh0: (NL*D, N, H) out: the gradient of h0 (with need_dh0)
        need_dh0: a gradient of h0 is wanted
        need_dx: the layer input's gradient is wanted (a scratch array: .scratch)
    """
    x, sizes, h0, weights, num_layers, relu, masks = stack
    D = h0.shape[0] // num_layers
    H = h0.shape[2]
    fptr = gemm_pointers()[0 if x.dtype == np.float32 else 1]
    if layer_in.strides[1] != layer_in.itemsize:
        layer_in = _C(layer_in)
    In = layer_in.shape[1]
    dw_ih = np.zeros((D * H, In), dtype=x.dtype)
    dx = scratch.empty((out.shape[0], In), x.dtype) if need_dx else None
    dw_hh = []
    for d in range(D):
        k, c0 = layer * D + d, d * H
        w_hh, cols = _C(weights[k][1], dtype=x.dtype), slice(c0, c0 + H)
        w_ih = _C(weights[k][0], dtype=x.dtype) if need_dx else None
        hh = np.zeros((H, H), dtype=x.dtype)
        dh = rows_backward_weights(
            out, g, c0, g_hn[k], w_hh, d == 1, relu, fptr, delta, db[cols], layer_in, hh,
            dw_ih[cols], need_dh0, w_ih, dx, d > 0,
        )  # fmt: skip
        if dh is not None:
            dh0[k] = dh
        dw_hh.append(hh)
    return dw_ih, dw_hh, dx
