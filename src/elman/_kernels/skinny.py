"""A Linear with few output features over many rows (a head on every step of the RNN): its
forward and its whole backward in one compiled pass each.

OpenBLAS is slow on products with 8 or 16 output columns: the head of a (200, 64, 128)
output, ``x @ W.T`` with W (8, 128), took ~1.3 ms of float32 (~10 GFLOP/s), ``g @ W`` and
``g.T @ x`` as long again, where reading x (6.5 MB) once takes ~0.2 ms. Here, on the
SIMD vectors of :mod:`.simd_vector`:

* :func:`forward`: ``out = x @ W.T + b`` with the lanes over the outputs (all O in one
  vector: W.T zero-padded to (K, V)), four rows a pass: per k, one load of W.T's row, a
  broadcast of x[i, k] and an FMA per row; written straight into the output's layout (a
  batch-first view of the RNN's (L, N, H) output is read in memory order and the
  (N, L, O) result written through its transposed view: no copy, no separate pass for
  the bias, added after the product as BLAS's addmm does);
* :func:`backward`: per row, ``dx = g @ W``, ``dW += g^T x`` and ``db += g`` in one pass over
  x and g, the lanes over K (the last vector masked). dW is summed over blocks of 64 rows
  in the input's dtype, the blocks (and db) in float64. (Keeping dW's accumulators in
  registers over runs of rows measured no faster: the pass is bound by x and dx's memory
  traffic, and runs of 64 rows walked too many separate lines at once.)

Rows are split between elman's two threads (:func:`.handover.run_pair`) from
:data:`SKINNY_TWO_THREADS` multiply-adds when two may run; the helper's half of dW and db
is added at the end. Compiled code only: the callers keep NumPy's products without numba.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._blas import two_threads_allowed
from ._jit import NOGIL
from .handover import run_pair
from .simd_vector import (
    lanes,
    lanes_of,
    vadd,
    vbroadcast,
    vfma,
    vload,
    vload_n,
    vmul,
    vstore,
    vstore_n,
    vzero,
)

__all__ = [
    "SKINNY_OUT",
    "SKINNY_MIN_WORK",
    "SKINNY_TWO_THREADS",
    "applies",
    "forward",
    "backward",
]

SKINNY_OUT = 16  # at most this many output features
SKINNY_MIN_WORK = 1 << 16  # multiply-adds: below, NumPy's product (the call costs ~the same)
SKINNY_TWO_THREADS = 1 << 22  # multiply-adds from which the rows go to the two threads
_BLOCK = 64  # rows of dW summed in the input's dtype before joining the float64 total


@njit(**NOGIL)
def _forward_rows(xf, K, B, wt, bp, bias, out, i0, i1):
    """out[a, j, :O] = x[a, j] @ W.T (+ b) for the flat rows i0 <= i = a * B + j < i1.
    Four rows a pass (four accumulators: the FMAs' latency hidden), lanes over the outputs.

    Args:
        xf: x (A, B, K) C-contiguous, flat
        K: the input features
        B: x's second dimension (a flat row i is x[i // B, i % B])
        wt: (K * V,) W.T with its O columns zero-padded to one vector of V lanes
        bp: (V,) the bias, zero-padded
        bias: whether to add bp
        out: (A, B, O) any strides
        i0: the first flat row
        i1: the end of the rows
    """
    V = lanes(wt)
    O = out.shape[2]
    buf = np.empty(4 * V, dtype=wt.dtype)
    i = i0
    while i < i1:
        r = min(4, i1 - i)
        p0 = i * K
        p1 = (i + min(1, r - 1)) * K
        p2 = (i + min(2, r - 1)) * K
        p3 = (i + min(3, r - 1)) * K
        s0, s1, s2, s3 = vzero(wt), vzero(wt), vzero(wt), vzero(wt)
        for k in range(K):
            wk = vload(wt, k * V)
            s0 = vfma(vbroadcast(xf, p0 + k), wk, s0)
            s1 = vfma(vbroadcast(xf, p1 + k), wk, s1)
            s2 = vfma(vbroadcast(xf, p2 + k), wk, s2)
            s3 = vfma(vbroadcast(xf, p3 + k), wk, s3)
        if bias:
            bv = vload(bp, 0)
            s0, s1, s2, s3 = vadd(s0, bv), vadd(s1, bv), vadd(s2, bv), vadd(s3, bv)
        vstore(buf, 0, s0)
        vstore(buf, V, s1)
        vstore(buf, 2 * V, s2)
        vstore(buf, 3 * V, s3)
        for q in range(r):
            a = (i + q) // B
            j = i + q - a * B
            for o in range(O):
                out[a, j, o] = buf[q * V + o]
        i += 4
    return True


@njit(**NOGIL)
def _backward_rows(xf, K, B, g, wf, dxf, dw, db, i0, i1, need_x, need_w):
    """For the flat rows i0 <= i = a * B + j < i1: dx[i] = g[a, j] @ W (need_x), and
    dw += g[a, j]^T x[i] (need_w), db += g[a, j] (always). Lanes over K (a last, narrower
    vector masked).

    Args:
        xf: x (A, B, K) C-contiguous, flat
        K: the input features
        B: x's second dimension (a flat row i is x[i // B, i % B])
        g: (A, B, O) the output's gradient, any strides
        wf: W (O, K) C-contiguous, flat
        dxf: dx (A, B, K) C-contiguous, flat (empty without need_x)
        dw: (O, K) float64, added to
        db: (O,) float64, added to
        i0: the first flat row
        i1: the end of the rows
        need_x: compute dx
        need_w: sum dw
    """
    V = lanes(wf)
    O = g.shape[2]
    full = K // V * V
    tail = K - full
    gb = np.empty(O, dtype=wf.dtype)
    blk = np.zeros(O * K, dtype=wf.dtype)
    n = 0
    for i in range(i0, i1):
        a = i // B
        j = i - a * B
        for o in range(O):
            gb[o] = g[a, j, o]
            db[o] += gb[o]
        p = i * K
        if need_x:
            for c in range(0, full, V):
                s = vmul(vbroadcast(gb, 0), vload(wf, c))
                for o in range(1, O):
                    s = vfma(vbroadcast(gb, o), vload(wf, o * K + c), s)
                vstore(dxf, p + c, s)
            if tail:
                s = vmul(vbroadcast(gb, 0), vload_n(wf, full, tail))
                for o in range(1, O):
                    s = vfma(vbroadcast(gb, o), vload_n(wf, o * K + full, tail), s)
                vstore_n(dxf, p + full, s, tail)
        if need_w:
            for o in range(O):
                go = vbroadcast(gb, o)
                q = o * K
                for c in range(0, full, V):
                    vstore(blk, q + c, vfma(go, vload(xf, p + c), vload(blk, q + c)))
                if tail:
                    t = vfma(go, vload_n(xf, p + full, tail), vload_n(blk, q + full, tail))
                    vstore_n(blk, q + full, t, tail)
            n += 1
            if n == _BLOCK or i == i1 - 1:
                for o in range(O):
                    for k in range(K):
                        dw[o, k] += blk[o * K + k]
                        blk[o * K + k] = 0
                n = 0
    return True


def _halves(rows: int, work: int) -> int:
    """Where the helper's rows start; 0: all on the calling thread."""
    if rows >= 2 and work >= SKINNY_TWO_THREADS and two_threads_allowed():
        return rows // 2
    return 0


def applies(rows: int, K: int, O: int, dtype: np.dtype) -> bool:
    """Whether a Linear of K -> O features over ``rows`` rows of ``dtype`` runs here: O
    outputs in one vector (at most :data:`SKINNY_OUT`), enough work to repay the call."""
    return (
        dtype.char in "fd"
        and dtype.isnative
        and 1 <= O <= min(SKINNY_OUT, lanes_of(dtype))
        and K >= 1
        and rows * K * O >= SKINNY_MIN_WORK
    )


def forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, out: np.ndarray) -> None:
    """``out[...] = x @ w.T (+ b)``: x (A, B, K) C-contiguous, w (O, K), b (O,) or None,
    out (A, B, O) any strides, all of one float dtype (:func:`applies`)."""
    A, B, K = x.shape
    O = w.shape[0]
    rows = A * B
    V = lanes_of(x.dtype)
    wt = np.zeros((K, V), dtype=x.dtype)
    wt[:, :O] = w.T
    bp = np.zeros(V, dtype=x.dtype)
    if b is not None:
        bp[:O] = b
    xf, wf, has = x.reshape(-1), wt.reshape(-1), b is not None
    m = _halves(rows, rows * K * O)
    if m:
        run_pair(
            _forward_rows, (xf, K, B, wf, bp, has, out, 0, m), (xf, K, B, wf, bp, has, out, m, rows)
        )
    else:
        _forward_rows(xf, K, B, wf, bp, has, out, 0, rows)


