"""Numba building blocks shared by the compiled RNN kernels: activations and small matmuls.

The small per-row helpers are inlined into the kernels of :mod:`._nb_recur`,
:mod:`._nb_split` and :mod:`._nb_fused` (numba ``inline='always'``: no call, and no array
refcounting, per row); the matmul loops are compiled once and shared. Loops run over 1-D
C-contiguous rows with ``range(n)`` bounds: that is what LLVM vectorises (a strided or
offset loop stays scalar). Scalars are typed from the arrays (``a.dtype.type(0)``): a bare
float literal would promote float32 arithmetic to float64.

Two forms of ``acc[b, :] += x[b, :] @ M.T`` (M is (n, K)) cover the shapes:

* ``dot`` (:func:`mm_dot`) reads rows of ``M`` and reduces over K, four outputs of up to four
  batch rows at a time, so one pass streams ``M`` once for four rows of ``x``: best for
  K >= ~96, where the horizontal sums at the end are amortised.
* ``axpy`` (:func:`mm_axpy`) reads rows of ``MT = M.T`` (K, n), eight at a time, and updates
  whole output rows: best for small K and n (tiny hidden sizes), where ``MT`` sits in L1.
"""

from __future__ import annotations

import numpy as np
from numba import njit, typeof, types
from numba.extending import overload

from ._jit import JIT
from ._nb_simd import mm_outer_rows, mm_wide_rows
from .modes import AXPY, DOT, OUTER, WIDE
from .special import TANH32_ONE, TANH64_ONE, tanh_ref

INLINE = {**JIT, "inline": "always"}

# Eigen's float32 tanh: an odd 13/6 rational function of x clamped to +-7.9 (0.99999976).
_C = 7.90531110763549805
_A = (
    -2.76076847742355e-16,
    2.00018790482477e-13,
    -8.60467152213735e-11,
    5.12229709037114e-08,
    1.48572235717979e-05,
    6.37261928875436e-04,
    4.89352455891786e-03,
)
_B = (1.19825839466702e-06, 1.18534705686654e-04, 2.26843463243900e-03, 4.89352518554385e-03)


def tanh(x):  # the Python twin, used when NUMBA_DISABLE_JIT=1
    return tanh_ref(np.asarray(x))


def _tanh32(x):
    f = np.float32
    c = min(max(x, f(-_C)), f(_C))  # (NaN passes through min and max)
    x2 = c * c
    p = x2 * f(_A[0]) + f(_A[1])
    p = p * x2 + f(_A[2])
    p = p * x2 + f(_A[3])
    p = p * x2 + f(_A[4])
    p = p * x2 + f(_A[5])
    p = (p * x2 + f(_A[6])) * c
    q = x2 * f(_B[0]) + f(_B[1])
    q = q * x2 + f(_B[2])
    q = q * x2 + f(_B[3])
    y = p / q
    # exactly +-1 from torch's threshold on (Eigen's clamp alone stops at 0.99999976), so
    # that 1 - h^2 is 0 where torch's is: an inf gradient then gives NaN there, as in
    # torch. One select; NaN fails the test and stays NaN.
    return np.copysign(f(1), x) if abs(x) >= f(TANH32_ONE) else y


def _tanh64(x):
    # libm's tanh is exactly +-1 from |x| = 19.0615474653985 (correctly rounded), torch's
    # from TANH64_ONE, 7e-11 later: the largest value under 1 in between, as torch
    y = np.tanh(x)
    if abs(y) == 1.0 and abs(x) < TANH64_ONE:
        return np.copysign(0.9999999999999999, x)
    return y


@overload(tanh, jit_options=INLINE)
def _tanh_overload(x):
    """float32: the vectorisable rational tanh; float64: libm's (accurate to 1 ulp)."""
    if isinstance(x, types.Float) and x.bitwidth == 32:
        return _tanh32
    return _tanh64


@njit(**JIT)
def copy2(dst, src):
    """dst[:, :n] = src[:, :n], n the narrower width, for 2-D arrays of as many rows (one of
    them may be a padded buffer). (A 2-D slice assignment would compile numba's
    broadcasting error messages, seconds of string code, into every kernel.)"""
    n = min(dst.shape[1], src.shape[1])
    for i in range(src.shape[0]):
        d, s = dst[i], src[i]
        for j in range(n):
            d[j] = s[j]


