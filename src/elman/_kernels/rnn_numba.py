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

from . import _jit  # noqa: F401  (numba's environment: see _jit; the package imports it first)
from ._blas import gemm_pointers, single_threaded_blas, two_threads_allowed
from ._fused_stack import len_rows
from ._layered import fptr_of, project, recur_backward_in, recur_forward_in, t_product
from ._nb_recur import gather_prev
from .dispatch import FORCED, Variant, choose, pick, resolve

__all__ = [
    "stack_forward",
    "stack_backward",
    "packed_layer_forward",
    "packed_layer_backward",
    "choose_for",
]

Weights = Sequence[tuple[np.ndarray, np.ndarray, Any, Any]]
_C = np.ascontiguousarray


def choose_for(x: np.ndarray, h0: np.ndarray, num_layers: int) -> Variant:
    """The call's one decision (:func:`.dispatch.choose`) from its arrays: x (T, I) rows or
    (L, N, I) time-major, h0 (NL*D, N, H)."""
    NLD, N, H = h0.shape
    return choose(len_rows(x), N, x.shape[-1], H, num_layers, NLD // num_layers)


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
    variant: Variant | None = None,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Compiled :func:`.stack_ref.stack_forward`: with ``keep=False`` the stack runs in
    one (T, D*H) buffer (:mod:`._blocks`; the fused path: in place). ``variant``: the
    call's decision (:func:`choose_for`), taken here when not given."""
    if variant is None:
        variant = choose_for(x, h0, num_layers)
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
    variant: Variant | None = None,
) -> tuple[np.ndarray, np.ndarray, list[tuple[np.ndarray, np.ndarray, np.ndarray]]]:
    """Compiled :func:`.stack_ref.stack_backward` (``variant``: the forward's decision)."""
    if variant is None:
        variant = choose_for(x, h0, num_layers)
    x, h0, sizes = _C(x), _C(h0), _C(batch_sizes, dtype=np.int64)
    g_out, g_hn = _C(g_out), _C(g_hn)
    return variant.backward(
        variant, x, sizes, h0, weights, num_layers, relu, masks, outs, g_out, g_hn
    )


def run_forward(variant: Variant, x, batch_sizes, h0, weights, num_layers, relu, masks, keep=True):
    """:func:`stack_forward` in ``variant`` (tests force each one)."""
    if x.ndim == 3 and keep:  # rows: a copy unless time-major contiguous
        x = x.reshape(-1, x.shape[-1])
    x, h0, sizes = (_C(x) if x.ndim == 2 else x), _C(h0), _C(batch_sizes, dtype=np.int64)
    return variant.forward(variant, x, sizes, h0, weights, num_layers, relu, masks, keep)


def run_backward(variant: Variant, *args: Any) -> Any:
    """:func:`stack_backward` in ``variant``."""
    return stack_backward(*args, variant=variant)


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
    mode = _one_layer_mode(x, h0)
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
    mode = _one_layer_mode(x, h0)
    sizes = _C(batch_sizes, dtype=np.int64)
    delta, prev, dh0 = np.empty_like(out), np.empty_like(out), np.empty_like(h0)
    db = np.zeros(h0.shape[1])
    w = _C(w_hh, dtype=x.dtype)
    recur_backward_in(mode, fptr, out, g_out, 0, sizes, _C(g_hn), w, reverse, relu, delta, dh0, db)
    gather_prev(out, 0, sizes, h0, reverse, prev)
    dw_ih, dw_hh = t_product(np.matmul, delta, x), t_product(np.matmul, delta, prev)
    return delta @ w_ih, dh0, dw_ih, dw_hh, db.astype(x.dtype)


def _one_layer_mode(x: np.ndarray, h0: np.ndarray) -> Any:
    """The one-layer twins' decision: the step mode of the variant chosen for one layer,
    run on one thread (its one-thread counterpart, :data:`.dispatch.ONE_THREAD`)."""
    two, blas = two_threads_allowed(), bool(gemm_pointers()[0])
    name = FORCED or pick(x.shape[0], h0.shape[0], x.shape[1], h0.shape[1], 1, 1, two, blas)
    return resolve(name, False, blas).mode
