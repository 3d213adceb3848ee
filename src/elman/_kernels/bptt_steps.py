"""The BPTT of one layer for small H (H at most two SIMD registers), its directions stepped
together, dW_hh and the bias gradient summed inside the step loop.

A backward step of one row is a short dependent chain: dz_t = (dh + g_t) * act'(h_t), then
dh <- dz_t @ W_hh (the chain's bound: ~6 ns for H <= 8, docs/performance.md). The loop
forms of :mod:`.recurrence` spend 40-47 ns on it: the state goes through memory H times a
step, the product's H-wide rows fall in the vector loop's remainder, and each row takes two
views (atomic reference counts). Here a row's state is one vector, or two from H > lanes
(:mod:`.simd_vector`, the lanes past H masked off on every load and store of the layer
arrays), W_hh's rows are vectors padded with zeros, and the product is a broadcast-FMA tree
over four accumulators a vector:
dh_{t-1} = ((sum_{j%4=0} + sum_{j%4=1}) + (sum_{j%4=2} + sum_{j%4=3})) dz_t[j] W_hh[j, :].

Everything else of the step is off that chain and fills the core's idle slots: dL/dz_t is
stored for dW_ih and dX (one GEMM each after the loop, :mod:`.layered_stack`); dW_hh +=
dz_t^T h_{t-1} (h_{t-1} read once here, instead of a second pass over delta and the
outputs: a GEMM over all steps) and the bias gradient into partial sums in the dtype over
``config.FUSED_GRAD_BLOCK`` steps, each block added into a float64 total (as
:mod:`.fused_stack_loops` does: the rounding grows with the block, not with L). A
bidirectional layer's two directions walk in one loop (step L-1-s of the forward one
and step s of the reverse one side by side, as :mod:`.fused_steps` does for the
forward): their chains overlap on one core.

The values differ from the loop forms' only in the rounding of the sums (the product's
order of terms; dW_hh's blocks against a GEMM's): a few ulp, well inside the tolerances
against torch (tests/_kernels/test_bptt_steps.py). NaN and inf as there: tanh's derivative
is ``(dh + g) * (1 - h^2)``, relu's a select (NaN passes), no product skips a zero; the
padding lanes never reach a real one (only the real lanes of dz are broadcast).

Compiled code only (the vector type): :func:`serves` says no under NUMBA_DISABLE_JIT and
for H wider than two registers, and the caller runs the loop forms there.
"""

from __future__ import annotations

import numpy as np
from numba import config as numba_config
from numba import njit

from ._jit import INLINE, JIT
from .array_loops import offsets
from .config import BPTT_DW_MIN_H, BPTT_DW_ROWS, BPTT_GEMM_ROWS
from .config import FUSED_GRAD_BLOCK as _BLOCK
from .simd_vector import (
    lanes,
    lanes_of,
    vadd,
    vbroadcast,
    vfma,
    vload,
    vload_n,
    vmul,
    vpass_above,
    vstore,
    vstore_n,
    vsub,
    vzero,
)

__all__ = ["serves", "replaces_gemm", "dw_in_loop", "layer_bptt", "directions_bptt"]


def serves(H: int, dtype: np.dtype) -> bool:
    """Whether :func:`layer_bptt` runs this layer: H within two vector registers of
    ``dtype``, compiled code."""
    return not numba_config.DISABLE_JIT and 0 < H <= 2 * lanes_of(dtype)


def replaces_gemm(N: int, H: int, dtype: np.dtype) -> bool:
    """Whether :func:`layer_bptt` runs in place of the GEMM mode's BPTT (a BLAS call a
    step): H served, and a step's rows times the vectors a row at most
    config.BPTT_GEMM_ROWS (beyond, BLAS's step product is the faster)."""
    vectors = 1 if H <= lanes_of(dtype) else 2
    return serves(H, dtype) and N * vectors <= BPTT_GEMM_ROWS


