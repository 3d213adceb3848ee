"""Compiled twins of :mod:`.rnn_ref`'s packed one-layer kernels (same signatures, same
results): one layer and direction over packed rows, the recurrence of the layered stack
(:mod:`.layered_stack`) on one thread, in the step mode of the variant chosen for one layer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._blas import gemm_pointers, single_threaded_blas, two_threads_allowed
from .array_loops import contiguous as _C
from .dispatch import FORCED, pick, resolve
from .layer_products import project, t_product
from .layered_stack import fptr_of, recur_backward_in, recur_forward_in
from .recurrence import gather_prev

__all__ = ["packed_layer_forward", "packed_layer_backward"]


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
        x, h0 = _C(x), _C(h0)
        fptr = fptr_of(x.dtype)
        mode = _one_layer_mode(x, h0)
        out = np.empty((x.shape[0], w_ih.shape[0]), dtype=np.result_type(x, w_ih))
        project(np.matmul, x, w_ih, out)  # (T, H)
        H = h0.shape[1]
        bias = np.zeros(H, dtype=x.dtype) if b_ih is None else (b_ih + b_hh).astype(x.dtype)
        hn = np.empty_like(h0)
        sizes, w = _C(batch_sizes, dtype=np.int64), _C(w_hh, dtype=x.dtype)
        recur_forward_in(mode, fptr, out, 0, sizes, bias, h0, w, reverse, relu, hn)
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
        x, h0, out, g_out = _C(x), _C(h0), _C(out), _C(g_out)
        fptr = fptr_of(x.dtype)
        mode = _one_layer_mode(x, h0)
        sizes = _C(batch_sizes, dtype=np.int64)
        delta, prev, dh0 = np.empty_like(out), np.empty_like(out), np.empty_like(h0)
        db = np.zeros(h0.shape[1])
        w, g_h = _C(w_hh, dtype=x.dtype), _C(g_hn)
        recur_backward_in(mode, fptr, out, g_out, 0, sizes, g_h, w, reverse, relu, delta, dh0, db)
        gather_prev(out, 0, sizes, h0, reverse, prev)
        dw_ih, dw_hh = t_product(np.matmul, delta, x), t_product(np.matmul, delta, prev)
        return delta @ w_ih, dh0, dw_ih, dw_hh, db.astype(x.dtype)


def _one_layer_mode(x: np.ndarray, h0: np.ndarray) -> Any:
    """The one-layer twins' decision: the step mode of the variant chosen for one layer,
    run on one thread (its one-thread counterpart, :data:`.dispatch.ONE_THREAD`)."""
    two, blas = two_threads_allowed(), bool(gemm_pointers()[0])
    name = FORCED or pick(x.shape[0], h0.shape[0], x.shape[1], h0.shape[1], 1, 1, two, blas)
    return resolve(name, False, blas).mode
