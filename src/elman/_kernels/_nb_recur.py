"""The sequential part of one layer and direction, compiled: the recurrence and its BPTT.

Packed layout as in :mod:`.rnn_ref`: step t owns rows ``off[t] : off[t] + sizes[t]`` of the
(T, D*H) layer arrays, and this direction owns columns ``c0 : c0 + H``. The state lives in a
(N, H) buffer whose first ``sizes[t]`` rows are the active sequences, so rows that are not
active keep their state (forward) or wait for their start (reverse) untouched.

``mode`` (the token of a :mod:`.modes` step mode) picks how ``h_{t-1} @ W_hh.T`` is
computed at each step: ``AXPY``, ``DOT``, ``OUTER`` and ``WIDE`` are loops (see
:func:`._nb_ops.step_matmul`; each mode compiles a kernel of its own; OUTER and WIDE take
the packed matrix of :mod:`._nb_simd` and a padded scratch), and the
``*_gemm`` kernels call NumPy's BLAS once per step through ``fptr`` (see :mod:`._blas`),
reading and writing the layer arrays in place (no state copies).

Bias gradients are summed here too: per step, then in float64 blocks of 256 steps.

NaN and inf flow as in torch: the activations and their derivatives are those of
:mod:`._nb_ops` (relu keeps NaN; its derivative is a select), and no product skips a zero
(0 * inf is NaN here as in BLAS and torch).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._blas import NO_TRANS, gemm
from ._jit import JIT, NOGIL
from ._nb_ops import act_delta, activate, copy2, step_matmul
from .config import BIAS_GRAD_BLOCK

__all__ = [
    "offsets",
    "recur_forward",
    "recur_backward",
    "forward_window",
    "backward_window",
    "recur_forward_gemm",
    "recur_backward_gemm",
    "forward_gemm_rows",
    "backward_gemm_rows",
    "gather_prev",
    "add_partial",
    "last_states",
]


@njit(**JIT)
def offsets(sizes):
    """off[t] = sum(sizes[:t]), (L + 1,)."""
    off = np.zeros(len(sizes) + 1, dtype=np.int64)
    for t in range(len(sizes)):
        off[t + 1] = off[t] + sizes[t]
    return off


@njit(**JIT)
def add_partial(db, d0, blk, part, n, s, L):
    """db[d0:d0+n] gets step s's partial sums in blocks of 256 steps: a float64 sum whose
    rounding grows with L / 256, not with L (100k-step sequences stay ~1e-16 relative)."""
    for j in range(n):
        blk[j] += part[j]
    if (s + 1) % BIAS_GRAD_BLOCK == 0 or s == L - 1:
        for j in range(n):
            db[d0 + j] += blk[j]
            blk[j] = 0.0


@njit(**JIT)
def forward_steps(out, c0, sizes, off, bias, h, z, W, WT, reverse, relu, mode):
    """out[rows, c0:c0+H]: x_t W_ih^T on entry, h_t on exit; h: (N, H) state, in/out;
    z: (N, >= H) scratch, as wide as the step product writes (see :func:`step_width`)."""
    H = bias.shape[0]
    c1 = c0 + H
    L = len(sizes)
    for s in range(L):
        t = L - 1 - s if reverse else s
        b, o = sizes[t], off[t]
        for i in range(b):
            src, zi = out[o + i][c0:c1], z[i]
            for j in range(H):
                zi[j] = src[j] + bias[j]
        step_matmul(mode, h, W, WT, z, b, H)
        for i in range(b):
            zi, hi, dst = z[i], h[i], out[o + i][c0:c1]
            activate(zi, H, relu)
            for j in range(H):
                hi[j] = zi[j]
                dst[j] = zi[j]


@njit(**JIT)
def backward_steps(out, g, c0, sizes, off, dh, dz, W, WT, reverse, relu, mode, delta, db):
    """delta[rows, c0:c0+H] = dL/dz_t for every step; dh: (N, H), g_hn on entry, dh0 on exit.

    dz_t = (g_t + dh_t) * act'(h_t), then dh_{t-1} = dz_t @ W_hh (only active rows).
    db (H,) float64 accumulates sum_t sum_rows dz_t (one partial sum per step: accurate).
    dh may be wider than H (see :func:`step_width`).
    """
    H = db.shape[0]
    c1 = c0 + H
    L = len(sizes)
    zero = dh.dtype.type(0)
    part = np.empty(H, dtype=dh.dtype)
    blk = np.zeros(H)
    for s in range(L):
        t = s if reverse else L - 1 - s
        b, o = sizes[t], off[t]
        for j in range(H):
            part[j] = zero
        for i in range(b):
            dzi, dhi, dst = dz[i], dh[i], delta[o + i][c0:c1]
            for j in range(H):
                dzi[j] = dhi[j]
            act_delta(dzi, g[o + i][c0:c1], out[o + i][c0:c1], H, relu)
            for j in range(H):
                dst[j] = dzi[j]
                part[j] += dzi[j]
                dhi[j] = zero
        add_partial(db, 0, blk, part, H, s, L)
        # dh[:b] = dz[:b] @ W: W plays W.T's part in step_matmul
        step_matmul(mode, dz, WT, W, dh, b, H)


@njit(**JIT)
def step_width(MT, H):
    """Columns the step product writes: H, or the padded width of a packed OUTER matrix."""
    return MT.size // H


@njit(**NOGIL)
def forward_window(out, c0, sizes, off, bias, h0, W, WT, reverse, relu, mode, hn):
    """:func:`forward_steps` from h0 into hn (their own (n, H) arrays). With ``sizes`` and
    ``off`` of a window of the batch (sizes clipped to it, off moved to its first row),
    it runs those sequences only: two windows can run at once on two threads."""
    h = h0.copy()
    z = np.empty((h.shape[0], step_width(WT, bias.shape[0])), dtype=h.dtype)
    forward_steps(out, c0, sizes, off, bias, h, z, W, WT, reverse, relu, mode)
    copy2(hn, h)
    return True


@njit(**NOGIL)
def recur_forward(out, c0, sizes, bias, h0, W, WT, reverse, relu, mode, hn):
    """One direction of one layer, in place on ``out`` (see :func:`forward_steps`).

    bias: (H,) b_ih + b_hh; h0, hn: (N, H) C arrays (hn: each sequence's last state).
    """
    forward_window(out, c0, sizes, offsets(sizes), bias, h0, W, WT, reverse, relu, mode, hn)


@njit(**NOGIL)
def backward_window(out, g, c0, sizes, off, g_hn, W, WT, reverse, relu, mode, delta, dh0, db):
    """:func:`backward_steps` from g_hn into dh0 (see :func:`forward_window` for windows)."""
    N, H = g_hn.shape
    dh = np.zeros((N, step_width(W, H)), dtype=g_hn.dtype)  # W: the backward's WT
    copy2(dh, g_hn)
    dz = np.empty_like(g_hn)
    backward_steps(out, g, c0, sizes, off, dh, dz, W, WT, reverse, relu, mode, delta, db)
    copy2(dh0, dh)
    return True


@njit(**NOGIL)
def recur_backward(out, g, c0, sizes, g_hn, W, WT, reverse, relu, mode, delta, dh0, db):
    """BPTT of one direction of one layer: fills delta's columns c0:c0+H, dh0 (N, H) and
    adds the bias gradient to db (H,) float64."""
    off = offsets(sizes)
    backward_window(out, g, c0, sizes, off, g_hn, W, WT, reverse, relu, mode, delta, dh0, db)


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


# ---- GEMM mode: NumPy's BLAS per step, in place on the layer arrays -----------------------


@njit(**JIT)
def last_states(out, c0, sizes, off, reverse, hn):
    """hn[i] = out's row of sequence i at its last step (t = 0 in the reverse direction)."""
    H = hn.shape[1]
    L = len(sizes)
    for t in range(min(1, L) if reverse else L):
        stop = 0 if reverse or t + 1 == L else sizes[t + 1]
        for i in range(stop, sizes[t]):
            src, dst = out[off[t] + i][c0 : c0 + H], hn[i]
            for j in range(H):
                dst[j] = src[j]


@njit(**NOGIL)
def forward_gemm_rows(out, c0, sizes, off, bias, h0, WT, reverse, relu, fptr, r0, r1):
    """The GEMM-mode recurrence for the sequences in rows r0:r1 of the batch only.

    Each step's product is accumulated straight into its rows of ``out`` and the previous
    states are read from ``out`` (or h0), so there is no copy of the state at all. Other
    rows are neither read nor written: two windows run at once on two threads.
    """
    H = WT.shape[0]
    c1 = c0 + H
    L = len(sizes)
    for s in range(L):
        t = L - 1 - s if reverse else s
        b, o = min(sizes[t], r1), off[t]
        for i in range(r0, b):
            row = out[o + i][c0:c1]
            for j in range(H):
                row[j] += bias[j]
        k = r0  # rows r0:k have their previous state in out, k:b start from h0
        if s > 0:
            n = t + 1 if reverse else t - 1
            k = max(r0, min(b, sizes[n]))
            if k > r0:
                gemm(fptr, NO_TRANS, k - r0, H, H, out, off[n] + r0, c0, WT, True, out, o + r0, c0)
        if b > k:
            gemm(fptr, NO_TRANS, b - k, H, H, h0, k, 0, WT, True, out, o + k, c0)
        for i in range(r0, b):
            activate(out[o + i][c0:c1], H, relu)
    return True


@njit(**JIT)
def recur_forward_gemm(out, c0, sizes, bias, h0, WT, reverse, relu, fptr, hn):
    """:func:`recur_forward` with one BLAS call per step (``fptr``: NumPy's ?gemm)."""
    off = offsets(sizes)
    forward_gemm_rows(out, c0, sizes, off, bias, h0, WT, reverse, relu, fptr, 0, h0.shape[0])
    copy2(hn, h0)
    last_states(out, c0, sizes, off, reverse, hn)


@njit(**NOGIL)
def backward_gemm_rows(out, g, c0, sizes, off, W, reverse, relu, fptr, delta, dh, db, r0, r1):
    """BPTT in GEMM mode for rows r0:r1 of the batch only: dh = delta_t @ W_hh, read from
    delta's rows in place; dh (N, H): g_hn's rows on entry, dh0's on exit (this window's);
    db (H,) float64 += this window's bias gradient."""
    H = W.shape[0]
    c1 = c0 + H
    L = len(sizes)
    zero = dh.dtype.type(0)
    part = np.empty(H, dtype=dh.dtype)
    blk = np.zeros(H)
    for s in range(L):
        t = s if reverse else L - 1 - s
        b, o = min(sizes[t], r1), off[t]
        for j in range(H):
            part[j] = zero
        for i in range(r0, b):
            drow, dhi = delta[o + i][c0:c1], dh[i]
            for j in range(H):
                drow[j] = dhi[j]
            act_delta(drow, g[o + i][c0:c1], out[o + i][c0:c1], H, relu)
            for j in range(H):
                part[j] += drow[j]
        add_partial(db, 0, blk, part, H, s, L)
        if b > r0:
            gemm(fptr, NO_TRANS, b - r0, H, H, delta, o + r0, c0, W, False, dh, r0, 0)
    return True


@njit(**JIT)
def recur_backward_gemm(out, g, c0, sizes, g_hn, W, reverse, relu, fptr, delta, dh0, db):
    """:func:`recur_backward` with one BLAS call per step (see :func:`backward_gemm_rows`)."""
    dh = g_hn.copy()
    off = offsets(sizes)
    N = dh.shape[0]
    backward_gemm_rows(out, g, c0, sizes, off, W, reverse, relu, fptr, delta, dh, db, 0, N)
    copy2(dh0, dh)