def dw_in_loop(N: int, H: int, dtype: np.dtype) -> bool:
    """Whether :func:`layer_bptt` sums dW_hh in its step loop (config.BPTT_DW_MIN_H,
    BPTT_DW_ROWS: each row adds H vector stores a step; one GEMM after the loop is cheaper
    for many rows or tiny H)."""
    vectors = 1 if H <= lanes_of(dtype) else 2
    return H >= BPTT_DW_MIN_H and N * vectors <= BPTT_DW_ROWS


def layer_bptt(out, g, sizes, g_hn, h0, w_hh, relu, need_dh0, delta, dh0, db, in_loop=None):
    """BPTT of one layer's D directions (:func:`directions_bptt`); returns dW_hh (D, H, H)
    in the dtype, or None when it is left to one GEMM after the loop (:func:`dw_in_loop`).
    ``delta`` (T, D*H) C-contiguous is filled; dh0 (D, N, H) is written only with
    ``need_dh0``; db (D*H,) float64 gets the bias gradient added.

    Args:
        out: (T, D*H) the forward's h_t
        g: (T, D*H) gradient of the layer's output
        sizes: (L,) int64 batch_sizes: rows active at each step
        g_hn: (D, N, H) gradient of h_n
        h0: (D, N, H) initial states
        w_hh: the D directions' (H, H) W_hh
        relu: ReLU, else tanh
        need_dh0: the gradient of h0 is wanted
        delta: (T, D*H) out: dL/dz_t
        dh0: (D, N, H) out (with need_dh0)
        db: (D*H,) float64: += the bias gradient
        in_loop: sum dW_hh in the step loop (None: as :func:`dw_in_loop` says)
    """
    dt = out.dtype
    D = len(w_hh)
    H = g_hn.shape[-1]
    o, g_, gn, h = (np.ascontiguousarray(a, dtype=dt).reshape(-1) for a in (out, g, g_hn, h0))
    W = np.empty((D, H, H), dtype=dt)
    for d in range(D):
        W[d] = w_hh[d]
    dw = np.empty((D, H, H), dtype=dt)
    dh = np.empty(D * g_hn.shape[-2] * H, dtype=dt)
    assert delta.flags.c_contiguous and serves(H, dt)
    if in_loop is None:
        in_loop = dw_in_loop(g_hn.shape[-2], H, dt)
    off, dz = offsets(sizes), delta.reshape(-1)
    directions_bptt(o, g_, gn, h, sizes, off, W, relu, need_dh0, in_loop, dz, dh, db, dw)
    if need_dh0:
        dh0[...] = dh.reshape(dh0.shape)
    return dw if in_loop else None


@njit(**JIT)
def directions_bptt(
    out, g, g_hn, h0, sizes, off, w_hh, relu, need_dh0, in_loop, delta, dh0, db, dw_hh
):
    """BPTT of one layer's D directions, stepped together; every array is flat (C order):

    Args:
        out: (T*D*H,) the forward's h_t
        g: (T*D*H,) gradient of the layer's output
        g_hn: (D*N*H,) gradient of h_n
        h0: (D*N*H,) initial states
        sizes: (L,) int64 batch_sizes: rows active at each step
        off: (L + 1,) int64 step offsets
        w_hh: (D, H, H) the directions' W_hh
        relu: ReLU, else tanh
        need_dh0: make dh0 (else the first step's product, which only makes it, is left out)
        in_loop: sum dW_hh in the step loop (else dw_hh is left unwritten)
        delta: (T*D*H,) out: dL/dz_t
        dh0: (D*N*H,) out: gradient of h0 (with need_dh0)
        db: (D*H,) float64: += the bias gradient
        dw_hh: (D, H, H) out: gradient of W_hh (with in_loop)
    """
    D, H = w_hh.shape[0], w_hh.shape[1]
    N = g_hn.shape[0] // (D * H)
    V = lanes(out)
    R = V if H <= V else 2 * V  # a row's width in the vector arrays: one or two vectors
    wp = np.zeros(D * H * R, dtype=out.dtype)  # W_hh's rows, each padded to R
    for d in range(D):
        for j in range(H):
            for k in range(H):
                wp[(d * H + j) * R + k] = w_hh[d, j, k]
    dh = np.zeros(D * N * R, dtype=out.dtype)  # the states' gradients, R a row
    for d in range(D):
        for i in range(N):
            for k in range(H):
                dh[(d * N + i) * R + k] = g_hn[(d * N + i) * H + k]
    tot = np.zeros((D, H, H))  # dW_hh, float64 sum of the blocks
    nv = 1 if H <= V else 2
    _steps(out, g, h0, sizes, off, wp, relu, need_dh0, in_loop, delta, dh, db, tot, H, nv)
    for d in range(D):
        for j in range(H):
            for k in range(H):
                dw_hh[d, j, k] = tot[d, j, k]
    if need_dh0:
        for d in range(D):
            for i in range(N):
                for k in range(H):
                    dh0[(d * N + i) * H + k] = dh[(d * N + i) * R + k]


