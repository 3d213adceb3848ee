"""Exact arithmetic that torch's CPU random kernels use, replayed in NumPy.

Pure functions on ndarrays behind :mod:`elman.random`: fused multiply-adds emulated exactly
(torch's kernels are compiled with FMA contraction) and torch's AVX2 Box-Muller kernel
(``log``/``sincos`` polynomials of ATen's avx_mathfun.h) step by step.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

_F32 = np.float32


# ---- exact fused multiply-add ----------------------------------------------------------------
# torch's kernels are compiled with FMA contraction, and a separate multiply and add differs in
# the last bit for 13-50% of samples. Python 3.11 has no math.fma, so we compute the exact
# result with error-free transformations and round once ("round to odd" makes the final
# rounding correct; Boldo & Melquiond 2008).


def _two_sum(a: Any, b: Any) -> tuple[Any, Any]:
    """s = fl(a + b) and the exact error e, so that a + b == s + e."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _to_odd(s: np.ndarray, err: np.ndarray) -> np.ndarray:
    """Round s + err (|err| < ulp(s)/2) to odd: inexact even results move to the odd neighbour."""
    bits = s.view(np.int64)
    fix = (err != 0) & ((bits & 1) == 0)
    step = np.where((err > 0) == (s > 0), 1, -1)  # +1 on the bits moves away from zero
    return (bits + fix * step).view(np.float64)


def _fma32(a: np.ndarray, b: Any, c: Any) -> np.ndarray:
    """float32 ``fma(a, b, c)`` rounded once, for float32 ``a``, ``b``, ``c``."""
    p = np.multiply(a, b, dtype=np.float64)  # exact: 24 + 24 bits fit in 53
    s = p + np.asarray(c, np.float64)
    flat = s.reshape(-1)  # a view: s is a fresh contiguous array
    bits = flat.view(np.int64)
    # Rounding s to float32 is wrong only when s sits exactly on a float32 midpoint after an
    # inexact add (or in the float32 subnormal range); redo just those exactly.
    risky = np.flatnonzero(((bits & 0x1FFFFFFF) == 0x10000000) | (np.abs(flat) < 2.0**-125))
    if risky.size:
        cc = np.broadcast_to(np.asarray(c, np.float64), s.shape).flat[risky]
        flat[risky] = _to_odd(*_two_sum(p.reshape(-1)[risky], cc))
    with np.errstate(over="ignore"):  # torch overflows to inf too
        return s.astype(_F32)


def _split(a: Any) -> tuple[Any, Any]:
    """Veltkamp split: a == hi + lo with both halves at most 26 bits wide."""
    t = 134217729.0 * a
    hi = t - (t - a)
    return hi, a - hi


def _fma64(a: np.ndarray, b: float, c: float) -> np.ndarray:
    """float64 ``fma(a, b, c)`` rounded once, for a float64 array ``a`` and scalars ``b``, ``c``."""
    b, c = float(b), float(c)
    if not (abs(b) < 2.0**995 and abs(c) < 2.0**1020):  # splitting would overflow
        with np.errstate(over="ignore", invalid="ignore"):
            return a * b + c
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl  # p + e == a * b exactly (Dekker)
    s, t = _two_sum(c, p)
    w, we = _two_sum(t, e)
    inexact = np.flatnonzero(we)
    if inexact.size:
        w[inexact] = _to_odd(w[inexact], we[inexact])
    return s + w


# ---- torch's AVX2 Box-Muller kernel (ATen/native/cpu/avx_mathfun.h) --------------------------
# Replayed operation by operation in float32, with the multiply-adds GCC contracts into FMAs.

_LOG_P = [7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1,
          1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1,
          3.3333331174e-1]  # fmt: skip
_COS_P = [2.443315711809948e-5, -1.388731625493765e-3, 4.166664568298827e-2]
_SIN_P = [-1.9515295891e-4, 8.3321608736e-3, -1.6666654611e-1]


def _log256_ps(x: np.ndarray) -> np.ndarray:
    """torch's ``log256_ps`` for float32 x in (0, 1] (Cephes logf)."""
    bits = x.view(np.int32)
    e = ((bits >> 23) - 0x7F).astype(_F32) + _F32(1)
    x = ((bits & ~0x7F800000) | 0x3F000000).view(_F32)  # mantissa in [0.5, 1)
    small = x < _F32(0.707106781186547524)
    tmp = np.where(small, x, _F32(0))
    x = x - _F32(1)
    e = e - small.astype(_F32)
    x = x + tmp
    z = x * x
    y = np.full_like(x, _F32(_LOG_P[0]))
    for coef in _LOG_P[1:]:
        y = _fma32(y, x, _F32(coef))
    y = _fma32(y * x, z, e * _F32(-2.12194440e-4))
    y = _fma32(-z, _F32(0.5), y)
    return _fma32(e, _F32(0.693359375), x + y)


def _sincos256_ps(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """torch's ``sincos256_ps`` for float32 x >= 0 (Cephes sinf/cosf): (sin x, cos x)."""
    j = (x * _F32(1.27323954473516)).astype(np.int32)  # truncation, as cvttps
    j = (j + 1) & ~1
    y = j.astype(_F32)
    for dp in (-0.78515625, -2.4187564849853515625e-4, -3.77489497744594108e-8):
        x = _fma32(y, _F32(dp), x)  # extended-precision reduction modulo pi/4
    sign_sin = (j & 4) << 29
    sign_cos = (~(j - 2) & 4) << 29
    z = x * x
    yc = _fma32(np.full_like(z, _F32(_COS_P[0])), z, _F32(_COS_P[1]))
    yc = _fma32(yc, z, _F32(_COS_P[2])) * z
    yc = _fma32(yc, z, -(z * _F32(0.5))) + _F32(1)
    ys = _fma32(np.full_like(z, _F32(_SIN_P[0])), z, _F32(_SIN_P[1]))
    ys = _fma32(_fma32(ys, z, _F32(_SIN_P[2])) * z, x, x)
    first = (j & 2) == 0  # which polynomial is the sine
    sin = np.where(first, ys, yc).view(np.int32) ^ sign_sin
    cos = np.where(first, yc, ys).view(np.int32) ^ sign_cos
    return sin.view(_F32), cos.view(_F32)


def _box_muller16_f32(u: np.ndarray, mean: float, std: float) -> np.ndarray:
    """torch's ``NormalFill16<float>`` (AVX2) on blocks of 16 uniforms, shape (k, 16)."""
    radius = np.sqrt(_F32(-2) * _log256_ps(_F32(1) - u[:, :8]))
    sin, cos = _sincos256_ps(_F32(2 * math.pi) * u[:, 8:])
    mean32, std32 = _F32(mean), _F32(std)
    return np.concatenate(
        [_fma32(radius * cos, std32, mean32), _fma32(radius * sin, std32, mean32)], 1
    )


def _box_muller16_f64(u: np.ndarray, mean: float, std: float) -> np.ndarray:
    """torch's scalar ``NormalFill16<double>`` on blocks of 16 uniforms, shape (k, 16)."""
    u1 = 1 - u[:, :8]
    # math.log is the C library's log, as torch's std::log; np.log differs in ~0.3% of cases.
    log_u1 = np.fromiter(map(math.log, u1.ravel().tolist()), np.float64, u1.size)
    radius = np.sqrt(-2 * log_u1).reshape(u1.shape)
    theta = 2 * math.pi * u[:, 8:]
    out = np.concatenate([radius * np.cos(theta), radius * np.sin(theta)], 1)
    return _fma64(out.ravel(), std, mean).reshape(out.shape)
