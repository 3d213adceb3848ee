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
relu'(0) = 0). The weight gradients do not depend on the order, so each is ONE GEMM after
the loop: ``dW_ih = Δᵀ X``, ``dW_hh = Δᵀ H_prev``, ``db = Σ Δ``, ``dX = Δ W_ih``.

Shapes: L = sequence length, N = batch, I = input features, H = hidden size.
"""

from __future__ import annotations

import numpy as np

__all__ = ["layer_forward", "layer_backward", "cell_forward", "cell_backward"]


def _activate(z: np.ndarray, relu: bool) -> np.ndarray:
    if relu:
        return np.maximum(z, 0, out=z)
    return np.tanh(z, out=z)


def _act_grad(h: np.ndarray, relu: bool) -> np.ndarray:
    if relu:
        return (h > 0).astype(h.dtype)
    return 1 - h * h


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
    """Run one layer and direction over a whole sequence.

    Args:
        x: (L, N, I) input; h0: (N, H) initial state; w_ih: (H, I); w_hh: (H, H);
        b_ih, b_hh: (H,) or None; reverse: walk t = L-1..0; relu: relu instead of tanh.

    Returns:
        out (L, N, H): h_t at every step (original positions); h_n (N, H): the last state.
    """
    L, N, _ = x.shape
    H = w_hh.shape[0]
    ig = np.matmul(x.reshape(L * N, x.shape[2]), w_ih.T).reshape(L, N, H)  # (L, N, H), one GEMM
    if b_ih is not None:
        ig += b_ih
    out = np.empty((L, N, H), dtype=x.dtype)
    h = h0
    for s in range(L):
        t = L - 1 - s if reverse else s
        z = np.matmul(h, w_hh.T)  # (N, H)
        if b_hh is not None:
            z += b_hh
        z += ig[t]
        h = _activate(z, relu)
        out[t] = h
    return out, np.array(h, copy=True)


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
    """BPTT for one layer and direction.

    Args:
        x, h0, w_ih, w_hh: as given to :func:`layer_forward`; out: its (L, N, H) output;
        g_out (L, N, H) and g_hn (N, H): gradients of the loss w.r.t. out and h_n.

    Returns:
        dx (L, N, I), dh0 (N, H), dW_ih (H, I), dW_hh (H, H), db (H,) — db is the gradient
        of b_ih and of b_hh alike.
    """
    L, N, I = x.shape
    H = w_hh.shape[0]
    delta = np.empty_like(out)  # (L, N, H)
    dh = np.array(g_hn, copy=True)
    for s in range(L):
        t = s if reverse else L - 1 - s
        dz = (dh + g_out[t]) * _act_grad(out[t], relu)
        delta[t] = dz
        dh = np.matmul(dz, w_hh)
    # h_prev[t] is the state each step consumed: the neighbour in walk order, h0 at the start
    if reverse:
        h_prev = np.concatenate([out[1:], h0[None]], axis=0)
    else:
        h_prev = np.concatenate([h0[None], out[:-1]], axis=0)
    d2 = delta.reshape(L * N, H)
    dw_hh = np.matmul(d2.T, h_prev.reshape(L * N, H))
    dw_ih = np.matmul(d2.T, x.reshape(L * N, I))
    db = d2.sum(axis=0)
    dx = np.matmul(d2, w_ih).reshape(L, N, I)
    return dx, dh, dw_ih, dw_hh, db


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
    dz = g * _act_grad(h_new, relu)
    return dz @ w_ih, dz @ w_hh, dz.T @ x, dz.T @ h, dz.sum(axis=0)