@njit(**JIT)
def _steps(out, g, h0, sizes, off, wp, relu, need_dh0, in_loop, delta, dh, db, tot, H, nv):
    """The step loop of :func:`directions_bptt` for rows of ``nv`` vectors (1 or 2).

    Args:
        out: (T*D*H,) the forward's h_t
        g: (T*D*H,) gradient of the layer's output
        h0: (D*N*H,) initial states
        sizes: (L,) int64 batch_sizes: rows active at each step
        off: (L + 1,) int64 step offsets
        wp: (D*H*R,) W_hh's rows padded to R = nv vectors
        relu: ReLU, else tanh
        need_dh0: make dh0 (else the last walked step's product is left out)
        in_loop: sum dW_hh into tot
        delta: (T*D*H,) out: dL/dz_t
        dh: (D*N*R,) the states' gradients: g_hn's on entry, dh0's on exit
        db: (D*H,) float64: += the bias gradient
        tot: (D, H, H) float64: += dW_hh (with in_loop)
        H: hidden size
        nv: vectors a row (1 or 2)
    """
    D = tot.shape[0]
    N = h0.shape[0] // (D * H)
    DH = D * H
    L = len(sizes)
    V = lanes(out)
    R = nv * V
    n0 = min(H, V)  # the first vector's lanes, and the second's
    n1 = H - n0
    one = vbroadcast(np.ones(1, dtype=out.dtype), 0)
    z = vzero(out)
    # dW_hh's rows: this block's partial sums, four sets (row i adds into set i % 4: the
    # load-FMA-store of consecutive rows do not wait for each other)
    S = D * H * R
    dw = np.zeros(4 * S, dtype=out.dtype)
    part = np.zeros(D * R, dtype=out.dtype)  # the bias sums of this block of steps
    zs = np.empty(R, dtype=out.dtype)  # dz_t of a row: whole vectors stored, lanes loaded
    H4 = H - H % 4
    for s in range(L):
        last = s == L - 1
        for d in range(D):
            t = s if d == 1 else L - 1 - s
            b, o = sizes[t], off[t]
            nxt = t + 1 if d == 1 else t - 1  # the step whose state step t consumed
            nb = sizes[nxt] if 0 <= nxt < L else 0
            c0 = d * H
            wr = d * H * R
            pv, pw = vload(part, d * R), z
            if nv > 1:
                pw = vload(part, d * R + V)
            for i in range(b):
                p = (o + i) * DH + c0
                q = (d * N + i) * R
                ws = (i % 4) * S  # this row's set of dW_hh sums
                a = vadd(vload(dh, q), vload_n(g, p, n0))
                hv = vload_n(out, p, n0)
                dz = vpass_above(hv, a) if relu else vmul(a, vsub(one, vmul(hv, hv)))
                vstore_n(delta, p, dz, n0)
                vstore(zs, 0, dz)  # (a masked store would not forward to the loads below)
                pv = vadd(pv, dz)
                # h_{t-1}: out's row of step nxt, or h0's (no array variable assigned in
                # the loop: each assignment is two atomic reference counts)
                hp = (off[nxt] + i) * DH + c0 if i < nb else (d * N + i) * H
                if i < nb:
                    h_a = vload_n(out, hp, n0)
                else:
                    h_a = vload_n(h0, hp, n0)
                h_b = z
                if nv > 1:
                    a = vadd(vload(dh, q + V), vload_n(g, p + V, n1))
                    hv = vload_n(out, p + V, n1)
                    dz = vpass_above(hv, a) if relu else vmul(a, vsub(one, vmul(hv, hv)))
                    vstore_n(delta, p + V, dz, n1)
                    vstore(zs, V, dz)
                    pw = vadd(pw, dz)
                    if i < nb:
                        h_b = vload_n(out, hp + V, n1)
                    else:
                        h_b = vload_n(h0, hp + V, n1)
                # dh_{t-1} = dz_t @ W_hh (four sums a vector), dW_hh += dz_t^T h_{t-1}
                a0, a1, a2, a3 = z, z, z, z
                c0_, c1, c2, c3 = z, z, z, z
                for j in range(0, H4, 4):
                    b0, b1 = vbroadcast(zs, j), vbroadcast(zs, j + 1)
                    b2, b3 = vbroadcast(zs, j + 2), vbroadcast(zs, j + 3)
                    r = wr + j * R
                    u = ws + r
                    a0 = vfma(b0, vload(wp, r), a0)
                    a1 = vfma(b1, vload(wp, r + R), a1)
                    a2 = vfma(b2, vload(wp, r + 2 * R), a2)
                    a3 = vfma(b3, vload(wp, r + 3 * R), a3)
                    if in_loop:
                        _accumulate(dw, u, b0, h_a)
                        _accumulate(dw, u + R, b1, h_a)
                        _accumulate(dw, u + 2 * R, b2, h_a)
                        _accumulate(dw, u + 3 * R, b3, h_a)
                    if nv > 1:
                        c0_ = vfma(b0, vload(wp, r + V), c0_)
                        c1 = vfma(b1, vload(wp, r + R + V), c1)
                        c2 = vfma(b2, vload(wp, r + 2 * R + V), c2)
                        c3 = vfma(b3, vload(wp, r + 3 * R + V), c3)
                    if nv > 1 and in_loop:
                        _accumulate(dw, u + V, b0, h_b)
                        _accumulate(dw, u + R + V, b1, h_b)
                        _accumulate(dw, u + 2 * R + V, b2, h_b)
                        _accumulate(dw, u + 3 * R + V, b3, h_b)
                for j in range(H4, H):
                    bj = vbroadcast(zs, j)
                    r = wr + j * R
                    a0 = vfma(bj, vload(wp, r), a0)
                    if in_loop:
                        _accumulate(dw, ws + r, bj, h_a)
                    if nv > 1:
                        c0_ = vfma(bj, vload(wp, r + V), c0_)
                        if in_loop:
                            _accumulate(dw, ws + r + V, bj, h_b)
                if need_dh0 or not last:
                    vstore(dh, q, vadd(vadd(a0, a1), vadd(a2, a3)))
                    if nv > 1:
                        vstore(dh, q + V, vadd(vadd(c0_, c1), vadd(c2, c3)))
            vstore(part, d * R, pv)
            if nv > 1:
                vstore(part, d * R + V, pw)
        if (s + 1) % _BLOCK == 0 or last:  # the blocks' sums into the float64 totals
            for d in range(D):
                for j in range(H):
                    db[d * H + j] += part[d * R + j]
                    part[d * R + j] = 0
                for j in range(H):
                    r = (d * H + j) * R
                    for k in range(H):
                        e = r + k  # the four sets: (0 + 1) + (2 + 3)
                        tot[d, j, k] += (dw[e] + dw[S + e]) + (dw[2 * S + e] + dw[3 * S + e])
                        dw[e] = dw[S + e] = dw[2 * S + e] = dw[3 * S + e] = 0


@njit(**INLINE)
def _accumulate(dw, r, b, h):
    """dw[r : r + lanes] += b * h."""
    vstore(dw, r, vfma(b, h, vload(dw, r)))
