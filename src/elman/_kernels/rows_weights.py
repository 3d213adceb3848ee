"""The weight gradients of the ``rows`` variant's BPTT, made inside its loop.

The layered backward's products over all steps read delta (T, D*H) again after BPTT
wrote it: dW_hh = sum_t delta_t.T h_{t-1} and dW_ih = sum_t delta_t.T x_t, two GEMMs of
K = T rows each. In ``layered-rows`` (GEMM mode, a dense batch in two halves, one per
thread) each thread adds its rows' share of both, step by step, right after it computed
delta_t (:func:`.recurrence_gemm.backward_gemm_rows_dw`: two BLAS calls of K = its rows,
while delta_t is in cache and h_{t-1} is about to be read anyway), and the two threads'
shares are added at the end. Per thread this costs what its half of the two products
cost (the step's (H x k) @ (k x H) runs at the big GEMM's rate), without the second pass
over delta and the outputs and without the products' own hand-over; it also splits
dW_hh between the threads where the product over all steps stayed on one
(``TWO_THREAD_MIN_ROWS``: H < 128). The sums run in another order than one GEMM's (a
rounding difference, ~1e-7 relative in float32).
"""

from __future__ import annotations

import numpy as np

from ._blas import gemm_pointers
from .array_loops import contiguous as _C
from .handover import run_pair
from .layer_products import add_first_term
from .recurrence_gemm import backward_gemm_rows_dw
from .split_recurrence import row_split
from .stack_ref import layer_input

__all__ = ["rows_backward_weights", "layer_rows_backward"]


def rows_backward_weights(out, g, c0, g_hn, w_hh, reverse, relu, fptr, delta, db, x, dw_hh, dw_ih,
                          need_dh0=True):  # fmt: skip
    """:func:`rows_recur_backward` (GEMM mode) of a dense batch that also makes the weight
    gradients: each thread sums its rows' share of dW_hh and dW_ih step by step while the
    step's delta_t is in cache (:func:`.recurrence_gemm.backward_gemm_rows_dw`), so no
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

    Returns:
        dh0 (N, H) (None without ``need_dh0``)
    """
    N = g_hn.shape[0]
    k = row_split(np.full(1, N, dtype=np.int64), N)
    db1, hh1, ih1 = np.zeros_like(db), np.zeros_like(dw_hh), np.zeros_like(dw_ih)
    dh = g_hn.copy()
    W = _C(w_hh)
    run_pair(
        backward_gemm_rows_dw,
        (out, g, c0, N, W, reverse, relu, fptr, delta, dh, db, 0, k, x, dw_hh, dw_ih, need_dh0),
        (out, g, c0, N, W, reverse, relu, fptr, delta, dh, db1, k, N, x, hh1, ih1, need_dh0),
    )
    db += db1
    dw_hh += hh1
    dw_ih += ih1
    return dh if need_dh0 else None


def layer_rows_backward(stack, outs, layer, out, g, g_hn, delta, db, dh0, need_dh0):
    """BPTT of one layer of a dense batch in ``rows`` GEMM mode, the weight gradients
    summed inside each thread's loop (:func:`.split_recurrence.rows_backward_weights`):
    (dW_ih (D*H, In) of both directions, [dW_hh of each direction]); delta, db and dh0
    (with ``need_dh0``) as :func:`recur_backward_in` leaves them.

    Args:
        stack: the call's Stack (x (T, I), sizes, h0, weights, num_layers, relu, masks)
        outs: every layer's output (T, D*H) as the forward left them
        layer: the layer
        out: (T, D*H) its output, C-contiguous
        g: (T, D*H) gradient of its output
        g_hn: (NL*D, N, H) gradient of h_n
        delta: (T, D*H) out: dL/dz
        db: (D*H,) float64: += the bias gradients
        dh0: (NL*D, N, H) out: the gradient of h0 (with need_dh0)
        need_dh0: a gradient of h0 is wanted
    """
    x, sizes, h0, weights, num_layers, relu, masks = stack
    D = h0.shape[0] // num_layers
    H = h0.shape[2]
    fptr = gemm_pointers()[0 if x.dtype == np.float32 else 1]
    layer_in = layer_input(x, outs, masks, layer)
    if layer_in.strides[1] != layer_in.itemsize:
        layer_in = _C(layer_in)
    dw_ih = np.zeros((D * H, layer_in.shape[1]), dtype=x.dtype)
    dw_hh = []
    for d in range(D):
        k, c0 = layer * D + d, d * H
        w_hh, cols = _C(weights[k][1], dtype=x.dtype), slice(c0, c0 + H)
        hh = np.zeros((H, H), dtype=x.dtype)
        dh = rows_backward_weights(
            out, g, c0, g_hn[k], w_hh, d == 1, relu, fptr, delta, db[cols], layer_in, hh,
            dw_ih[cols], need_dh0,
        )  # fmt: skip
        if dh is not None:
            dh0[k] = dh
        add_first_term(hh, delta, h0[k], c0, H, d == 1)
        dw_hh.append(hh)
    return dw_ih, dw_hh
