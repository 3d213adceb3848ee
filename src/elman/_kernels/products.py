"""The step products of the compiled recurrences: ``acc[b, :] += x[b, :] @ M.T``.

Loops run over 1-D C-contiguous rows with ``range(n)`` bounds: that is what LLVM vectorises
(a strided or offset loop stays scalar). Two loop forms cover the small shapes (the
explicit-SIMD ones, OUTER and WIDE, are in :mod:`.simd_products`):

* ``dot`` (:func:`mm_dot`) reads rows of ``M`` and reduces over K, four outputs of up to four
  batch rows at a time, so one pass streams ``M`` once for four rows of ``x``: best for
  K >= ~96, where the horizontal sums at the end are amortised.
* ``axpy`` (:func:`mm_axpy`) reads rows of ``MT = M.T`` (K, n), eight at a time, and updates
  whole output rows: best for small K and n (tiny hidden sizes), where ``MT`` sits in L1.

:func:`step_matmul` is the one entry of the step loops: :data:`PRODUCTS` is the table from
step mode (:mod:`.modes`) to product kernel, resolved while typing.
"""

from __future__ import annotations

from numba import njit, typeof
from numba.extending import overload

from ._jit import INLINE, JIT
from .modes import AXPY, DOT, OUTER, WIDE
from .simd_products import mm_outer_rows, mm_wide_rows

__all__ = ["outer_into", "mm_dot", "mm_axpy", "step_matmul", "PRODUCTS"]


@njit(**JIT)
def outer_into(col, row, out):
    """out[r, :] = col[r] * row: the input projection x @ W_ih.T of a one-feature input
    (x (T, 1), W_ih (D*H, 1)), which NumPy's matmul runs without BLAS, ~10x slower."""
    for r in range(out.shape[0]):
        o, c = out[r], col[r]
        for j in range(row.shape[0]):
            o[j] = c * row[j]


@njit(**JIT)
def _dot_one_row(x0, M, a0, n, K):
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
def _dot_two_rows(x0, x1, M, a0, a1, n, K):
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
def _dot_three_rows(x0, x1, x2, M, a0, a1, a2, n, K):
    """_dot_three_rows.

    Args:
        x0: row 0 of x (1-D, >= K)
        x1: row 1 of x (1-D, >= K)
        x2: row 2 of x (1-D, >= K)
        M: (n, >= K) the matrix, rows read
        a0: accumulator row of x0 (1-D, >= n)
        a1: accumulator row of x1 (1-D, >= n)
        a2: accumulator row of x2 (1-D, >= n)
        n: outputs per row
        K: the summed dimension
    """
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
def _dot_four_rows(x0, x1, x2, x3, M, a0, a1, a2, a3, n, K):
    """_dot_four_rows.

    Args:
        x0: row 0 of x (1-D, >= K)
        x1: row 1 of x (1-D, >= K)
        x2: row 2 of x (1-D, >= K)
        x3: row 3 of x (1-D, >= K)
        M: (n, >= K) the matrix, rows read
        a0: accumulator row of x0 (1-D, >= n)
        a1: accumulator row of x1 (1-D, >= n)
        a2: accumulator row of x2 (1-D, >= n)
        a3: accumulator row of x3 (1-D, >= n)
        n: outputs per row
        K: the summed dimension
    """
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
        _dot_four_rows(x0, x1, x2, x3, M, a0, a1, a2, a3, n, K)
        b += 4
    left = rows - b
    if left == 3:
        x0, x1, x2 = x[xr + b], x[xr + b + 1], x[xr + b + 2]
        a0, a1, a2 = acc[ar + b][ac:c1], acc[ar + b + 1][ac:c1], acc[ar + b + 2][ac:c1]
        _dot_three_rows(x0, x1, x2, M, a0, a1, a2, n, K)
    elif left == 2:
        _dot_two_rows(x[xr + b], x[xr + b + 1], M, acc[ar + b][ac:c1], acc[ar + b + 1][ac:c1], n, K)
    elif left == 1:
        _dot_one_row(x[xr + b], M, acc[ar + b][ac:c1], n, K)


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


def step_matmul(mode, x, W, WT, acc, rows, H):
    """acc[:rows] += x[:rows] @ W.T for (H, H) W, with WT = W.T given as well, in the step
    mode whose token ``mode`` is (:mod:`.modes`); for OUTER and WIDE, WT is W.T packed by
    :func:`.simd_products.pack_columns` (W is not read) and acc has the packed width."""
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