@njit(**JIT)
def fill2(dst, value):
    """dst[...] = value for a 2-D array (see :func:`copy2`)."""
    for i in range(dst.shape[0]):
        d = dst[i]
        for j in range(dst.shape[1]):
            d[j] = value


@njit(**JIT)
def outer_into(col, row, out):
    """out[r, :] = col[r] * row: the input projection x @ W_ih.T of a one-feature input
    (x (T, 1), W_ih (D*H, 1)), which NumPy's matmul runs without BLAS, ~10x slower."""
    for r in range(out.shape[0]):
        o, c = out[r], col[r]
        for j in range(row.shape[0]):
            o[j] = c * row[j]


@njit(**INLINE)
def activate(a, n, relu):
    """a[:n] = act(a[:n]) in place; a is a 1-D contiguous row. ReLU keeps NaN (as torch's
    clamp_min does): ``0 if v < 0 else v`` is false for NaN, so NaN passes."""
    if relu:
        zero = a.dtype.type(0)
        for j in range(n):
            v = a[j]
            a[j] = zero if v < zero else v
    else:
        for j in range(n):
            a[j] = tanh(a[j])


@njit(**INLINE)
def act_delta(dz, g, h, n, relu):
    """dz[:n] = (dz[:n] + g[:n]) * act'(.), read from the output h: ``* (1 - h^2)`` for
    tanh; for relu torch's threshold_backward, ``0 if h <= 0 else dz + g``: a select, not a
    product, so an inf gradient where h <= 0 gives 0 (not inf * 0 = NaN), and a NaN h
    passes the gradient on (NaN <= 0 is false)."""
    one = dz.dtype.type(1)
    zero = dz.dtype.type(0)
    if relu:
        for j in range(n):
            dz[j] = zero if h[j] <= zero else dz[j] + g[j]
    else:
        for j in range(n):
            dz[j] = (dz[j] + g[j]) * (one - h[j] * h[j])


@njit(**JIT)
def _dot1(x0, M, a0, n, K):
    n4 = n - n % 4
    for j in range(0, n4, 4):
        m0, m1, m2, m3 = M[j], M[j + 1], M[j + 2], M[j + 3]
        s0, s1, s2, s3 = a0[j], a0[j + 1], a0[j + 2], a0[j + 3]
        for k in range(K):
            v = x0[k]
            s0 += v * m0[k]
            s1 += v * m1[k]
            s2 += v * m2[k]
            s3 += v * m3[k]
        a0[j], a0[j + 1], a0[j + 2], a0[j + 3] = s0, s1, s2, s3
    for j in range(n4, n):
        m0 = M[j]
        s0 = a0[j]
        for k in range(K):
            s0 += x0[k] * m0[k]
        a0[j] = s0


@njit(**JIT)
def _dot2(x0, x1, M, a0, a1, n, K):
    n4 = n - n % 4
    for j in range(0, n4, 4):
        m0, m1, m2, m3 = M[j], M[j + 1], M[j + 2], M[j + 3]
        s00, s01, s02, s03 = a0[j], a0[j + 1], a0[j + 2], a0[j + 3]
        s10, s11, s12, s13 = a1[j], a1[j + 1], a1[j + 2], a1[j + 3]
        for k in range(K):
            v0, v1, v2, v3 = m0[k], m1[k], m2[k], m3[k]
            u = x0[k]
            s00 += u * v0
            s01 += u * v1
            s02 += u * v2
            s03 += u * v3
            u = x1[k]
            s10 += u * v0
            s11 += u * v1
            s12 += u * v2
            s13 += u * v3
        a0[j], a0[j + 1], a0[j + 2], a0[j + 3] = s00, s01, s02, s03
        a1[j], a1[j + 1], a1[j + 2], a1[j + 3] = s10, s11, s12, s13
    for j in range(n4, n):
        m0 = M[j]
        s0, s1 = a0[j], a1[j]
        for k in range(K):
            v = m0[k]
            s0 += x0[k] * v
            s1 += x1[k] * v
        a0[j], a1[j] = s0, s1


