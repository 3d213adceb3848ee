"""Explicit SIMD for numba kernels: a vector type and the step product built on it.

LLVM's loop vectoriser turns the row loops of :mod:`.products` into SIMD code, but it can only
keep a *reduction* in registers (the ``dot`` form, which ends every output in a horizontal
sum), never a block of output columns across a loop over K. The step product of a
recurrence, ``acc[i, :] += x[i, :K] @ MT`` for a few rows ``i``, is fastest in exactly that
register-blocked outer-product form: per k, load one row of a block of MT (four vectors),
broadcast x[i, k] for up to four rows (six in :func:`mm_wide`), up to 24 FMAs, accumulators
never leaving registers, no horizontal sums. This module builds :func:`mm_outer` and
:func:`mm_wide` that way, on the vector type and intrinsics of :mod:`.simd_vector`.

``MT`` is packed once per call by :func:`pack_columns` into column blocks of B vectors
(K, B*V) stored one after the other, so each block streams from memory as one sequential run
(software-prefetched 4 KiB ahead). The packed width ``Hp`` is H rounded up to whole vectors;
the accumulator rows must have ``Hp`` columns (the padding columns receive zeros).

The register width is the host's: 64 bytes with AVX-512 (32 registers: blocks of B = 4
vectors, 24 accumulators for six rows), 32 with AVX2 and 16 otherwise (16 registers: B = 2,
so the accumulators of six rows still fit). ``ELMAN_SIMD_BYTES`` (16, 32 or 64) overrides the width
(tests run the narrower layouts on any host).
These kernels need compiled code (no ``NUMBA_DISABLE_JIT``): callers fall back to the loop
forms of :mod:`.products` there. The padding columns may receive NaN (an inf in x times a
zero of the padding); nothing reads them back.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from . import scratch
from ._jit import INLINE, JIT
from .config import PREFETCH_BYTES
from .simd_vector import (
    VECTOR_BYTES,
    lanes,
    lanes_of,
    prefetch,
    vadd,
    vbroadcast,
    vfma,
    vload,
    vstore,
    vzero,
)

__all__ = [
    "VECTOR_BYTES",
    "BLOCK_VECTORS",
    "lanes_of",
    "pack_columns",
    "mm_outer",
    "mm_outer_rows",
    "mm_wide",
    "mm_wide_rows",
    "outer_width",
]

BLOCK_VECTORS = 4 if VECTOR_BYTES == 64 else 2  # vectors per column block


@njit(**INLINE)
def _add_into(a, j, v):
    vstore(a, j, vadd(vload(a, j), v))


@njit(**INLINE)
def _block(x0, x1, x2, x3, r, P, base, K, nv, a0, a1, a2, a3, j):
    """Rows a0..a(r-1) [j : j + nv*V] += rows x0..x(r-1) [:K] @ the (K, nv*V) block of P
    starting at ``base``; r <= 4, nv <= 4. Inlined where r and nv are constants, so that
    the tests on them fold away (:func:`mm_outer`).

    Args:
        x0: rows of x (up to four; the unused ones may repeat one)
        x1: second row of x
        x2: third row of x
        x3: fourth row of x
        r: rows used, 1 to 4
        P: the packed matrix (pack_columns)
        base: where the block starts in P
        K: the summed dimension
        nv: vectors in the block, 1 to BLOCK_VECTORS
        a0: accumulator row of x0
        a1: accumulator row of x1
        a2: accumulator row of x2
        a3: accumulator row of x3
        j: first column of the block in the accumulator rows
    """
    V = lanes(P)
    s00, s01, s02, s03 = vzero(P), vzero(P), vzero(P), vzero(P)
    s10, s11, s12, s13 = vzero(P), vzero(P), vzero(P), vzero(P)
    s20, s21, s22, s23 = vzero(P), vzero(P), vzero(P), vzero(P)
    s30, s31, s32, s33 = vzero(P), vzero(P), vzero(P), vzero(P)
    w0, w1, w2, w3 = vzero(P), vzero(P), vzero(P), vzero(P)
    ahead = PREFETCH_BYTES // (VECTOR_BYTES // V)
    last = P.shape[0] - 1
    o = base
    for k in range(K):
        q = min(o + ahead, last)
        prefetch(P, q)
        w0 = vload(P, o)
        if nv > 1:
            prefetch(P, min(q + V, last))
            w1 = vload(P, o + V)
        if nv > 2:
            prefetch(P, min(q + 2 * V, last))
            w2 = vload(P, o + 2 * V)
        if nv > 3:
            prefetch(P, min(q + 3 * V, last))
            w3 = vload(P, o + 3 * V)
        b = vbroadcast(x0, k)
        s00, s01, s02, s03 = vfma(w0, b, s00), vfma(w1, b, s01), vfma(w2, b, s02), vfma(w3, b, s03)
        if r > 1:
            b = vbroadcast(x1, k)
            s10, s11 = vfma(w0, b, s10), vfma(w1, b, s11)
            s12, s13 = vfma(w2, b, s12), vfma(w3, b, s13)
        if r > 2:
            b = vbroadcast(x2, k)
            s20, s21 = vfma(w0, b, s20), vfma(w1, b, s21)
            s22, s23 = vfma(w2, b, s22), vfma(w3, b, s23)
        if r > 3:
            b = vbroadcast(x3, k)
            s30, s31 = vfma(w0, b, s30), vfma(w1, b, s31)
            s32, s33 = vfma(w2, b, s32), vfma(w3, b, s33)
        o += nv * V
    _store_row(a0, j, nv, V, s00, s01, s02, s03)
    if r > 1:
        _store_row(a1, j, nv, V, s10, s11, s12, s13)
    if r > 2:
        _store_row(a2, j, nv, V, s20, s21, s22, s23)
    if r > 3:
        _store_row(a3, j, nv, V, s30, s31, s32, s33)


@njit(**INLINE)
def _store_row(a, j, nv, V, s0, s1, s2, s3):
    _add_into(a, j, s0)
    if nv > 1:
        _add_into(a, j + V, s1)
    if nv > 2:
        _add_into(a, j + 2 * V, s2)
    if nv > 3:
        _add_into(a, j + 3 * V, s3)


@njit(**JIT)
def _block_any(x0, x1, x2, x3, r, P, base, K, nv, a0, a1, a2, a3, j):
    """:func:`_block` for any r and nv (the narrower last block of columns).

    Args:
        x0: rows of x (up to four; the unused ones may repeat one)
        x1: second row of x
        x2: third row of x
        x3: fourth row of x
        r: rows used, 1 to 4
        P: the packed matrix (pack_columns)
        base: where the block starts in P
        K: the summed dimension
        nv: vectors in the block, 1 to BLOCK_VECTORS
        a0: accumulator row of x0
        a1: accumulator row of x1
        a2: accumulator row of x2
        a3: accumulator row of x3
        j: first column of the block in the accumulator rows
    """
    _block(x0, x1, x2, x3, r, P, base, K, nv, a0, a1, a2, a3, j)


@njit(**JIT)
def _block_six_rows(x, xr, P, base, K, acc, ar, j):
    """acc[ar : ar+6, j : j + B*V] += x[xr : xr+6, :K] @ the (K, B*V) block of P at ``base``
    (B = BLOCK_VECTORS): the six-row form of :func:`_block`, written out rather than
    inlined from it (Numba's IR inlining of a six-row :func:`_block` cost ~7 s of compile
    time per dtype, this form ~0.7 s). Six rows of B vectors keep 6*B accumulators in
    registers (24 of the 32 with AVX-512, 12 of 16 otherwise); per k, B loads of P feed 6*B
    FMAs, so P streams from L2 at the full FMA rate (blocks of four rows reached ~77%).
    """
    V = lanes(P)
    x0, x1, x2, x3, x4, x5 = x[xr], x[xr + 1], x[xr + 2], x[xr + 3], x[xr + 4], x[xr + 5]
    s00, s01, s02, s03 = vzero(P), vzero(P), vzero(P), vzero(P)
    s10, s11, s12, s13 = vzero(P), vzero(P), vzero(P), vzero(P)
    s20, s21, s22, s23 = vzero(P), vzero(P), vzero(P), vzero(P)
    s30, s31, s32, s33 = vzero(P), vzero(P), vzero(P), vzero(P)
    s40, s41, s42, s43 = vzero(P), vzero(P), vzero(P), vzero(P)
    s50, s51, s52, s53 = vzero(P), vzero(P), vzero(P), vzero(P)
    w0, w1, w2, w3 = vzero(P), vzero(P), vzero(P), vzero(P)
    wide = BLOCK_VECTORS == 4
    ahead = PREFETCH_BYTES // (VECTOR_BYTES // V)
    last = P.shape[0] - 1
    o = base
    for k in range(K):
        q = min(o + ahead, last)
        prefetch(P, q)
        prefetch(P, min(q + V, last))
        w0, w1 = vload(P, o), vload(P, o + V)
        if wide:
            prefetch(P, min(q + 2 * V, last))
            prefetch(P, min(q + 3 * V, last))
            w2, w3 = vload(P, o + 2 * V), vload(P, o + 3 * V)
        b = vbroadcast(x0, k)
        s00, s01, s02, s03 = vfma(w0, b, s00), vfma(w1, b, s01), vfma(w2, b, s02), vfma(w3, b, s03)
        b = vbroadcast(x1, k)
        s10, s11, s12, s13 = vfma(w0, b, s10), vfma(w1, b, s11), vfma(w2, b, s12), vfma(w3, b, s13)
        b = vbroadcast(x2, k)
        s20, s21, s22, s23 = vfma(w0, b, s20), vfma(w1, b, s21), vfma(w2, b, s22), vfma(w3, b, s23)
        b = vbroadcast(x3, k)
        s30, s31, s32, s33 = vfma(w0, b, s30), vfma(w1, b, s31), vfma(w2, b, s32), vfma(w3, b, s33)
        b = vbroadcast(x4, k)
        s40, s41, s42, s43 = vfma(w0, b, s40), vfma(w1, b, s41), vfma(w2, b, s42), vfma(w3, b, s43)
        b = vbroadcast(x5, k)
        s50, s51, s52, s53 = vfma(w0, b, s50), vfma(w1, b, s51), vfma(w2, b, s52), vfma(w3, b, s53)
        o += BLOCK_VECTORS * V
    nv = BLOCK_VECTORS
    _store_row(acc[ar], j, nv, V, s00, s01, s02, s03)
    _store_row(acc[ar + 1], j, nv, V, s10, s11, s12, s13)
    _store_row(acc[ar + 2], j, nv, V, s20, s21, s22, s23)
    _store_row(acc[ar + 3], j, nv, V, s30, s31, s32, s33)
    _store_row(acc[ar + 4], j, nv, V, s40, s41, s42, s43)
    _store_row(acc[ar + 5], j, nv, V, s50, s51, s52, s53)


@njit(**JIT)
def mm_outer(x, xr, P, acc, ar, ac, rows, K):
    """acc[ar+i, ac:ac+Hp] += x[xr+i, :K] @ MT for i < rows, MT (K, H) packed in ``P`` by
    :func:`pack_columns` (Hp = P.size // K: acc needs that many columns from ``ac``).

    Rows go four at a time: each pass streams P once for up to four rows of x.
    """
    V = lanes(P)
    Hp = P.shape[0] // K if K > 0 else 0
    i = 0
    while i < rows:
        r = min(4, rows - i)
        i1, i2, i3 = i + min(1, r - 1), i + min(2, r - 1), i + min(3, r - 1)
        x0, x1, x2, x3 = x[xr + i], x[xr + i1], x[xr + i2], x[xr + i3]
        a0, a1, a2, a3 = acc[ar + i], acc[ar + i1], acc[ar + i2], acc[ar + i3]
        j = 0
        base = 0
        while j < Hp:
            nv = min(BLOCK_VECTORS, (Hp - j) // V)
            c = ac + j
            # whole blocks of four and three rows (most of the work for N >= 3) with
            # constants folded in; the rest through one generic copy (compile time: each
            # inlined copy costs ~0.7 s of LLVM per dtype)
            if nv == BLOCK_VECTORS and r == 4:
                _block(x0, x1, x2, x3, 4, P, base, K, BLOCK_VECTORS, a0, a1, a2, a3, c)
            elif nv == BLOCK_VECTORS and r == 3:
                _block(x0, x1, x2, x3, 3, P, base, K, BLOCK_VECTORS, a0, a1, a2, a3, c)
            else:
                _block_any(x0, x1, x2, x3, r, P, base, K, nv, a0, a1, a2, a3, c)
            base += K * nv * V
            j += nv * V
        i += 4


@njit(**INLINE)
def mm_outer_rows(x, P, acc, rows, K):
    """:func:`mm_outer` from row 0 of x into row 0, column 0 of acc. (Offsets typed int64
    rather than as literal zeros: one compiled version of mm_outer serves every caller.)"""
    zero = np.int64(0)
    mm_outer(x, zero, P, acc, zero, zero, rows, K)


@njit(**JIT)
def mm_wide(x, xr, P, acc, ar, ac, rows, K):
    """:func:`mm_outer` six rows a pass (:func:`_block_six_rows`) while there are 9 or more (or
    exactly 6), the rest through :func:`mm_outer`: for many rows (the batch halves of the
    ``rows`` variant). A separate function so that the paths for a few rows do not compile
    the six-row block (~1.2 s of LLVM per dtype)."""
    V = lanes(P)
    W = BLOCK_VECTORS * V
    Hp = P.shape[0] // K if K > 0 else 0
    full = Hp // W * W  # columns in whole blocks
    i = 0
    while rows - i >= 9 or rows - i == 6:
        base = 0
        for j in range(0, full, W):
            _block_six_rows(x, xr + i, P, base, K, acc, ar + i, ac + j)
            base += K * W
        if full < Hp:  # the narrower last block of columns, four rows and two
            nv = (Hp - full) // V
            for i0, r in ((i, 4), (i + 4, 2)):
                m = r - 1
                i1, i2, i3 = i0 + min(1, m), i0 + min(2, m), i0 + min(3, m)
                x0, x1, x2, x3 = x[xr + i0], x[xr + i1], x[xr + i2], x[xr + i3]
                a0, a1, a2, a3 = acc[ar + i0], acc[ar + i1], acc[ar + i2], acc[ar + i3]
                _block_any(x0, x1, x2, x3, r, P, base, K, nv, a0, a1, a2, a3, ac + full)
        i += 6
    mm_outer(x, xr + i, P, acc, ar + i, ac, rows - i, K)


@njit(**INLINE)
def mm_wide_rows(x, P, acc, rows, K):
    """:func:`mm_wide` from row 0 of x into row 0, column 0 of acc (see :func:`mm_outer_rows`)."""
    zero = np.int64(0)
    mm_wide(x, zero, P, acc, zero, zero, rows, K)


def outer_width(H: int, dtype: np.dtype) -> int:
    """Hp: H rounded up to whole vectors of ``dtype``."""
    v = lanes_of(dtype)
    return -(-H // v) * v


def pack_columns(MT: np.ndarray, dtype: np.dtype | None = None) -> np.ndarray:
    """MT (K, H) as :func:`mm_outer` reads it: columns zero-padded to Hp, then blocks of
    BLOCK_VECTORS vectors (K, B*V) (the last one narrower) one after the other, flat.

    The result comes from the scratch pool (:mod:`.scratch`) from 256 KB (H >= ~256): W_hh
    is packed at every call, and fresh pages there cost more than the packing (a
    (755, 755) float32 W_hh: 2.3 MB, ~570 page faults a call, 6.5 ms of a 9 ms one-step
    call on a VM whose faults cost 5-28 us each)."""
    dtype = np.dtype(dtype or MT.dtype)
    K, H = MT.shape
    V, Hp = lanes_of(dtype), outer_width(H, dtype)
    out = (scratch.zeros if Hp != H else scratch.empty)((K * Hp,), dtype)
    pos = 0
    for j in range(0, Hp, BLOCK_VECTORS * V):
        w = min(BLOCK_VECTORS * V, Hp - j)
        block = out[pos : pos + K * w].reshape(K, w)
        block[:, : max(0, min(w, H - j))] = MT[:, j : min(j + w, H)]
        pos += K * w
    return out
