"""Two stacked layers on two cores at once: a layer wavefront.

For a few sequences and a large hidden size, a step of one layer is bound by streaming W_hh
from cache, and the hidden-unit split of :mod:`.split_recurrence` pays a cross-core exchange of
h_t and a barrier at every step. Two stacked layers can instead run side by side: thread 0
runs layer ``l``'s recurrence (its whole W_hh resident in its core's L2) chunk after chunk
of steps; thread 1 follows one chunk behind with layer ``l + 1``, whose input rows thread 0
has finished. Layer ``l + 1``'s input projection of each chunk is one GEMM, its output
columns shared between the two threads, so both threads do the same work per chunk
(recurrence + half a projection).

Thread 0 never waits; thread 1 waits on two progress counters (:func:`.waiting.wait_for`:
spin, yield, then block until woken): "layer l done through chunk k" and "thread 0's half
of chunk k's projection done". A busy sibling core therefore delays the pair by its own
lost time only, not at every step.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._blas import NO_TRANS, gemm
from ._jit import NOGIL
from .array_loops import copy_rows, offsets
from .config import WAVE_CHUNK_ROWS, WAVE_CHUNK_STEPS
from .handover import run_pair, split_point
from .modes import OUTER
from .recurrence import forward_steps, step_width
from .simd_products import mm_outer, pack_columns
from .waiting import LINE, arrive, new_flags, wait_for

__all__ = ["wave_pair_forward", "chunk_steps"]


@njit(**NOGIL)
def _project(fptr, src, mask, scratch, r0, m, WcT, Pc, dst, p0):
    """dst[r0:r0+m, p0:p0+n] = (src * mask)[r0:r0+m] @ WcT, WcT (K, n) C-contiguous; Pc is
    WcT packed (:func:`.simd_products.pack_columns`), for when there is no BLAS (fptr 0).

    Without a mask (``mask`` of 0 rows) the rows of ``src`` are read in place; with one,
    they are multiplied into ``scratch`` first (dropout between the two layers).

    Args:
        fptr: address of NumPy's CBLAS ?gemm for the dtype (_blas.gemm_pointers), 0 without
        src: rows to project
        mask: (T, K) mask of src, 0 rows: none
        scratch: (m, K) for the masked rows
        r0: first row
        m: rows
        WcT: (K, n) C-contiguous
        Pc: WcT packed (no BLAS)
        dst: the target array
        p0: first column of dst written
    """
    if m == 0:
        return
    K, n = WcT.shape
    a, a0 = src, r0
    if mask.shape[0] > 0:
        for i in range(m):
            s, mk, d = src[r0 + i], mask[r0 + i], scratch[i]
            for j in range(K):
                d[j] = s[j] * mk[j]
        a, a0 = scratch, 0
    if fptr:
        gemm(fptr, NO_TRANS, m, n, K, a, a0, 0, WcT, False, dst, r0, p0)
    else:  # the packed product writes whole vectors: through a padded buffer
        acc = np.zeros((m, step_width(Pc, K)), dtype=dst.dtype)
        zero = np.int64(0)
        mm_outer(a, a0, Pc, acc, zero, zero, m, K)
        for i in range(m):
            d, v = dst[r0 + i], acc[i]
            for j in range(n):
                d[p0 + j] = v[j]


@njit(**NOGIL)
def wave_forward(
    c, out0, out1, sizes, bounds, bias, h, W, WT, relu, mode, mask, WcT, Pc, p0, fptr, flags
):
    """Thread c's part of a layer pair (see the module docstring).

    out0 (T, H): layer l's projection on entry (thread 0 turns it into h_t); out1 (T, H):
    layer l+1's array (its projection is written here chunk by chunk, then h_t); bounds:
    the chunks' first steps and L; bias (H,), h (N, H) state (h0 in, h_n out), W / WT:
    this thread's layer's b_ih + b_hh, state and W_hh (and W_hh.T, packed for the OUTER
    ``mode``, see :func:`.products.step_matmul`); WcT: the transpose of rows p0: of layer
    l+1's W_ih, the ones this thread projects ((K, n): BLAS is fastest with it), Pc the same
    packed; flags: two progress counters.

    Args:
        c: this thread's index, 0 or 1
        out0: (T, H) layer l's projection on entry (thread 0 makes it h_t)
        out1: (T, H) layer l+1's array: its projection, then its h_t
        sizes: (L,) int64 batch_sizes: rows active at each step
        bounds: the chunks' first steps, and L
        bias: (H,) b_ih + b_hh
        h: (N, H) this thread's layer's state
        W: this thread's layer's W_hh (packed for OUTER)
        WT: W_hh.T (packed for OUTER)
        relu: ReLU, else tanh
        mode: the step product: a modes.Mode (Python side) or its token (compiled side)
        mask: (T, H) dropout mask between the layers, 0 rows: none
        WcT: (K, n) the transpose of the rows p0: of layer l+1's W_ih this thread projects
        Pc: WcT packed, for when there is no BLAS
        p0: first output column this thread projects
        fptr: address of NumPy's CBLAS ?gemm for the dtype (_blas.gemm_pointers), 0 without
        flags: the pair's progress counters (waiting.new_flags)
    """
    off = offsets(sizes)
    z = np.empty((h.shape[0], step_width(WT, h.shape[1])), dtype=h.dtype)
    mrows = 0
    for k in range(len(bounds) - 1):
        mrows = max(mrows, off[bounds[k + 1]] - off[bounds[k]])
    scratch = np.empty((mrows if mask.shape[0] > 0 else 0, out0.shape[1]), dtype=out0.dtype)
    for k in range(len(bounds) - 1):
        t0, t1 = bounds[k], bounds[k + 1]
        r0, m = off[t0], off[t1] - off[t0]
        if c == 0:
            forward_steps(out0, 0, sizes[t0:t1], off[t0:t1], bias, h, z, W, WT, False, relu, mode)
            arrive(flags, 0, k + 1)
            _project(fptr, out0, mask, scratch, r0, m, WcT, Pc, out1, p0)
            arrive(flags, LINE, k + 1)
        else:
            if not wait_for(flags, 0, k + 1):
                return False
            _project(fptr, out0, mask, scratch, r0, m, WcT, Pc, out1, p0)
            if not wait_for(flags, LINE, k + 1):
                return False
            forward_steps(out1, 0, sizes[t0:t1], off[t0:t1], bias, h, z, W, WT, False, relu, mode)
    return True


def chunk_steps(N: int) -> int:
    """Steps per chunk: ~WAVE_CHUNK_ROWS rows (a projection GEMM worth calling), within
    WAVE_CHUNK_STEPS (the pipeline fills and drains in one chunk)."""
    least, most = WAVE_CHUNK_STEPS
    return min(most, max(least, -(-WAVE_CHUNK_ROWS // max(N, 1))))


def wave_pair_forward(out0, out1, sizes, biases, h0, w_hh, w_ih1, mask, relu, fptr, hn):
    """Layers l and l+1 of a unidirectional stack on two threads.

    out0 (T, H): layer l's input projection on entry, its h_t on exit; out1 (T, H): layer
    l+1's h_t on exit. biases, h0, w_hh, hn: pairs (layer l, layer l+1) of (H,), (N, H),
    (H, H), (N, H); w_ih1 (H, H): layer l+1's W_ih; mask (T, H) or None: dropout applied to
    layer l's output before layer l+1; fptr: NumPy's ?gemm or 0. The steps run in the OUTER
    mode (compiled code only).

    Args:
        out0: (T, H) layer l's projection on entry, its h_t on exit
        out1: (T, H) out: layer l+1's h_t
        sizes: (L,) int64 batch_sizes: rows active at each step
        biases: (layer l, layer l+1) b_ih + b_hh
        h0: (2, N, H) the pair's initial states
        w_hh: (layer l, layer l+1) W_hh
        w_ih1: (H, H) layer l+1's W_ih
        mask: (T, H) dropout mask between the two layers, or None / 0 rows: none
        relu: ReLU, else tanh
        fptr: address of NumPy's CBLAS ?gemm for the dtype (_blas.gemm_pointers), 0 without
        hn: (2, N, H) out: the pair's h_n
    """
    N, H = h0[0].shape
    L = len(sizes)
    S = chunk_steps(N)
    bounds = np.append(np.arange(0, L, S, dtype=np.int64), np.int64(L))
    flags = new_flags()
    p = split_point(H)
    m = np.empty((0, 0), dtype=out0.dtype) if mask is None else np.ascontiguousarray(mask)
    states = [np.array(h, dtype=out0.dtype, order="C") for h in h0]

    def part(c: int, rows: slice) -> tuple:
        P = pack_columns(w_hh[c].T, out0.dtype)
        wct = np.ascontiguousarray(w_ih1[rows].T, dtype=out0.dtype)
        Pc = pack_columns(wct) if not fptr else np.empty(0, dtype=out0.dtype)
        bias, h, p0 = biases[c], states[c], rows.start or 0
        mode = OUTER.token
        return (
            c,
            out0,
            out1,
            sizes,
            bounds,
            bias,
            h,
            P,
            P,
            relu,
            mode,
            m,
            wct,
            Pc,
            p0,
            fptr,
            flags,
        )

    run_pair(wave_forward, part(0, slice(0, p)), part(1, slice(p, H)), flags)
    copy_rows(hn[0], states[0])
    copy_rows(hn[1], states[1])
