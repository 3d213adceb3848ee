"""Row kernels for the layers around the RNN (NumPy reference; :mod:`.rows_compiled` is the
compiled twin): the Embedding's backward and the cross-entropy's log-softmax.

``scatter_add_rows`` adds gradient rows in index order, one after the other, as torch's
CPU ``embedding_dense_backward`` does, so float32 sums of repeated indices round as torch's.
"""

from __future__ import annotations

import numpy as np

__all__ = ["scatter_add_rows", "log_softmax_rows"]


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
