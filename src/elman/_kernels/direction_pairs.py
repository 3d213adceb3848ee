"""The two directions of one layer side by side, one thread each (variant
``layered-pairs`` on a bidirectional stack): each direction's recurrence and BPTT in OUTER
loops (:mod:`.recurrence`), the first step apart when it needs no product
(:mod:`.first_step`), as :func:`.layered_stack.recur_forward_in` runs one direction.
"""

from __future__ import annotations

import numpy as np

from .first_step import first_backward, first_rows, pays, zero_start
from .handover import run_pair
from .modes import OUTER
from .recurrence import recur_backward, recur_forward
from .simd_products import pack_columns

__all__ = ["directions_forward", "directions_backward"]


def directions_forward(out, sizes, biases, h0, w_hh, relu, hn):
    """Both directions of one layer at once, one thread each (OUTER loops): columns 0:H of
    ``out`` forward in time, H:2H in reverse; h0 and hn: the layer's two (N, H) states."""
    H = h0.shape[2]
    halves = []
    for d in range(2):
        o, s, h = out, sizes, h0[d]
        rest = zero_start(out, d * H, sizes, biases[d], h, w_hh[d], d == 1, relu)
        if rest is not None:  # the first step is done; the others start from its states
            o, s, h = rest
            if len(s) == 0:
                hn[d] = h
                continue
        P = pack_columns(w_hh[d].T, out.dtype)
        halves.append((o, d * H, s, biases[d], h, P, P, d == 1, relu, OUTER.token, hn[d]))
    _run_halves(recur_forward, halves)


def _run_halves(kernel, halves: list) -> None:
    """The directions left to run: two on the two threads, one on this one."""
    if len(halves) == 2:
        run_pair(kernel, *halves)
    elif halves:
        kernel(*halves[0])


def directions_backward(out, g, sizes, g_hn, w_hh, relu, delta, dh0, db, need_dh0=True):
    """BPTT of both directions of one layer at once, one thread each (see
    :func:`directions_forward`); db (2H,) float64 receives both bias gradients.

    Args:
        out: (T, 2H) the forward's h_t, both directions
        g: (T, 2H) gradient of the output
        sizes: (L,) int64 batch_sizes: rows active at each step
        g_hn: (2, N, H)
        w_hh: the two W_hh
        relu: ReLU, else tanh
        delta: (T, 2H) out
        dh0: (2, N, H) out (unwritten without ``need_dh0``)
        db: (2H,) float64: += both bias gradients
        need_dh0: dh0 is read; else each first step runs apart, without the product that
            only makes dh0 (:mod:`.first_step`)
    """
    H = g_hn.shape[2]
    halves, firsts = [], []
    for d in range(2):
        c0, cols = d * H, slice(d * H, (d + 1) * H)
        o_, g_, delta_, s, dh = out, g, delta, sizes, dh0[d]
        first = first_rows(out.shape[0], sizes, d == 1) if len(sizes) else (0, 0, None, None)
        if not need_dh0 and pays(first[1], H, first[3] is not None and not len(first[3])):
            o, n, rest, s = first
            o_, g_, delta_ = out[rest], g[rest], delta[rest]
            dh = np.empty_like(g_hn[d]) if len(s) else g_hn[d]
            firsts.append((out, g, o, n, c0, dh, relu, delta, db[cols]))
            if len(s) == 0:
                continue
        P = pack_columns(w_hh[d], out.dtype)  # dh = delta_t @ W_hh: W_hh is packed here
        mode = OUTER.token
        halves.append((o_, g_, c0, s, g_hn[d], P, P, d == 1, relu, mode, delta_, dh, db[cols]))
    _run_halves(recur_backward, halves)
    for args in firsts:
        first_backward(*args)