def backward(
    x: np.ndarray, g: np.ndarray, w: np.ndarray, dx: np.ndarray | None, need_w: bool
) -> tuple[np.ndarray | None, np.ndarray]:
    """x (A, B, K) C-contiguous, g (A, B, O), w (O, K); dx (A, B, K) C-contiguous receives
    ``g @ w`` (None: not wanted). Returns (dW (O, K) or None, db (O,)) in x's dtype."""
    A, B, K = x.shape
    O = w.shape[0]
    rows = A * B
    wf = np.ascontiguousarray(w).reshape(-1)
    need_x = dx is not None
    dxf = dx.reshape(-1) if dx is not None else np.empty(0, dtype=x.dtype)
    xf = x.reshape(-1)
    dw, db = np.zeros((O, K)), np.zeros(O)
    m = _halves(rows, rows * K * O * (int(need_x) + int(need_w)))
    if m:
        dw1, db1 = np.zeros((O, K)), np.zeros(O)
        run_pair(
            _backward_rows,
            (xf, K, B, g, wf, dxf, dw, db, 0, m, need_x, need_w),
            (xf, K, B, g, wf, dxf, dw1, db1, m, rows, need_x, need_w),
        )
        dw += dw1
        db += db1
    else:
        _backward_rows(xf, K, B, g, wf, dxf, dw, db, 0, rows, need_x, need_w)
    return (dw.astype(x.dtype) if need_w else None), db.astype(x.dtype)
