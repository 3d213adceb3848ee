"""Small compiled loops on whole arrays, shared by the kernels: row copies and fills, and
the packed layout's step offsets.

(A 2-D slice assignment would compile numba's broadcasting error messages, seconds of
string code, into every kernel; these loops do not.)
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._jit import JIT

__all__ = ["copy_rows", "fill_rows", "offsets", "contiguous"]

contiguous = np.ascontiguousarray  # (imported as ``_C`` by the Python side of the kernels)


@njit(**JIT)
def offsets(sizes):
    """off[t] = sum(sizes[:t]), (L + 1,): step t owns rows off[t] : off[t + 1]."""
    off = np.zeros(len(sizes) + 1, dtype=np.int64)
    for t in range(len(sizes)):
        off[t + 1] = off[t] + sizes[t]
    return off


@njit(**JIT)
def copy_rows(dst, src):
    """dst[:, :n] = src[:, :n], n the narrower width, for 2-D arrays of as many rows (one of
    them may be a padded buffer)."""
    n = min(dst.shape[1], src.shape[1])
    for i in range(src.shape[0]):
        d, s = dst[i], src[i]
        for j in range(n):
            d[j] = s[j]


@njit(**JIT)
def fill_rows(dst, value):
    """dst[...] = value for a 2-D array (see :func:`copy_rows`)."""
    for i in range(dst.shape[0]):
        d = dst[i]
        for j in range(dst.shape[1]):
            d[j] = value