@njit(**JIT)
def _dot3(x0, x1, x2, M, a0, a1, a2, n, K):
    n4 = n - n % 4
    for j in range(0, n4, 4):
        m0, m1, m2, m3 = M[j], M[j + 1], M[j + 2], M[j + 3]
        s00, s01, s02, s03 = a0[j], a0[j + 1], a0[j + 2], a0[j + 3]
        s10, s11, s12, s13 = a1[j], a1[j + 1], a1[j + 2], a1[j + 3]
        s20, s21, s22, s23 = a2[j], a2[j + 1], a2[j + 2], a2[j + 3]
        for k in range(K):
            v0, v1, v2, v3 = m0[k], m1[k], m2[k], m3[k]
            u = x0[k]
            s00 += u * v0
            s01 += u * v1
            s02 += u * v2
            s03 += u * v3
            u = x1[k]
            s10 += u * v0
            s11 += u * v1
            s12 += u * v2
            s13 += u * v3
            u = x2[k]
            s20 += u * v0
            s21 += u * v1
            s22 += u * v2
            s23 += u * v3
        a0[j], a0[j + 1], a0[j + 2], a0[j + 3] = s00, s01, s02, s03
        a1[j], a1[j + 1], a1[j + 2], a1[j + 3] = s10, s11, s12, s13
        a2[j], a2[j + 1], a2[j + 2], a2[j + 3] = s20, s21, s22, s23
    for j in range(n4, n):
        m0 = M[j]
        s0, s1, s2 = a0[j], a1[j], a2[j]
        for k in range(K):
            v = m0[k]
            s0 += x0[k] * v
            s1 += x1[k] * v
            s2 += x2[k] * v
        a0[j], a1[j], a2[j] = s0, s1, s2


@njit(**JIT)
def _dot4(x0, x1, x2, x3, M, a0, a1, a2, a3, n, K):
    n2 = n - n % 2
    for j in range(0, n2, 2):
        m0, m1 = M[j], M[j + 1]
        s00, s01, s10, s11 = a0[j], a0[j + 1], a1[j], a1[j + 1]
        s20, s21, s30, s31 = a2[j], a2[j + 1], a3[j], a3[j + 1]
        for k in range(K):
            v0, v1 = m0[k], m1[k]
            u = x0[k]
            s00 += u * v0
            s01 += u * v1
            u = x1[k]
            s10 += u * v0
            s11 += u * v1
            u = x2[k]
            s20 += u * v0
            s21 += u * v1
            u = x3[k]
            s30 += u * v0
            s31 += u * v1
        a0[j], a0[j + 1], a1[j], a1[j + 1] = s00, s01, s10, s11
        a2[j], a2[j + 1], a3[j], a3[j + 1] = s20, s21, s30, s31
    for j in range(n2, n):
        m0 = M[j]
        s0, s1, s2, s3 = a0[j], a1[j], a2[j], a3[j]
        for k in range(K):
            v = m0[k]
            s0 += x0[k] * v
            s1 += x1[k] * v
            s2 += x2[k] * v
            s3 += x3[k] * v
        a0[j], a1[j], a2[j], a3[j] = s0, s1, s2, s3


@njit(**JIT)
def mm_dot(x, xr, M, acc, ar, ac, rows, K):
    """acc[ar+i, ac:ac+n] += x[xr+i, :K] @ M[:, :K].T for i < rows; M is (n, >=K).

    x, M and acc are 2-D C-contiguous; each row is taken as a 1-D contiguous slice.
    """
    n = M.shape[0]
    c1 = ac + n
    b = 0
    while rows - b >= 4:
        x0, x1, x2, x3 = x[xr + b], x[xr + b + 1], x[xr + b + 2], x[xr + b + 3]
        a0, a1 = acc[ar + b][ac:c1], acc[ar + b + 1][ac:c1]
        a2, a3 = acc[ar + b + 2][ac:c1], acc[ar + b + 3][ac:c1]
        _dot4(x0, x1, x2, x3, M, a0, a1, a2, a3, n, K)
        b += 4
    left = rows - b
    if left == 3:
        x0, x1, x2 = x[xr + b], x[xr + b + 1], x[xr + b + 2]
        a0, a1, a2 = acc[ar + b][ac:c1], acc[ar + b + 1][ac:c1], acc[ar + b + 2][ac:c1]
        _dot3(x0, x1, x2, M, a0, a1, a2, n, K)
    elif left == 2:
        _dot2(x[xr + b], x[xr + b + 1], M, acc[ar + b][ac:c1], acc[ar + b + 1][ac:c1], n, K)
    elif left == 1:
        _dot1(x[xr + b], M, acc[ar + b][ac:c1], n, K)


