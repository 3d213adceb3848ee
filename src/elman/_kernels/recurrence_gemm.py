"""The recurrence and its BPTT in GEMM mode: NumPy's BLAS called from the kernel once per
step through ``fptr`` (see :mod:`._blas`), reading and writing the layer arrays in place
(no state copies). Layout, windows of the batch and bias sums as in :mod:`.recurrence`.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.extending import overload

from ._blas import NO_TRANS, gemm
from ._jit import INLINE, JIT, NOGIL
from .activations import act_delta, activate
from .array_loops import copy_rows, offsets
from .recurrence import add_partial, last_states

__all__ = [
    "one_run",
    "run_of",
    "recur_forward_gemm",
    "recur_backward_gemm",
    "forward_gemm_rows",
    "backward_gemm_rows",
    "gemm_step_delta",
]


def one_run(a, H):
    """Whether rows of ``a`` (2-D) are adjacent runs of H values: C-contiguous, H columns
    (one direction's layer array). Then a step's rows are activated as one run: row by row,
    H = 10 float32 spent ~3x the tanh's throughput in the vector loop's remainder."""
    return a.flags.c_contiguous and a.shape[1] == H


def run_of(a, r0, r1):
    """a[r0:r1] as one 1-D view (only where :func:`one_run` holds)."""
    return a[r0:r1].reshape(-1)


@overload(one_run, jit_options=INLINE)
def _one_run_overload(a, H):
    if isinstance(a, types.Array) and a.layout == "C":
        return lambda a, H: a.shape[1] == H
    return lambda a, H: False  # (rows with a stride of their own: never one run)


@overload(run_of, jit_options=INLINE)
def _run_of_overload(a, r0, r1):
    if isinstance(a, types.Array) and a.layout == "C":
        return lambda a, r0, r1: a[r0:r1].reshape(-1)
    return lambda a, r0, r1: a[r0, :0]  # (not reached: one_run is False for this type)


@njit(**NOGIL)
def forward_gemm_rows(out, c0, sizes, off, bias, h0, WT, reverse, relu, fptr, r0, r1):
    """The GEMM-mode recurrence for the sequences in rows r0:r1 of the batch only.

    Each step's product is accumulated straight into its rows of ``out`` and the previous
    states are read from ``out`` (or h0), so there is no copy of the state at all. Other
    rows are neither read nor written: two windows run at once on two threads.

    Args:
        out: (T, D*H) the layer's array: x_t W_ih^T on entry, h_t on exit (this direction's columns)
        c0: first column of this direction in the layer arrays (0, or H for the reverse one)
        sizes: (L,) int64 batch_sizes: rows active at each step
        off: (L + 1,) int64 step offsets (array_loops.offsets; a window's moved to its first row)
        bias: (H,) b_ih + b_hh
        h0: (N, H) initial state (read for rows starting from it)
        WT: (H, H) W_hh.T, C-contiguous
        reverse: walk the steps from the last to the first (the reverse direction)
        relu: ReLU, else tanh
        fptr: address of NumPy's CBLAS ?gemm for the dtype (_blas.gemm_pointers), 0 without
        r0: first batch row this call runs
        r1: end of the batch rows this call runs
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
        if one_run(out, H):  # the step's rows side by side: one loop over them all
            activate(run_of(out, o + r0, o + b), (b - r0) * H, relu)
        else:
            for i in range(r0, b):
                activate(out[o + i][c0:c1], H, relu)
    return True


@njit(**JIT)
def recur_forward_gemm(out, c0, sizes, bias, h0, WT, reverse, relu, fptr, hn):
    """:func:`recur_forward` with one BLAS call per step (``fptr``: NumPy's ?gemm).

    Args:
        out: (T, D*H) the layer's array: x_t W_ih^T on entry, h_t on exit (this direction's columns)
        c0: first column of this direction in the layer arrays (0, or H for the reverse one)
        sizes: (L,) int64 batch_sizes: rows active at each step
        bias: (H,) b_ih + b_hh
        h0: (N, H) initial state
        WT: (H, H) W_hh.T, C-contiguous
        reverse: walk the steps from the last to the first (the reverse direction)
        relu: ReLU, else tanh
        fptr: address of NumPy's CBLAS ?gemm for the dtype (_blas.gemm_pointers), 0 without
        hn: (N, H) out: each sequence's state after its last step
    """
    off = offsets(sizes)
    forward_gemm_rows(out, c0, sizes, off, bias, h0, WT, reverse, relu, fptr, 0, h0.shape[0])
    copy_rows(hn, h0)
    last_states(out, c0, sizes, off, reverse, hn)


@njit(**NOGIL)
def backward_gemm_rows(out, g, c0, sizes, off, W, reverse, relu, fptr, delta, dh, db, r0, r1):
    """BPTT in GEMM mode for rows r0:r1 of the batch only: dh = delta_t @ W_hh, read from
    delta's rows in place; dh (N, H): g_hn's rows on entry, dh0's on exit (this window's);
    db (H,) float64 += this window's bias gradient.

    Args:
        out: (T, D*H) the forward's h_t (read)
        g: (T, D*H) gradient of the layer's output
        c0: first column of this direction in the layer arrays (0, or H for the reverse one)
        sizes: (L,) int64 batch_sizes: rows active at each step
        off: (L + 1,) int64 step offsets (array_loops.offsets; a window's moved to its first row)
        W: (H, H) W_hh, C-contiguous
        reverse: walk the steps from the last to the first (the reverse direction)
        relu: ReLU, else tanh
        fptr: address of NumPy's CBLAS ?gemm for the dtype (_blas.gemm_pointers), 0 without
        delta: (T, D*H) out: dL/dz_t in this direction's columns
        dh: (N, >= H) gradient of the state: g_hn's rows on entry, dh0's on exit
        db: (H,) float64 += this window's bias gradient
        r0: first batch row this call runs
        r1: end of the batch rows this call runs
    """
    H = W.shape[0]
    L = len(sizes)
    part = np.empty(H, dtype=dh.dtype)
    blk = np.zeros(H)
    for s in range(L):
        t = s if reverse else L - 1 - s
        b, o = min(sizes[t], r1), off[t]
        gemm_step_delta(out, g, c0, o, r0, b, H, relu, delta, dh, part)
        add_partial(db, 0, blk, part, H, s, L)
        if b > r0:
            gemm(fptr, NO_TRANS, b - r0, H, H, delta, o + r0, c0, W, False, dh, r0, 0)
    return True


@njit(**INLINE)
def gemm_step_delta(out, g, c0, o, r0, b, H, relu, delta, dh, part):
    """One BPTT step's rows r0:b (their first row o + r0 in the layer arrays): delta_t =
    (dh + g_t) * act'(h_t), also left in dh's rows (the step's product overwrites them), and
    part = their sum over the rows.

    Args:
        out: (T, D*H) the forward's h_t (read)
        g: (T, D*H) gradient of the layer's output
        c0: first column of this direction in the layer arrays (0, or H for the reverse one)
        o: the step's first row in the layer arrays
        r0: first batch row
        b: end of the batch rows
        H: hidden size
        relu: ReLU, else tanh
        delta: (T, D*H) out: dL/dz_t in this direction's columns
        dh: (N, >= H) dh of the rows on entry, delta_t on exit
        part: (H,) out: the rows' sum of delta_t
    """
    c1 = c0 + H
    zero = dh.dtype.type(0)
    for j in range(H):
        part[j] = zero
    if one_run(delta, H) and one_run(g, H) and one_run(out, H) and one_run(dh, H):
        # the step's rows as one run, in dh's rows (the GEMM overwrites them)
        dz = run_of(dh, r0, b)
        act_delta(dz, run_of(g, o + r0, o + b), run_of(out, o + r0, o + b), len(dz), relu)
        for i in range(r0, b):
            drow, dzi = delta[o + i], dh[i]
            for j in range(H):
                drow[j] = dzi[j]
                part[j] += dzi[j]
    else:
        for i in range(r0, b):
            drow, dhi = delta[o + i][c0:c1], dh[i]
            for j in range(H):
                drow[j] = dhi[j]
            act_delta(drow, g[o + i][c0:c1], out[o + i][c0:c1], H, relu)
            for j in range(H):
                part[j] += drow[j]


@njit(**JIT)
def recur_backward_gemm(out, g, c0, sizes, g_hn, W, reverse, relu, fptr, delta, dh0, db):
    """:func:`recur_backward` with one BLAS call per step (see :func:`backward_gemm_rows`).

    Args:
        out: (T, D*H) the forward's h_t (read)
        g: (T, D*H) gradient of the layer's output
        c0: first column of this direction in the layer arrays (0, or H for the reverse one)
        sizes: (L,) int64 batch_sizes: rows active at each step
        g_hn: (N, H) gradient of h_n
        W: (H, H) W_hh, C-contiguous
        reverse: walk the steps from the last to the first (the reverse direction)
        relu: ReLU, else tanh
        fptr: address of NumPy's CBLAS ?gemm for the dtype (_blas.gemm_pointers), 0 without
        delta: (T, D*H) out: dL/dz_t in this direction's columns
        dh0: (N, H) out: gradient of h0
        db: (H,) float64: += the bias gradient
    """
    dh = g_hn.copy()
    off = offsets(sizes)
    N = dh.shape[0]
    backward_gemm_rows(out, g, c0, sizes, off, W, reverse, relu, fptr, delta, dh, db, 0, N)
    copy_rows(dh0, dh)
