"""The sequential part of one layer and direction, compiled: the recurrence and its BPTT.

Packed layout as in :mod:`.rnn_ref`: step t owns rows ``off[t] : off[t] + sizes[t]`` of the
(T, D*H) layer arrays, and this direction owns columns ``c0 : c0 + H``. The state lives in a
(N, H) buffer whose first ``sizes[t]`` rows are the active sequences, so rows that are not
active keep their state (forward) or wait for their start (reverse) untouched.

``mode`` (the token of a :mod:`.modes` step mode) picks how ``h_{t-1} @ W_hh.T`` is
computed at each step: ``AXPY``, ``DOT``, ``OUTER`` and ``WIDE`` are loops (see
:func:`.products.step_matmul`; each mode compiles a kernel of its own; OUTER and WIDE take
the packed matrix of :mod:`.simd_products` and a padded scratch),; GEMM (NumPy's
BLAS once per step) is :mod:`.recurrence_gemm`.

Bias gradients are summed here too: per step, then in float64 blocks of 256 steps.

NaN and inf flow as in torch: the activations and their derivatives are those of
:mod:`.activations` (relu keeps NaN; its derivative is a select), and no product skips a zero
(0 * inf is NaN here as in BLAS and torch).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._jit import INLINE, JIT, NOGIL
from .activations import act_delta, activate
from .array_loops import copy_rows, offsets
from .config import BIAS_GRAD_BLOCK
from .products import step_matmul

__all__ = [
    "recur_forward",
    "recur_backward",
    "forward_window",
    "backward_window",
    "gather_prev",
    "add_partial",
    "last_states",
]


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


@njit(**INLINE)
def step_inputs(out, o, b, a, n, bias, j0, z):
    """The step body's first part, for the b active rows i: z[i, :n] = out[o + i, a : a + n]
    (x_t W_ih^T) + bias[j0 : j0 + n]; the step product then adds h_{t-1} @ W_hh.T."""
    for i in range(b):
        src, zi = out[o + i][a : a + n], z[i]
        for j in range(n):
            zi[j] = src[j] + bias[j0 + j]


@njit(**INLINE)
def step_states(z, out, o, b, a, n, relu, h, j0):
    """The step body's last part: h_t = act(z[i, :n]) for the b active rows i, stored in
    out[o + i, a : a + n] and in the state h[i, j0 : j0 + n].

    Args:
        z: (>= b, >= n) the pre-activations
        out: (T, D*H) the layer's array
        o: the step's first row in out
        b: active rows
        a: first column of out written
        n: columns
        relu: ReLU, else tanh
        h: (N, >= j0 + n) the state
        j0: first column of h written
    """
    for i in range(b):
        zi, dst, hi = z[i], out[o + i][a : a + n], h[i][j0 : j0 + n]
        activate(zi, n, relu)
        for j in range(n):
            dst[j] = zi[j]
            hi[j] = zi[j]


@njit(**INLINE)
def step_deltas(dh, g, out, o, b, a, n, relu, dz, k0, delta, part):
    """The BPTT step body before the product, for the b active rows i: dz[i, k0 : k0 + n] =
    (dh[i] + g_t) * act'(h_t) (h_t read from out), stored in delta[o + i, a : a + n] and
    summed over the rows into part (n,); dh[i, :n] zeroed (the product adds dz @ W_hh).

    Args:
        dh: (N, >= n) gradient of the state
        g: (T, D*H) gradient of the layer's output
        out: (T, D*H) the forward's h_t
        o: the step's first row
        b: active rows
        a: first column of the layer arrays read and written
        n: columns
        relu: ReLU, else tanh
        dz: (N, >= k0 + n) out: dL/dz_t of the active rows
        k0: first column of dz written
        delta: (T, D*H) out: dL/dz_t
        part: (n,) out: the step's sum over the rows
    """
    zero = dh.dtype.type(0)
    for j in range(n):
        part[j] = zero
    for i in range(b):
        dzi, dhi, dst = dz[i][k0 : k0 + n], dh[i], delta[o + i][a : a + n]
        for j in range(n):
            dzi[j] = dhi[j]
        act_delta(dzi, g[o + i][a : a + n], out[o + i][a : a + n], n, relu)
        for j in range(n):
            dst[j] = dzi[j]
            part[j] += dzi[j]
            dhi[j] = zero


@njit(**JIT)
def forward_steps(out, c0, sizes, off, bias, h, z, W, WT, reverse, relu, mode):
    """out[rows, c0:c0+H]: x_t W_ih^T on entry, h_t on exit; h: (N, H) state, in/out;
    z: (N, >= H) scratch, as wide as the step product writes (see :func:`step_width`).

    Args:
        out: (T, D*H) the layer's array: x_t W_ih^T on entry, h_t on exit (this direction's columns)
        c0: first column of this direction in the layer arrays (0, or H for the reverse one)
        sizes: (L,) int64 batch_sizes: rows active at each step
        off: (L + 1,) int64 step offsets (array_loops.offsets; a window's moved to its first row)
        bias: (H,) b_ih + b_hh
        h: (N, H) the state: h0 on entry, h_n on exit
        z: (N, >= H) scratch, as wide as the step product writes (step_width)
        W: (H, H) W_hh (DOT reads it; for OUTER/WIDE the packed matrix, unread)
        WT: W_hh.T (AXPY reads it), or for OUTER/WIDE W_hh.T packed by pack_columns
        reverse: walk the steps from the last to the first (the reverse direction)
        relu: ReLU, else tanh
        mode: the step product: a modes.Mode (Python side) or its token (compiled side)
    """
    H = bias.shape[0]
    L = len(sizes)
    for s in range(L):
        t = L - 1 - s if reverse else s
        b, o = sizes[t], off[t]
        step_inputs(out, o, b, c0, H, bias, 0, z)
        step_matmul(mode, h, W, WT, z, b, H)
        step_states(z, out, o, b, c0, H, relu, h, 0)


@njit(**JIT)
def backward_steps(out, g, c0, sizes, off, dh, dz, W, WT, reverse, relu, mode, delta, db):
    """delta[rows, c0:c0+H] = dL/dz_t for every step; dh: (N, H), g_hn on entry, dh0 on exit.

    dz_t = (g_t + dh_t) * act'(h_t), then dh_{t-1} = dz_t @ W_hh (only active rows).
    db (H,) float64 accumulates sum_t sum_rows dz_t (one partial sum per step: accurate).
    dh may be wider than H (see :func:`step_width`).

    Args:
        out: (T, D*H) the forward's h_t (read)
        g: (T, D*H) gradient of the layer's output
        c0: first column of this direction in the layer arrays (0, or H for the reverse one)
        sizes: (L,) int64 batch_sizes: rows active at each step
        off: (L + 1,) int64 step offsets (array_loops.offsets; a window's moved to its first row)
        dh: (N, >= H) gradient of the state: g_hn's rows on entry, dh0's on exit
        dz: (N, H) scratch
        W: (H, H) W_hh: dh = dz @ W_hh reads it (for OUTER/WIDE W_hh packed)
        WT: W_hh.T (AXPY reads it; for OUTER/WIDE the same packed matrix)
        reverse: walk the steps from the last to the first (the reverse direction)
        relu: ReLU, else tanh
        mode: the step product: a modes.Mode (Python side) or its token (compiled side)
        delta: (T, D*H) out: dL/dz_t in this direction's columns
        db: (H,) float64: += the bias gradient
    """
    H = db.shape[0]
    L = len(sizes)
    part = np.empty(H, dtype=dh.dtype)
    blk = np.zeros(H)
    for s in range(L):
        t = s if reverse else L - 1 - s
        b, o = sizes[t], off[t]
        step_deltas(dh, g, out, o, b, c0, H, relu, dz, 0, delta, part)
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
    it runs those sequences only: two windows can run at once on two threads.

    Args:
        out: (T, D*H) the layer's array: x_t W_ih^T on entry, h_t on exit (this direction's columns)
        c0: first column of this direction in the layer arrays (0, or H for the reverse one)
        sizes: (L,) int64 batch_sizes: rows active at each step
        off: (L + 1,) int64 step offsets (array_loops.offsets; a window's moved to its first row)
        bias: (H,) b_ih + b_hh
        h0: (N, H) initial state
        W: (H, H) W_hh (DOT reads it; for OUTER/WIDE the packed matrix, unread)
        WT: W_hh.T (AXPY reads it), or for OUTER/WIDE W_hh.T packed by pack_columns
        reverse: walk the steps from the last to the first (the reverse direction)
        relu: ReLU, else tanh
        mode: the step product: a modes.Mode (Python side) or its token (compiled side)
        hn: (N, H) out: each sequence's state after its last step
    """
    h = h0.copy()
    z = np.empty((h.shape[0], step_width(WT, bias.shape[0])), dtype=h.dtype)
    forward_steps(out, c0, sizes, off, bias, h, z, W, WT, reverse, relu, mode)
    copy_rows(hn, h)
    return True


@njit(**NOGIL)
def recur_forward(out, c0, sizes, bias, h0, W, WT, reverse, relu, mode, hn):
    """One direction of one layer, in place on ``out`` (see :func:`forward_steps`).

    bias: (H,) b_ih + b_hh; h0, hn: (N, H) C arrays (hn: each sequence's last state).

    Args:
        out: (T, D*H) the layer's array: x_t W_ih^T on entry, h_t on exit (this direction's columns)
        c0: first column of this direction in the layer arrays (0, or H for the reverse one)
        sizes: (L,) int64 batch_sizes: rows active at each step
        bias: (H,) b_ih + b_hh
        h0: (N, H) initial state
        W: (H, H) W_hh (DOT reads it; for OUTER/WIDE the packed matrix, unread)
        WT: W_hh.T (AXPY reads it), or for OUTER/WIDE W_hh.T packed by pack_columns
        reverse: walk the steps from the last to the first (the reverse direction)
        relu: ReLU, else tanh
        mode: the step product: a modes.Mode (Python side) or its token (compiled side)
        hn: (N, H) out: each sequence's state after its last step
    """
    forward_window(out, c0, sizes, offsets(sizes), bias, h0, W, WT, reverse, relu, mode, hn)


@njit(**NOGIL)
def backward_window(out, g, c0, sizes, off, g_hn, W, WT, reverse, relu, mode, delta, dh0, db):
    """:func:`backward_steps` from g_hn into dh0 (see :func:`forward_window` for windows).

    Args:
        out: (T, D*H) the forward's h_t (read)
        g: (T, D*H) gradient of the layer's output
        c0: first column of this direction in the layer arrays (0, or H for the reverse one)
        sizes: (L,) int64 batch_sizes: rows active at each step
        off: (L + 1,) int64 step offsets (array_loops.offsets; a window's moved to its first row)
        g_hn: (N, H) gradient of h_n
        W: (H, H) W_hh: dh = dz @ W_hh reads it (for OUTER/WIDE W_hh packed)
        WT: W_hh.T (AXPY reads it; for OUTER/WIDE the same packed matrix)
        reverse: walk the steps from the last to the first (the reverse direction)
        relu: ReLU, else tanh
        mode: the step product: a modes.Mode (Python side) or its token (compiled side)
        delta: (T, D*H) out: dL/dz_t in this direction's columns
        dh0: (N, H) out: gradient of h0
        db: (H,) float64: += the bias gradient
    """
    N, H = g_hn.shape
    dh = np.zeros((N, step_width(W, H)), dtype=g_hn.dtype)  # W: the backward's WT
    copy_rows(dh, g_hn)
    dz = np.empty_like(g_hn)
    backward_steps(out, g, c0, sizes, off, dh, dz, W, WT, reverse, relu, mode, delta, db)
    copy_rows(dh0, dh)
    return True


@njit(**NOGIL)
def recur_backward(out, g, c0, sizes, g_hn, W, WT, reverse, relu, mode, delta, dh0, db):
    """BPTT of one direction of one layer: fills delta's columns c0:c0+H, dh0 (N, H) and
    adds the bias gradient to db (H,) float64.

    Args:
        out: (T, D*H) the forward's h_t (read)
        g: (T, D*H) gradient of the layer's output
        c0: first column of this direction in the layer arrays (0, or H for the reverse one)
        sizes: (L,) int64 batch_sizes: rows active at each step
        g_hn: (N, H) gradient of h_n
        W: (H, H) W_hh: dh = dz @ W_hh reads it (for OUTER/WIDE W_hh packed)
        WT: W_hh.T (AXPY reads it; for OUTER/WIDE the same packed matrix)
        reverse: walk the steps from the last to the first (the reverse direction)
        relu: ReLU, else tanh
        mode: the step product: a modes.Mode (Python side) or its token (compiled side)
        delta: (T, D*H) out: dL/dz_t in this direction's columns
        dh0: (N, H) out: gradient of h0
        db: (H,) float64: += the bias gradient
    """
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
