r"""NumPy reference of one Elman RNN layer and direction: forward and BPTT.

This is the readable specification that the compiled kernels must reproduce. For one
layer and direction, with :math:`\sigma` = tanh or relu,

.. math::
    z_t = (h_{t-1} W_{hh}^T + b_{hh}) + (x_t W_{ih}^T + b_{ih}), \qquad h_t = \sigma(z_t)

(the association order is torch's). The reverse direction runs ``t = L-1, ..., 0`` and
stores ``h_t`` at its original position.

Backpropagation through time, with upstream gradients ``g_out`` (L, N, H) and ``g_hn``
(N, H), walks the steps in the opposite order:

.. math::
    \delta_t = (g_t + \partial h_t) \odot \sigma'(z_t), \qquad
    \partial h_{t-1} = \delta_t W_{hh}

where :math:`\sigma'` is read from the output (``1 - h^2`` for tanh, ``h > 0`` for relu, so
relu'(0) = 0; for relu the product is torch's select, ``0 if h <= 0 else g``, so NaN and
inf go where torch's go: see :mod:`.special`). The weight gradients do not depend on the
order, so each is ONE GEMM after the loop: ``dW_ih = Δᵀ X``, ``dW_hh = Δᵀ H_prev``,
``db = Σ Δ``, ``dX = Δ W_ih``.

Shapes: L = sequence length, N = batch, I = input features, H = hidden size.
"""

from __future__ import annotations

import numpy as np

from .special import relu_backward, tanh_ref

__all__ = [
    "layer_forward",
    "layer_backward",
    "packed_layer_forward",
    "packed_layer_backward",
    "packed_previous_states",
    "offsets_of",
    "cell_forward",
    "cell_backward",
]


def _activate(z: np.ndarray, relu: bool) -> np.ndarray:
    if relu:
        return np.maximum(z, 0, out=z)  # NaN stays NaN, as in torch
    return tanh_ref(z, out=z)


def _act_backward(g: np.ndarray, h: np.ndarray, relu: bool) -> np.ndarray:
    """g * act'(z), read from the output h: torch's threshold_backward for relu (a select:
    0 where h <= 0, else g), ``g * (1 - h^2)`` for tanh."""
    if relu:
        return relu_backward(g, h)
    return g * (1 - h * h)


def offsets_of(batch_sizes: np.ndarray) -> np.ndarray:
    """Row offset of each step in packed data: ``offsets[t] = sum(batch_sizes[:t])``."""
    off = np.zeros(len(batch_sizes) + 1, dtype=np.int64)
    np.cumsum(batch_sizes, out=off[1:])
    return off


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
    """Run one layer and direction over packed (time-major, shrinking-batch) data.

    Step t holds rows ``offsets[t] : offsets[t] + batch_sizes[t]`` of ``x``; batch_sizes is
    non-increasing, so the sequences active at step t are the first ``batch_sizes[t]``. A
    sequence that has ended keeps its state (forward direction); in the reverse direction a
    sequence starts from its h0 row at its own last step. A dense batch is the special case
    ``batch_sizes = [N] * L`` with ``x`` reshaped to (L * N, I).

    Args:
        x: (T, I) packed input, T = sum(batch_sizes)
        batch_sizes: (L,) int64
        h0: (N, H) with N = batch_sizes[0]
        w_ih: (H, I)
        w_hh: (H, H)
        b_ih: (H,) or None
        b_hh: (H,) or None
        reverse: walk t = L-1..0
        relu: relu instead of tanh

    Returns:
        out (T, H) packed states; h_n (N, H): each sequence's state after its last step.
    """
    H = w_hh.shape[0]
    off = offsets_of(batch_sizes)
    ig = np.matmul(x, w_ih.T)  # (T, H), one GEMM for all steps
    if b_ih is not None:
        ig += b_ih
    out = np.empty((x.shape[0], H), dtype=x.dtype)
    h = np.array(h0, copy=True)  # (N, H); rows past the active batch keep their state
    L = len(batch_sizes)
    for s in range(L):
        t = L - 1 - s if reverse else s
        b, o = int(batch_sizes[t]), int(off[t])
        z = np.matmul(h[:b], w_hh.T)  # (b, H)
        if b_hh is not None:
            z += b_hh
        z += ig[o : o + b]
        h[:b] = _activate(z, relu)
        out[o : o + b] = h[:b]
    return out, h


