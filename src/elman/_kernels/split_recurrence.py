"""The recurrence on two cores: each thread owns half of the hidden units (``jsplit``).

For a few sequences (N <= 4) and a large hidden size, a step is bound by streaming W_hh from
cache. Two threads each keep their own half of W_hh's rows (a private packed copy, see
:mod:`.simd_products`, that stays in that core's L2), compute their half of h_t for every active
row, publish it in a shared double buffer, and meet at a spin barrier: one barrier per step.

The backward splits the columns of dh the same way: each thread keeps its block of dh
private, computes its columns of delta_t, publishes them, meets the other thread, and then
computes its columns of ``dh = delta_t @ W_hh`` from the whole delta_t.

:func:`rows_recur_forward` / :func:`rows_recur_backward` split the batch instead: each thread
runs the GEMM-mode recurrence of its own sequences, with no exchange at all.

Both halves must run at the same time: :func:`.handover.run_pair` starts the second one on a
persistent helper thread (re-created after a fork), and callers only use this path when
elman may run two threads (:mod:`.threads`). The barrier spins only briefly, then yields
and blocks (:func:`.waiting.wait_for`), so a half whose partner is not running costs no CPU.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._jit import NOGIL
from .array_loops import contiguous as _C
from .array_loops import offsets
from .handover import run_pair, split_point
from .modes import WIDE
from .packing_compiled import batch_sizes_of
from .recurrence import (
    add_partial,
    backward_window,
    forward_window,
    last_states,
    step_deltas,
    step_inputs,
    step_states,
    step_width,
)
from .recurrence_gemm import backward_gemm_rows, forward_gemm_rows
from .simd_products import mm_outer_rows, outer_width, pack_columns
from .waiting import LINE, arrive, new_flags, wait_for

__all__ = [
    "split_recur_forward",
    "split_recur_backward",
    "rows_recur_forward",
    "rows_recur_backward",
]


@njit(**NOGIL)
def _barrier(flags, c, step):
    """Publish 'thread c finished ``step``' and wait until the other thread has too
    (False: the pair was aborted, see :func:`.waiting.wait_for`)."""
    arrive(flags, c * LINE, step)
    return wait_for(flags, (1 - c) * LINE, step)


@njit(**NOGIL)
def split_forward(c, out, c0, j0, nc, sizes, off, bias, P, reverse, relu, hbuf, flags):
    """Thread c's share of one direction: units j0:j0+nc of h_t.

    out (T, D*H): x_t W_ih^T on entry, h_t on exit (this thread's columns); bias (H,);
    P: rows j0:j0+nc of W_hh, transposed and packed (:func:`.simd_products.pack_columns`);
    hbuf (2, N, Hp): h_{t-1} / h_t, both holding h0 on entry (zero-padded).

    Args:
        c: this thread's index, 0 or 1
        out: (T, D*H) the layer's array: x_t W_ih^T on entry, h_t on exit (this direction's columns)
        c0: first column of this direction in the layer arrays (0, or H for the reverse one)
        j0: first hidden unit this thread computes
        nc: units it computes
        sizes: (L,) int64 batch_sizes: rows active at each step
        off: (L + 1,) int64 step offsets (array_loops.offsets; a window's moved to its first row)
        bias: (H,) b_ih + b_hh
        P: this thread's block of W_hh, transposed and packed (simd_products.pack_columns)
        reverse: walk the steps from the last to the first (the reverse direction)
        relu: ReLU, else tanh
        hbuf: (2, N, Hp) h_{t-1} / h_t, both h0 on entry (zero-padded)
        flags: the pair's progress counters (waiting.new_flags)
    """
    H = bias.shape[0]
    N = hbuf.shape[1]
    z = np.empty((N, step_width(P, H)), dtype=out.dtype)
    a = c0 + j0
    L = len(sizes)
    for s in range(L):
        t = L - 1 - s if reverse else s
        b, o = sizes[t], off[t]
        prev, cur = hbuf[s % 2], hbuf[(s + 1) % 2]
        step_inputs(out, o, b, a, nc, bias, j0, z)
        mm_outer_rows(prev, P, z, b, H)
        step_states(z, out, o, b, a, nc, relu, cur, j0)
        if not _barrier(flags, c, s + 1):
            return False
    return True


@njit(**NOGIL)
def split_backward(
    c, out, g, c0, k0, nk, sizes, off, P, reverse, relu, dh, dzbuf, delta, db, flags
):
    """Thread c's share of one direction's BPTT: columns k0:k0+nk of dh.

    dh (N, >= nk): this thread's block of dh (padded to P's width), g_hn's on entry, dh0's
    on exit; P: columns k0:k0+nk of W_hh, packed; dzbuf (2, N, Hp) zero-padded;
    delta (T, D*H) receives this thread's columns of every delta_t, db (nk,) float64 their
    sums (as in :func:`.recurrence.backward_steps`).

    Args:
        c: this thread's index, 0 or 1
        out: (T, D*H) the forward's h_t (read)
        g: (T, D*H) gradient of the layer's output
        c0: first column of this direction in the layer arrays (0, or H for the reverse one)
        k0: first column of dh this thread computes
        nk: columns
        sizes: (L,) int64 batch_sizes: rows active at each step
        off: (L + 1,) int64 step offsets (array_loops.offsets; a window's moved to its first row)
        P: columns k0:k0+nk of W_hh, packed
        reverse: walk the steps from the last to the first (the reverse direction)
        relu: ReLU, else tanh
        dh: (N, >= nk) this thread's block of dh: g_hn's on entry, dh0's on exit
        dzbuf: (2, N, Hp) zero-padded
        delta: (T, D*H) out: dL/dz_t in this direction's columns
        db: (nk,) float64 += the bias gradient's sums
        flags: the pair's progress counters (waiting.new_flags)
    """
    H = P.shape[0] // dh.shape[1] if dh.shape[1] > 0 else 0  # rows of the packed block
    a = c0 + k0
    L = len(sizes)
    part = np.empty(nk, dtype=dh.dtype)
    blk = np.zeros(nk)
    for s in range(L):
        t = s if reverse else L - 1 - s
        b, o = sizes[t], off[t]
        dz = dzbuf[s % 2]
        step_deltas(dh, g, out, o, b, a, nk, relu, dz, k0, delta, part)
        add_partial(db, k0, blk, part, nk, s, L)
        if not _barrier(flags, c, s + 1):
            return False
        mm_outer_rows(dz, P, dh, b, H)
    return True


# ---- running the two halves ----------------------------------------------------------------


def split_recur_forward(out, c0, sizes, bias, h0, w_hh, reverse, relu, hn):
    """:func:`.recurrence.recur_forward` on two threads (same arguments, minus the mode).

    Args:
        out: (T, D*H) the layer's array: x_t W_ih^T on entry, h_t on exit (this direction's columns)
        c0: first column of this direction in the layer arrays (0, or H for the reverse one)
        sizes: (L,) int64 batch_sizes: rows active at each step
        bias: (H,) b_ih + b_hh
        h0: (N, H) initial state
        w_hh: (H, H) W_hh, torch's layout
        reverse: walk the steps from the last to the first (the reverse direction)
        relu: ReLU, else tanh
        hn: (N, H) out: each sequence's state after its last step
    """
    N, H = h0.shape
    Hp = (H + 31) // 32 * 32
    j1 = split_point(H)
    hbuf = np.zeros((2, N, Hp), dtype=out.dtype)
    hbuf[:, :, :H] = h0
    flags = new_flags()
    off = offsets(sizes)

    def half(c: int, j0: int, j1: int) -> tuple:
        P = pack_columns(w_hh[j0:j1].T, out.dtype)
        return (c, out, c0, j0, j1 - j0, sizes, off, bias, P, reverse, relu, hbuf, flags)

    run_pair(split_forward, half(0, 0, j1), half(1, j1, H), flags)
    hn[...] = h0
    last_states(out, c0, sizes, off, reverse, hn)


def split_recur_backward(out, g, c0, sizes, g_hn, w_hh, reverse, relu, delta, dh0, db):
    """:func:`.recurrence.recur_backward` on two threads (same arguments, minus the mode).

    Args:
        out: (T, D*H) the forward's h_t (read)
        g: (T, D*H) gradient of the layer's output
        c0: first column of this direction in the layer arrays (0, or H for the reverse one)
        sizes: (L,) int64 batch_sizes: rows active at each step
        g_hn: (N, H) gradient of h_n
        w_hh: (H, H) W_hh, torch's layout
        reverse: walk the steps from the last to the first (the reverse direction)
        relu: ReLU, else tanh
        delta: (T, D*H) out: dL/dz_t in this direction's columns
        dh0: (N, H) out: gradient of h0
        db: (H,) float64: += the bias gradient
    """
    N, H = g_hn.shape
    Hp = (H + 31) // 32 * 32
    k1 = split_point(H)
    dzbuf = np.zeros((2, N, Hp), dtype=out.dtype)
    flags = new_flags()
    off = offsets(sizes)
    blocks = ((0, k1), (k1, H))
    dh = []  # private blocks of dh, padded to the packed width
    for k0, k1_ in blocks:
        d = np.zeros((N, outer_width(k1_ - k0, out.dtype)), dtype=out.dtype)
        d[:, : k1_ - k0] = g_hn[:, k0:k1_]
        dh.append(d)

    def half(c: int) -> tuple:
        k0, k1_ = blocks[c]
        P = pack_columns(w_hh[:, k0:k1_], out.dtype)
        nk = k1_ - k0
        return (c, out, g, c0, k0, nk, sizes, off, P, reverse, relu, dh[c], dzbuf, delta, db, flags)

    run_pair(split_backward, half(0), half(1), flags)
    for c, (k0, k1_) in enumerate(blocks):
        dh0[:, k0:k1_] = dh[c][:, : k1_ - k0]


# ---- the batch on two threads (GEMM steps) ---------------------------------------------------


def row_split(sizes: np.ndarray, N: int) -> int:
    """Where thread 1's rows start: half the batch when dense; for packed sequences (longest
    first), the row that halves the total number of steps."""
    if N < 2:
        return N
    if len(sizes) == 0 or sizes[-1] == N:
        return N // 2
    lengths = np.cumsum(batch_sizes_of(np.ascontiguousarray(sizes, dtype=np.int64)))
    k = int(np.searchsorted(lengths, lengths[-1] / 2))
    return min(max(k, 1), N - 1)


def _window(sizes: np.ndarray, off: np.ndarray, r0: int, r1: int) -> tuple:
    """sizes and offsets of the batch rows r0:r1 only (see :func:`.recurrence.forward_window`)."""
    return np.clip(sizes, r0, r1) - r0, off + r0


def rows_recur_forward(out, c0, sizes, bias, h0, w_hh, reverse, relu, fptr, hn, mode):
    """:func:`.recurrence.recur_forward_gemm` with the batch split between two threads: the
    sequences are independent, so each thread runs its rows' recurrence with no exchange at
    all, in the variant's ``mode``: GEMM (one single-threaded BLAS call per step) or WIDE
    (the outer products six rows a pass).

    Args:
        out: (T, D*H) the layer's array: x_t W_ih^T on entry, h_t on exit (this direction's columns)
        c0: first column of this direction in the layer arrays (0, or H for the reverse one)
        sizes: (L,) int64 batch_sizes: rows active at each step
        bias: (H,) b_ih + b_hh
        h0: (N, H) initial state
        w_hh: (H, H) W_hh, torch's layout
        reverse: walk the steps from the last to the first (the reverse direction)
        relu: ReLU, else tanh
        fptr: address of NumPy's CBLAS ?gemm for the dtype (_blas.gemm_pointers), 0 without
        hn: (N, H) out: each sequence's state after its last step
        mode: the variant's mode: GEMM (BLAS per step) or WIDE
    """
    N = h0.shape[0]
    k = row_split(sizes, N)
    off = offsets(sizes)
    if mode is WIDE:
        P = pack_columns(w_hh.T, out.dtype)
        h0, hn_ = _C(h0), np.empty_like(h0, order="C")

        def half(r0: int, r1: int) -> tuple:
            s, o = _window(sizes, off, r0, r1)
            return (out, c0, s, o, bias, h0[r0:r1], P, P, reverse, relu, WIDE.token, hn_[r0:r1])

        run_pair(forward_window, half(0, k), half(k, N))
        hn[...] = hn_
        return
    WT = np.ascontiguousarray(w_hh.T)
    run_pair(
        forward_gemm_rows,
        (out, c0, sizes, off, bias, h0, WT, reverse, relu, fptr, 0, k),
        (out, c0, sizes, off, bias, h0, WT, reverse, relu, fptr, k, N),
    )
    hn[...] = h0
    last_states(out, c0, sizes, off, reverse, hn)


def rows_recur_backward(out, g, c0, sizes, g_hn, w_hh, reverse, relu, fptr, delta, dh0, db, mode):
    """:func:`.recurrence.recur_backward_gemm` with the batch split between two threads
    (``mode`` GEMM or WIDE, see :func:`rows_recur_forward`).

    Args:
        out: (T, D*H) the forward's h_t (read)
        g: (T, D*H) gradient of the layer's output
        c0: first column of this direction in the layer arrays (0, or H for the reverse one)
        sizes: (L,) int64 batch_sizes: rows active at each step
        g_hn: (N, H) gradient of h_n
        w_hh: (H, H) W_hh, torch's layout
        reverse: walk the steps from the last to the first (the reverse direction)
        relu: ReLU, else tanh
        fptr: address of NumPy's CBLAS ?gemm for the dtype (_blas.gemm_pointers), 0 without
        delta: (T, D*H) out: dL/dz_t in this direction's columns
        dh0: (N, H) out: gradient of h0
        db: (H,) float64: += the bias gradient
        mode: the variant's mode: GEMM or WIDE
    """
    N = g_hn.shape[0]
    k = row_split(sizes, N)
    off = offsets(sizes)
    db1 = np.zeros_like(db)
    if mode is WIDE:
        P = pack_columns(w_hh, out.dtype)  # dh = delta_t @ W_hh: W_hh is packed here
        g_hn, dh = _C(g_hn), np.empty_like(g_hn, order="C")

        def half(r0: int, r1: int, d: np.ndarray) -> tuple:
            s, o = _window(sizes, off, r0, r1)
            mode = WIDE.token
            return (out, g, c0, s, o, g_hn[r0:r1], P, P, reverse, relu, mode, delta, dh[r0:r1], d)

        run_pair(backward_window, half(0, k, db), half(k, N, db1))
    else:
        dh = g_hn.copy()
        W = _C(w_hh)
        run_pair(
            backward_gemm_rows,
            (out, g, c0, sizes, off, W, reverse, relu, fptr, delta, dh, db, 0, k),
            (out, g, c0, sizes, off, W, reverse, relu, fptr, delta, dh, db1, k, N),
        )
    db += db1
    dh0[...] = dh
