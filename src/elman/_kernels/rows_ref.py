"""Row kernels for the layers around the RNN (NumPy reference; :mod:`.rows_compiled` is the
compiled twin): the Embedding's backward and the cross-entropy's log-softmax.

``scatter_add_rows`` adds gradient rows in index order, one after the other, as torch's
CPU ``embedding_dense_backward`` does, so float32 sums of repeated indices round as torch's.

``softmax_nll_rows`` and ``nll_grad_rows`` are cross-entropy's common case (class-index
targets, no class weights, no label smoothing) as one pass each way: the loss per row and
the softmax forward, the gradient ``s (p - onehot(t))`` backward.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "scatter_add_rows",
    "log_softmax_rows",
    "softmax_nll_rows",
    "nll_grad_rows",
    "column_sums",
    "add_rows_into",
]


def scatter_add_rows(out: np.ndarray, rows: np.ndarray, g: np.ndarray, skip: int) -> None:
    """``out[rows[k]] += g[k]`` for k = 0, 1, ... in order, skipping rows equal to ``skip``
    (-1: none). out (R, D), rows (K,) integers in [0, R), g (K, D)."""
    keep = rows != skip
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf is nan, silently (torch)
        np.add.at(out, rows[keep], g[keep])


def log_softmax_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The log-softmax and the softmax of each row of x (M, C), C >= 1, as torch's kernel
    computes them: with m the row's maximum (nan if the row holds a nan), ``e = exp(x - m)``,
    ``logp = (x - m) - log(sum(e))`` and ``p = e / sum(e)``. Rows of ±inf give nan, as torch.
    Returns (logp, p), both (M, C) of x's dtype."""
    m = np.max(x, axis=1, keepdims=True)  # (M, 1)
    with np.errstate(invalid="ignore", over="ignore"):
        shifted = x - m
        e = np.exp(shifted)
        s = e.sum(axis=1, keepdims=True)  # (M, 1)
        return shifted - np.log(s), e / s


def softmax_nll_rows(
    x: np.ndarray, t: np.ndarray, ignore_index: int
) -> tuple[np.ndarray, np.ndarray, float, int, int]:
    """Cross-entropy of each row of x (M, C), C >= 1, with class-index targets t (M,)
    (int64): with ``logp, p = log_softmax_rows(x)``, row i's loss is ``-logp[i, t[i]]``, or
    0 where ``t[i] == ignore_index``.

    Returns (p, loss, total, count, bad): p (M, C) the softmax; loss (M,) the rows' losses
    in x's dtype; total their sum accumulated in float64 (as torch's CPU reduction); count
    the rows not ignored; bad the first row whose target is neither in [0, C) nor
    ``ignore_index`` (-1: none; its loss is left 0)."""
    logp, p = log_softmax_rows(x)
    M, C = x.shape
    valid = t != ignore_index
    inside = (t >= 0) & (t < C)
    wrong = valid & ~inside
    keep = valid & inside
    loss = np.zeros(M, dtype=x.dtype)
    loss[keep] = -logp[np.flatnonzero(keep), t[keep]]
    total = float(np.sum(loss[keep].astype(np.float64)))
    bad = int(np.argmax(wrong)) if wrong.any() else -1
    return p, loss, total, int(valid.sum()), bad


def nll_grad_rows(p: np.ndarray, t: np.ndarray, ignore_index: int, s: np.ndarray) -> np.ndarray:
    """The gradient of ``sum_i s[i] * loss_i`` (:func:`softmax_nll_rows`) with respect to x:
    row i is ``w (p[i] - onehot(t[i]))`` with ``w = s[i]``, or ``w = 0`` where ``t[i] ==
    ignore_index`` (then the row is ``p[i] * 0``: nan where p is). p (M, C) the softmax,
    t (M,) int64 targets in [0, C) or ``ignore_index``, s (M,) of p's dtype (a scalar
    broadcast to (M,) for a 'mean' or 'sum'). Returns (M, C) of p's dtype."""
    valid = t != ignore_index
    with np.errstate(invalid="ignore", over="ignore"):
        w = np.where(valid, s, 0).astype(p.dtype)  # (M,)
        out = p * w[:, None]
        rows = np.flatnonzero(valid)
        out[rows, t[rows]] -= w[rows]
    return out


def column_sums(g: np.ndarray) -> np.ndarray:
    """The sum of the rows of g (M, K), accumulated in float64 (a Linear's bias gradient).
    Returns (K,) of g's dtype."""
    return g.sum(axis=0, dtype=np.float64).astype(g.dtype)


def add_rows_into(src: np.ndarray, b: np.ndarray, dst: np.ndarray) -> None:
    """``dst[...] = src + b``: src (A, B, K) C-contiguous, b (K,), dst (A, B, K) any strides
    with its last axis contiguous (a Linear's product, in its input's memory order, stored
    into its C-ordered output with the bias added)."""
    np.add(src, b, out=dst)