def packed_previous_states(
    out: np.ndarray, batch_sizes: np.ndarray, h0: np.ndarray, reverse: bool
) -> np.ndarray:
    """(T, H): the state each packed row's step consumed (its walk-order neighbour, or h0)."""
    off = offsets_of(batch_sizes)
    prev = np.empty_like(out)
    L = len(batch_sizes)
    for t in range(L):
        b, o = int(batch_sizes[t]), int(off[t])
        n = t + 1 if reverse else t - 1  # the step processed just before t
        if 0 <= n < L:
            k = min(b, int(batch_sizes[n]))
            prev[o : o + k] = out[off[n] : off[n] + k]
            prev[o + k : o + b] = h0[k:b]  # reverse: sequences starting here start from h0
        else:
            prev[o : o + b] = h0[:b]
    return prev


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
    """BPTT for one layer and direction over packed data (see :func:`packed_layer_forward`).

    Args:
        x: (T, I), as given to the forward
        batch_sizes: (L,) int64, as given to the forward
        h0: (N, H), as given to the forward
        w_ih: (H, I), as given to the forward
        w_hh: (H, H), as given to the forward
        out: (T, H) the forward's output
        g_out: (T, H) gradient of the loss w.r.t. out
        g_hn: (N, H) gradient of the loss w.r.t. h_n
        reverse: as given to the forward
        relu: as given to the forward

    Returns:
        dx (T, I), dh0 (N, H), dW_ih (H, I), dW_hh (H, H), db (H,) — db is the gradient of
        b_ih and of b_hh alike.
    """
    off = offsets_of(batch_sizes)
    delta = np.empty_like(out)  # (T, H)
    dh = np.array(g_hn, copy=True)  # (N, H); a row waits untouched until its sequence is active
    L = len(batch_sizes)
    for s in range(L):
        t = s if reverse else L - 1 - s
        b, o = int(batch_sizes[t]), int(off[t])
        dz = _act_backward(dh[:b] + g_out[o : o + b], out[o : o + b], relu)
        delta[o : o + b] = dz
        dh[:b] = np.matmul(dz, w_hh)
    h_prev = packed_previous_states(out, batch_sizes, h0, reverse)
    dw_hh = np.matmul(delta.T, h_prev)
    dw_ih = np.matmul(delta.T, x)
    db = delta.sum(axis=0)
    dx = np.matmul(delta, w_ih)
    return dx, dh, dw_ih, dw_hh, db


def _dense_sizes(L: int, N: int) -> np.ndarray:
    return np.full(L, N, dtype=np.int64)


def layer_forward(
    x: np.ndarray,
    h0: np.ndarray,
    w_ih: np.ndarray,
    w_hh: np.ndarray,
    b_ih: np.ndarray | None,
    b_hh: np.ndarray | None,
    reverse: bool,
    relu: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Run one layer and direction over a dense (L, N, I) sequence.

    Returns:
        out (L, N, H): h_t at every step (original positions); h_n (N, H): the last state.
    """
    L, N, I = x.shape
    out, hn = packed_layer_forward(
        x.reshape(L * N, I), _dense_sizes(L, N), h0, w_ih, w_hh, b_ih, b_hh, reverse, relu
    )
    return out.reshape(L, N, w_hh.shape[0]), hn


def layer_backward(
    x: np.ndarray,
    h0: np.ndarray,
    w_ih: np.ndarray,
    w_hh: np.ndarray,
    out: np.ndarray,
    g_out: np.ndarray,
    g_hn: np.ndarray,
    reverse: bool,
    relu: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """BPTT for a dense (L, N, I) sequence: dx (L, N, I), dh0, dW_ih, dW_hh, db.

    Args:
        x: (L, N, I)
        h0: (N, H)
        w_ih: (H, I)
        w_hh: (H, H)
        out: (L, N, H), the forward's output
        g_out: (L, N, H), its gradient
        g_hn: (N, H), h_n's gradient
        reverse: walk t = L-1..0
        relu: relu instead of tanh
    """
    L, N, I = x.shape
    H = w_hh.shape[0]
    dx, dh0, dw_ih, dw_hh, db = packed_layer_backward(
        x.reshape(L * N, I),
        _dense_sizes(L, N),
        h0,
        w_ih,
        w_hh,
        out.reshape(L * N, H),
        g_out.reshape(L * N, H),
        g_hn,
        reverse,
        relu,
    )
    return dx.reshape(L, N, I), dh0, dw_ih, dw_hh, db


def cell_forward(
    x: np.ndarray,
    h: np.ndarray,
    w_ih: np.ndarray,
    w_hh: np.ndarray,
    b_ih: np.ndarray | None,
    b_hh: np.ndarray | None,
    relu: bool,
) -> np.ndarray:
    """One step: ``act((h W_hh^T + b_hh) + (x W_ih^T + b_ih))`` for (N, I) x and (N, H) h."""
    ig = np.matmul(x, w_ih.T)
    if b_ih is not None:
        ig += b_ih
    z = np.matmul(h, w_hh.T)
    if b_hh is not None:
        z += b_hh
    z += ig
    return _activate(z, relu)


def cell_backward(
    x: np.ndarray,
    h: np.ndarray,
    w_ih: np.ndarray,
    w_hh: np.ndarray,
    h_new: np.ndarray,
    g: np.ndarray,
    relu: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of one step: dx (N, I), dh (N, H), dW_ih, dW_hh, db."""
    dz = _act_backward(g, h_new, relu)
    return dz @ w_ih, dz @ w_hh, dz.T @ x, dz.T @ h, dz.sum(axis=0)
