"""The fused forward's recurrences, stepped together where they are independent.

For small H a step of one recurrence is a short dependent chain (H multiply-adds, then the
tanh, ~20-45 ns) that leaves most of the core idle. Two recurrences that do not wait for
each other can share those idle cycles on ONE core, with no thread hand-over: the core's
out-of-order window overlaps their chains when their steps sit side by side in the loop.
Two such pairs exist in an RNN stack:

* the two directions of a bidirectional layer (step s of the forward direction and step
  L-1-s of the reverse one): :func:`directions_steps`;
* the layers of a one-direction stack as a wavefront: layer l at step t needs layer l-1's
  output of step t only, so in wave s layer l runs step s-l, its input projection of that
  step included: :func:`wave_steps`.

Every output is the same sum in the same order as the layer-after-layer loops (the
projection four units at a time from the bias, then the step's product in unit order), so
the results are bit for bit those of the loops this replaces.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._jit import INLINE, JIT
from .activations import tanh

__all__ = ["directions_steps", "wave_steps", "project_row", "recurrent_weights"]


@njit(**INLINE)
def project_row(src, sl, mask, r, w_ih, k, bias, out, lo, row, H, In):
    """out[lo, row, :H] = (src[sl, r] * mask[sl, r]) @ w_ih[k, :, :In].T + bias[k] (mask of
    0 layers: none): four units at a time, four independent sums, each from its bias (as
    the fused forward's projection of a whole layer).

    Args:
        src: (NL, T, >= In) the layers' outputs, layer sl read
        sl: the layer read
        mask: (NL-1, T, >= In) the dropout masks, or (0, ...): none
        r: the row read
        w_ih: (K, H, >= In) the input weights of the recurrences
        k: which of them
        bias: (K, H) b_ih + b_hh of each recurrence
        out: (NL, T, >= H) the outputs
        lo: the layer of out written
        row: the row of out written
        H: hidden size
        In: input width
    """
    H4 = H - H % 4
    masked = mask.shape[0] > 0
    for j in range(0, H4, 4):
        s0, s1, s2, s3 = bias[k, j], bias[k, j + 1], bias[k, j + 2], bias[k, j + 3]
        for i in range(In):
            v = src[sl, r, i] * mask[sl, r, i] if masked else src[sl, r, i]
            s0 += v * w_ih[k, j, i]
            s1 += v * w_ih[k, j + 1, i]
            s2 += v * w_ih[k, j + 2, i]
            s3 += v * w_ih[k, j + 3, i]
        out[lo, row, j] = s0
        out[lo, row, j + 1] = s1
        out[lo, row, j + 2] = s2
        out[lo, row, j + 3] = s3
    for j in range(H4, H):
        s = bias[k, j]
        for i in range(In):
            v = src[sl, r, i] * mask[sl, r, i] if masked else src[sl, r, i]
            s += v * w_ih[k, j, i]
        out[lo, row, j] = s


@njit(**INLINE)
def _step(out, lo, o, b, c0, h, k, w_hh, relu, H):
    """One step of recurrence k for its b active rows from row o: out[lo, o + i, c0 : c0 + H]
    holds x_t W_ih^T + bias on entry and h_t on exit; h[k, i] is the state, w_hh[k] the
    recurrence's W_hh. (3-D indexing throughout: a view per row costs two atomic
    refcounts.)"""
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
def recurrent_weights(wbuf, starts, ins, H, has_bias, k0, K, with_ih):
    """W_ih (K, H, In_max), W_hh (K, H, H) and b_ih + b_hh (K, H) of the recurrences
    k0 .. k0 + K - 1, copied out of the flat parameters (``starts[k]``: where recurrence k
    begins in wbuf, ``ins[k]``: its input width; ``with_ih`` False: W_ih (K, H, 0), not
    copied)."""
    In_max = 0
    for k in range(K if with_ih else 0):
        In_max = max(In_max, ins[k0 + k])
    w_ih = np.zeros((K, H, In_max), dtype=wbuf.dtype)
    w_hh = np.empty((K, H, H), dtype=wbuf.dtype)
    bias = np.zeros((K, H), dtype=wbuf.dtype)
    for k in range(K):
        p, In = starts[k0 + k], ins[k0 + k]
        for j in range(H if with_ih else 0):
            for i in range(In):
                w_ih[k, j, i] = wbuf[p + j * In + i]
        p += H * In
        for j in range(H):
            for kk in range(H):
                w_hh[k, j, kk] = wbuf[p + j * H + kk]
        p += H * H
        if has_bias:
            for j in range(H):
                bias[k, j] = wbuf[p + j] + wbuf[p + H + j]
    return w_ih, w_hh, bias


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


@njit(**JIT)
def wave_steps(sizes, off, h0, w_ih, w_hh, bias, masks, relu, outs, hn):
    """A one-direction stack of NL layers as a wavefront (see the module): in wave s, layer
    l >= 1 projects and runs step s - l (its input: layer l-1's output of that step, done in
    wave s-1, times its dropout mask); layer 0's projection of every step is in outs[0]
    on entry. Fills outs (NL, T, H) and hn (NL, N, H).

    Args:
        sizes: (L,) int64 batch_sizes: rows active at each step
        off: (L + 1,) int64 step offsets
        h0: (NL, N, H) initial states
        w_ih: (NL, H, >= H) the layers' W_ih (layer 0's unread)
        w_hh: (NL, H, H)
        bias: (NL, H) b_ih + b_hh
        masks: (NL-1, T, H), or (0, T, H): no dropout
        relu: ReLU, else tanh
        outs: (NL, T, H): layer 0's projection on entry; every layer's h_t on exit
        hn: (NL, N, H) out
    """
    NL, N, H = h0.shape
    L = len(sizes)
    h = np.empty((NL, N, H), dtype=outs.dtype)
    for k in range(NL):
        for i in range(N):
            for j in range(H):
                h[k, i, j] = h0[k, i, j]
    for s in range(L + NL - 1):
        for layer in range(max(0, s - L + 1), min(NL, s + 1)):
            t = s - layer
            o, b = off[t], sizes[t]
            if layer > 0:
                for i in range(b):
                    project_row(outs, layer - 1, masks, o + i, w_ih, layer, bias, outs, layer,
                                o + i, H, H)  # fmt: skip
            _step(outs, layer, o, b, 0, h, layer, w_hh, relu, H)
    for k in range(NL):
        for i in range(N):
            for j in range(H):
                hn[k, i, j] = h[k, i, j]
