"""The sequential part of one layer and direction, compiled: the recurrence and its BPTT.

Packed layout as in :mod:`.rnn_ref`: step t owns rows ``off[t] : off[t] + sizes[t]`` of the
(T, D*H) layer arrays, and this direction owns columns ``c0 : c0 + H``. The state lives in a
(N, H) buffer whose first ``sizes[t]`` rows are the active sequences, so rows that are not
active keep their state (forward) or wait for their start (reverse) untouched.

``mode`` picks how ``h_{t-1} @ W_hh.T`` is computed at each step (see
:func:`._nb_ops.step_matmul`): ``AXPY`` and ``DOT`` are loops in the kernel, ``GEMM`` calls
NumPy's BLAS through ``fptr``. Each mode compiles a kernel of its own.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._jit import JIT
from ._nb_ops import AXPY, DOT, GEMM, act_delta, activate, step_matmul

__all__ = ["AXPY", "DOT", "GEMM", "offsets", "recur_forward", "recur_backward", "gather_prev"]



@njit(**JIT)
def offsets(sizes):
    """off[t] = sum(sizes[:t]), (L + 1,)."""
    off = np.zeros(len(sizes) + 1, dtype=np.int64)
    for t in range(len(sizes)):
        off[t + 1] = off[t] + sizes[t]
    return off


@njit(**JIT)
def forward_steps(out, c0, sizes, off, h, z, W, WT, reverse, relu, mode, fptr):
    """out[rows, c0:c0+H]: the projection on entry, h_t on exit; h: (N, H) state, in/out."""
    H = W.shape[0]
    c1 = c0 + H
    L = len(sizes)
    for s in range(L):
        t = L - 1 - s if reverse else s
        b, o = sizes[t], off[t]
        for i in range(b):
            src, zi = out[o + i][c0:c1], z[i]
            for j in range(H):
                zi[j] = src[j]
        step_matmul(mode, fptr, h, W, WT, z, b, H)
        for i in range(b):
            zi, hi, dst = z[i], h[i], out[o + i][c0:c1]
            activate(zi, H, relu)
            for j in range(H):
                hi[j] = zi[j]
                dst[j] = zi[j]


@njit(**JIT)
def backward_steps(out, g, c0, sizes, off, dh, dz, W, WT, reverse, relu, mode, fptr, delta):
    """delta[rows, c0:c0+H] = dL/dz_t for every step; dh: (N, H), g_hn on entry, dh0 on exit.

    dz_t = (g_t + dh_t) * act'(h_t), then dh_{t-1} = dz_t @ W_hh (only active rows).
    """
    H = W.shape[0]
    c1 = c0 + H
    L = len(sizes)
    zero = dh.dtype.type(0)
    for s in range(L):
        t = s if reverse else L - 1 - s
        b, o = sizes[t], off[t]
        for i in range(b):
            dzi, dhi, dst = dz[i], dh[i], delta[o + i][c0:c1]
            for j in range(H):
                dzi[j] = dhi[j]
            act_delta(dzi, g[o + i][c0:c1], out[o + i][c0:c1], H, relu)
            for j in range(H):
                dst[j] = dzi[j]
                dhi[j] = zero
        # dh[:b] = dz[:b] @ W: W plays W.T's part in step_matmul
        step_matmul(mode, fptr, dz, WT, W, dh, b, H)


@njit(**JIT)
def recur_forward(out, c0, sizes, h0, W, WT, reverse, relu, mode, fptr, hn):
    """One direction of one layer, in place on ``out`` (see :func:`forward_steps`).

    h0, hn: (N, H) C arrays (hn receives each sequence's last state).
    """
    off = offsets(sizes)
    h = h0.copy()
    z = np.empty_like(h)
    forward_steps(out, c0, sizes, off, h, z, W, WT, reverse, relu, mode, fptr)
    hn[:] = h


@njit(**JIT)
def recur_backward(out, g, c0, sizes, g_hn, W, WT, reverse, relu, mode, fptr, delta, dh0):
    """BPTT of one direction of one layer: fills delta's columns c0:c0+H and dh0 (N, H)."""
    off = offsets(sizes)
    dh = g_hn.copy()
    dz = np.empty_like(dh)
    backward_steps(out, g, c0, sizes, off, dh, dz, W, WT, reverse, relu, mode, fptr, delta)
    dh0[:] = dh


@njit(**JIT)
def gather_prev_into(out, c0, sizes, off, h0, reverse, prev, p0):
    """prev[row, p0:p0+H] = the state row ``row``'s step consumed (walk-order neighbour or h0)."""
    H = h0.shape[1]
    L = len(sizes)
    for t in range(L):
        b, o = sizes[t], off[t]
        n = t + 1 if reverse else t - 1
        k = 0
        if 0 <= n < L:
            k = min(b, sizes[n])
            for i in range(k):
                src, dst = out[off[n] + i][c0 : c0 + H], prev[o + i][p0 : p0 + H]
                for j in range(H):
                    dst[j] = src[j]
        for i in range(k, b):
            src, dst = h0[i], prev[o + i][p0 : p0 + H]
            for j in range(H):
                dst[j] = src[j]


@njit(**JIT)
def gather_prev(out, c0, sizes, h0, reverse, prev):
    """prev[:, c0:c0+H] for ``dW_hh = delta.T @ prev`` (see :func:`gather_prev_into`)."""
    gather_prev_into(out, c0, sizes, offsets(sizes), h0, reverse, prev, c0)
