"""Compiled twin of :mod:`.param_update_ref`: each pass one loop over the elements.

Compiled without fastmath (not :mod:`._jit`'s options): the rounding of every operation is
torch's, so no contraction into FMAs and no reassociation; float32 and float64 each have
their own loop so that every intermediate of a float32 update stays float32.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._jit import JIT
from .param_update_ref import DECAY_DECOUPLED, DECAY_L2, DECAY_L2_ONE

__all__ = ["adam_update", "sum_squares"]

EXACT = {k: v for k, v in JIT.items() if k != "fastmath"}  # (the cache as :mod:`._jit` set it)


@njit(**EXACT)
def _adam32(param, grad, exp_avg, exp_avg_sq, coefs, modes):
    w1, beta2, c2 = np.float32(coefs[0]), np.float32(coefs[1]), np.float32(coefs[2])
    neg_step, bc2_sqrt = np.float32(coefs[3]), np.float32(coefs[4])
    eps, wd = np.float32(coefs[5]), np.float32(coefs[6])
    w1c = np.float32(1) - w1
    maximize, decay, small = modes[0], modes[1], modes[2]
    if maximize == 0 and decay == 0 and small == 1:  # the usual case: a loop without branches
        for i in range(param.size):
            g, m = grad[i], exp_avg[i]
            m = m + (g - m) * w1
            v = exp_avg_sq[i] * beta2
            v = np.float32(np.float64(g * c2) * np.float64(g) + np.float64(v))
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
            g = np.float32(np.float64(p) * np.float64(wd) + np.float64(g))
        elif decay == DECAY_L2_ONE:
            g = g + p
        m = exp_avg[i]
        diff = g - m
        m = m + diff * w1 if small else g - diff * w1c
        v = exp_avg_sq[i] * beta2
        v = np.float32(np.float64(g * c2) * np.float64(g) + np.float64(v))
        exp_avg[i] = m
        exp_avg_sq[i] = v
        param[i] = p + m * neg_step / (np.sqrt(v) / bc2_sqrt + eps)


@njit(**EXACT)
def _adam64(param, grad, exp_avg, exp_avg_sq, coefs, modes):
    w1, beta2, c2, neg_step, bc2_sqrt = coefs[0], coefs[1], coefs[2], coefs[3], coefs[4]
    eps, wd = coefs[5], coefs[6]
    w1c = 1.0 - w1
    maximize, decay, small = modes[0], modes[1], modes[2]
    if maximize == 0 and decay == 0 and small == 1:
        for i in range(param.size):
            g, m = grad[i], exp_avg[i]
            m = m + (g - m) * w1
            v = exp_avg_sq[i] * beta2
            v = g * c2 * g + v
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
            g = p * wd + g
        elif decay == DECAY_L2_ONE:
            g = g + p
        m = exp_avg[i]
        diff = g - m
        m = m + diff * w1 if small else g - diff * w1c
        v = exp_avg_sq[i] * beta2
        v = g * c2 * g + v
        exp_avg[i] = m
        exp_avg_sq[i] = v
        param[i] = p + m * neg_step / (np.sqrt(v) / bc2_sqrt + eps)


def adam_update(param, grad, exp_avg, exp_avg_sq, coefs, modes):
    """Compiled :func:`.param_update_ref.adam_update` (float32 or float64 arrays; ``coefs``
    a float64 array, ``modes`` an int64 array)."""
    if param.dtype == np.float32:
        _adam32(param, grad, exp_avg, exp_avg_sq, coefs, modes)
    else:
        _adam64(param, grad, exp_avg, exp_avg_sq, coefs, modes)


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
