"""The compiled twin of :mod:`.stack_ref`: same signatures, same results.

:func:`stack_forward` / :func:`stack_backward` are what the package calls, once per RNN
forward and backward, with the call's variant (:mod:`.dispatch`; chosen here when not
given), whose entry points run the stack:

* the fused stack (:mod:`.fused_stack`, :mod:`.fused_stack_loops`): one compiled call for
  the whole stack;
* the layered stack (:mod:`.layered_stack`): per layer one NumPy GEMM for the input
  projection of all steps (both directions at once), the recurrence compiled
  (:mod:`.recurrence` on one thread; :mod:`.split_recurrence` and :mod:`.layer_pipeline` on
  two), and after BPTT one GEMM each for dW_ih, dW_hh and dX.

See :mod:`.stack_ref` and :mod:`.rnn_ref` for the math, the shapes and the packed layout.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import _jit  # noqa: F401  (numba's environment: see _jit; the package imports it first)
from .array_loops import contiguous as _C
from .denormals import flush_denormals
from .dispatch import Variant, choose
from .fused_stack import len_rows
from .stack_ref import Stack, Weights

__all__ = [
    "stack_forward",
    "stack_backward",
    "choose_for",
]


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
    one (T, D*H) buffer (:mod:`.blocked_forward`; the fused path: in place). ``variant``: the
    call's decision (:func:`choose_for`), taken here when not given."""
    if variant is None:
        variant = choose_for(x, h0, num_layers)
    if x.ndim == 3 and keep:  # rows: a copy unless time-major contiguous
        x = x.reshape(-1, x.shape[-1])
    x, h0, sizes = (_C(x) if x.ndim == 2 else x), _C(h0), _C(batch_sizes, dtype=np.int64)
    stack = Stack(x, sizes, h0, weights, num_layers, relu, masks)
    return variant.forward(variant, stack, keep)


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
    need_dx: bool = True,
    need_dh0: bool = True,
) -> tuple[np.ndarray | None, np.ndarray | None, list[tuple[np.ndarray, np.ndarray, np.ndarray]]]:
    """Compiled :func:`.stack_ref.stack_backward` (``variant``: the forward's decision), with
    subnormals flushed to zero (:mod:`.denormals`)."""
    if variant is None:
        variant = choose_for(x, h0, num_layers)
    x, h0, sizes = _C(x), _C(h0), _C(batch_sizes, dtype=np.int64)
    stack = Stack(x, sizes, h0, weights, num_layers, relu, masks)
    with flush_denormals():  # vanishing gradients go subnormal: 10-100x slower products
        return variant.backward(variant, stack, outs, _C(g_out), _C(g_hn), need_dx, need_dh0)
