"""Compiled twin of :mod:`.param_update_ref`: each pass one loop over the elements.

Compiled without fastmath (not :mod:`._jit`'s options): the rounding of every operation is
torch's, so no contraction into FMAs and no reassociation; every intermediate of a float32
update stays float32 but the two torch rounds from float64.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._jit import JIT
from .param_update_ref import DECAY_DECOUPLED, DECAY_L2, DECAY_L2_ONE

__all__ = ["adam_update", "sum_squares"]

EXACT = {k: v for k, v in JIT.items() if k != "fastmath"}  # (the cache as :mod:`._jit` set it)


@njit(**EXACT)
def _adam(param, grad, exp_avg, exp_avg_sq, coefs, modes):
    """The update in param's dtype: a float32 update keeps every intermediate float32 but
    the two that torch's kernel rounds from float64 (g² · (1 - beta2) + v, and L2 decay's
    p · wd + g); for float64 those casts are exact, so one loop serves both."""
    w1, beta2 = param.dtype.type(coefs[0]), param.dtype.type(coefs[1])
    c2, neg_step = param.dtype.type(coefs[2]), param.dtype.type(coefs[3])
    bc2_sqrt, eps = param.dtype.type(coefs[4]), param.dtype.type(coefs[5])
    wd = param.dtype.type(coefs[6])
    w1c = param.dtype.type(1) - w1
    maximize, decay, small = modes[0], modes[1], modes[2]
    if maximize == 0 and decay == 0 and small == 1:  # the usual case: a loop without branches
        for i in range(param.size):
            g, m = grad[i], exp_avg[i]
            m = m + (g - m) * w1
            v = exp_avg_sq[i] * beta2
            v = param.dtype.type(np.float64(g * c2) * np.float64(g) + np.float64(v))
            exp_avg[i] = m
            exp_avg_sq[i] = v
            param[i] = param[i] + m * neg_step / (np.sqrt(v) / bc2_sqrt + eps)
        return
    for i in range(param.size):
        g = -grad[i] if maximize else grad[i]
        p = param[i]
        if decay == DECAY_DECOUPLED:
            p = p * wd
        elif decay == DECAY_L2:
            g = param.dtype.type(np.float64(p) * np.float64(wd) + np.float64(g))
        elif decay == DECAY_L2_ONE:
            g = g + p
        m = exp_avg[i]
        diff = g - m
        m = m + diff * w1 if small else g - diff * w1c
        v = exp_avg_sq[i] * beta2
        v = param.dtype.type(np.float64(g * c2) * np.float64(g) + np.float64(v))
        exp_avg[i] = m
        exp_avg_sq[i] = v
        param[i] = p + m * neg_step / (np.sqrt(v) / bc2_sqrt + eps)


def adam_update(param, grad, exp_avg, exp_avg_sq, coefs, modes):
    """Compiled :func:`.param_update_ref.adam_update` (float32 or float64 arrays; ``coefs``
    a float64 array, ``modes`` an int64 array)."""
    _adam(param, grad, exp_avg, exp_avg_sq, coefs, modes)


@njit(**EXACT)
def sum_squares(x):
    """Compiled :func:`.param_update_ref.sum_squares` (eight partial sums, then theirs)."""
    acc = np.zeros(8)
    n8 = x.size - x.size % 8
    for i in range(0, n8, 8):
        for k in range(8):
            v = np.float64(x[i + k])
            acc[k] += v * v
    s = 0.0
    for k in range(8):
        s += acc[k]
    for i in range(n8, x.size):
        v = np.float64(x[i])
        s += v * v
    return s