@njit(**INLINE)
def axpy_row(x, MT, a, K, n):
    """a[:n] += x[:K] @ MT[:K, :n], eight rows of MT per pass over a."""
    K8 = K - K % 8
    for k in range(0, K8, 8):
        m0, m1, m2, m3 = MT[k], MT[k + 1], MT[k + 2], MT[k + 3]
        m4, m5, m6, m7 = MT[k + 4], MT[k + 5], MT[k + 6], MT[k + 7]
        c0, c1, c2, c3 = x[k], x[k + 1], x[k + 2], x[k + 3]
        c4, c5, c6, c7 = x[k + 4], x[k + 5], x[k + 6], x[k + 7]
        for j in range(n):
            a[j] += (c0 * m0[j] + c1 * m1[j] + c2 * m2[j] + c3 * m3[j]) + (
                c4 * m4[j] + c5 * m5[j] + c6 * m6[j] + c7 * m7[j]
            )
    for k in range(K8, K):
        m0 = MT[k]
        c0 = x[k]
        for j in range(n):
            a[j] += c0 * m0[j]


@njit(**INLINE)
def mm_axpy(x, xr, MT, acc, ar, ac, rows, K):
    """acc[ar+i, ac:ac+n] += x[xr+i, :K] @ MT[:K, :n] for i < rows (see :func:`mm_dot`)."""
    n = MT.shape[1]
    for b in range(rows):
        axpy_row(x[xr + b], MT, acc[ar + b][ac : ac + n], K, n)


@njit(**INLINE)
def outer_acc(d, v, G, n, m):
    """G[:n, :m] += outer(d[:n], v[:m]): one rank-1 update of a weight gradient."""
    for j in range(n):
        c = d[j]
        g = G[j]
        for i in range(m):
            g[i] += c * v[i]


def step_matmul(mode, x, W, WT, acc, rows, H):
    """acc[:rows] += x[:rows] @ W.T for (H, H) W, with WT = W.T given as well, in the step
    mode whose token ``mode`` is (:mod:`.modes`); for OUTER and WIDE, WT is W.T packed by
    :func:`._nb_simd.pack_columns` (W is not read) and acc has the packed width."""
    _BY_TYPE[type(mode)](mode, x, W, WT, acc, rows, H)  # as Python (NUMBA_DISABLE_JIT=1)


def _step_axpy(mode, x, W, WT, acc, rows, H):
    mm_axpy(x, 0, WT, acc, 0, 0, rows, H)


def _step_dot(mode, x, W, WT, acc, rows, H):
    mm_dot(x, 0, W, acc, 0, 0, rows, H)


def _step_outer(mode, x, W, WT, acc, rows, H):
    mm_outer_rows(x, WT, acc, rows, H)


def _step_wide(mode, x, W, WT, acc, rows, H):
    mm_wide_rows(x, WT, acc, rows, H)


# the one table from step mode to product kernel (GEMM and SPLIT run kernels of their own)
PRODUCTS = {AXPY: _step_axpy, DOT: _step_dot, OUTER: _step_outer, WIDE: _step_wide}
_BY_TYPE = {type(m.token): product for m, product in PRODUCTS.items()}
_BY_TOKEN = {typeof(m.token): product for m, product in PRODUCTS.items()}


@overload(step_matmul, jit_options=JIT)
def _step_matmul_overload(mode, x, W, WT, acc, rows, H):
    """Resolved while typing: the kernel calling it contains its mode's product only."""
    return _BY_TOKEN[mode]
