"""The fused forward's recurrences of one layer: a bidirectional layer's two directions
stepped together.

For small H a step of one recurrence is a short dependent chain (H multiply-adds, then the
tanh, ~20-45 ns) that leaves most of the core idle. The two directions of a layer do not
wait for each other, so they share those idle cycles on ONE core, with no thread hand-over:
step s of the forward direction and step L-1-s of the reverse one sit side by side in the
loop, and the core's out-of-order window overlaps their chains.

Every output is the same sum in the same order as the direction-after-direction loop this
replaces, so the results are bit for bit the same. (A one-direction stack's layers as a
wavefront on one core, layer l at step s-l, measured 111 -> 101 ns a step on (5000, 1, 3,
8, 2) float32 but added ~5 s, a third, to the cold compile of the default path under load:
left out.)
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._jit import INLINE, JIT
from .activations import tanh

__all__ = ["directions_steps", "recurrent_weights"]


@njit(**INLINE)
def _step(out, lo, o, b, c0, h, k, w_hh, relu, H):
    """One step of recurrence k for its b active rows from row o: x_t W_ih^T + bias on
    entry, h_t on exit. (3-D indexing throughout: a view per row costs two atomic
    refcounts.)

    Args:
        out: (NL, T, D*H) the outputs (in place)
        lo: the layer of out
        o: the step's first row
        b: active rows
        c0: first column of the recurrence's direction
        h: (K, N, H) the states, h[k] this recurrence's
        k: which recurrence
        w_hh: (K, H, H) the recurrences' W_hh
        relu: ReLU, else tanh
        H: hidden size
    """
    zero = out.dtype.type(0)
    # float32's tanh inline for H < 8 (each compiles tighter: H = 4 0.71 -> 0.74 ms for
    # 2000 steps of 4 rows, a separate loop 0.95); float64's in a loop of its own always,
    # where it vectorises (H = 6, one row: 150 -> 80 ns a step, the scalar one is a chain)
    inline = H < 8 and out.itemsize == 4
    for i in range(b):
        row = o + i
        if relu:
            for j in range(H):
                s = out[lo, row, c0 + j]
                for kk in range(H):
                    s += h[k, i, kk] * w_hh[k, j, kk]
                out[lo, row, c0 + j] = zero if s < zero else s  # (NaN passes, as torch's)
        elif inline:
            for j in range(H):
                s = out[lo, row, c0 + j]
                for kk in range(H):
                    s += h[k, i, kk] * w_hh[k, j, kk]
                out[lo, row, c0 + j] = tanh(s)
        else:
            for j in range(H):
                s = out[lo, row, c0 + j]
                for kk in range(H):
                    s += h[k, i, kk] * w_hh[k, j, kk]
                out[lo, row, c0 + j] = s
            for j in range(H):
                out[lo, row, c0 + j] = tanh(out[lo, row, c0 + j])
        for j in range(H):
            h[k, i, j] = out[lo, row, c0 + j]


@njit(**JIT)
def recurrent_weights(wbuf, starts, ins, H, k0, K):
    """W_hh (K, H, H) of the recurrences k0 .. k0 + K - 1, copied out of the flat
    parameters (``starts[k]``: where recurrence k begins in wbuf, ``ins[k]``: its input
    width): one array to index, no view per step."""
    w_hh = np.empty((K, H, H), dtype=wbuf.dtype)
    for k in range(K):
        p = starts[k0 + k] + H * ins[k0 + k]
        for j in range(H):
            for kk in range(H):
                w_hh[k, j, kk] = wbuf[p + j * H + kk]
    return w_hh


@njit(**JIT)
def directions_steps(out, lo, sizes, off, h0, k0, w_hh, relu, hn):
    """The recurrences of one layer's D directions (out[lo]'s columns d*H : (d+1)*H hold
    x_t W_ih^T + bias on entry, h_t on exit), stepped together: step s of direction 0 and
    step L-1-s of direction 1 in one iteration. States from h0[k0 + d], into hn[k0 + d].

    Args:
        out: (NL, T, D*H) the outputs (in place)
        lo: the layer of out
        sizes: (L,) int64 batch_sizes: rows active at each step
        off: (L + 1,) int64 step offsets
        h0: (NL*D, N, H) initial states
        k0: the layer's first recurrence (layer * D)
        w_hh: (D, H, H) the directions' W_hh
        relu: ReLU, else tanh
        hn: (NL*D, N, H) out
    """
    D, H = w_hh.shape[0], w_hh.shape[1]
    N = h0.shape[1]
    h = np.empty((D, N, H), dtype=out.dtype)
    for d in range(D):
        for i in range(N):
            for j in range(H):
                h[d, i, j] = h0[k0 + d, i, j]
    L = len(sizes)
    for s in range(L):
        for d in range(D):
            t = L - 1 - s if d == 1 else s
            _step(out, lo, off[t], sizes[t], d * H, h, d, w_hh, relu, H)
    for d in range(D):
        for i in range(N):
            for j in range(H):
                hn[k0 + d, i, j] = h[d, i, j]
