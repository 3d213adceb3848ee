"""Compiled twin of :mod:`.random_ref`: a mask in one pass over the draws, without the
uint64 and float64 temporaries (a dropout mask of 8e5 elements ~7.7 ms -> ~1 ms).
Compiled with :mod:`._jit`'s options (IEEE special values kept)."""

from __future__ import annotations

import numpy as np
from numba import njit

from ._jit import JIT

__all__ = ["bernoulli_values"]


@njit(**JIT)
def bernoulli_values(raw, p, one):
    """:func:`.random_ref.bernoulli_values`."""
    n = len(raw) // 2
    out = np.empty(n, dtype=type(one))
    zero = type(one)(0)
    low53 = np.uint64(2**53 - 1)
    scale = 2.0**-53
    for i in range(n):
        k = ((raw[2 * i] << np.uint64(32)) | raw[2 * i + 1]) & low53
        out[i] = one if np.float64(k) * scale < p else zero
    return out
