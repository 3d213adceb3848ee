"""Activations and their derivatives inside the compiled kernels, with torch's values at
NaN, inf and the saturated ends (the NumPy twins: :mod:`.special`).

Inlined into the step loops (numba ``inline='always'``: no call, no array refcounting per
row). Scalars are typed from the arrays (``a.dtype.type(0)``): a bare float literal would
promote float32 arithmetic to float64.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import literal_unroll, njit, types
from numba.extending import intrinsic, overload

from ._jit import INLINE
from .special import TANH32_ONE, TANH64_ONE, tanh_ref

__all__ = ["tanh", "activate", "act_delta"]

# Eigen's float32 tanh: an odd 13/6 rational function of x clamped to +-7.9 (0.99999976).
_CLAMP = 7.90531110763549805
_A = (
    -2.76076847742355e-16,
    2.00018790482477e-13,
    -8.60467152213735e-11,
    5.12229709037114e-08,
    1.48572235717979e-05,
    6.37261928875436e-04,
    4.89352455891786e-03,
)
_B = (1.19825839466702e-06, 1.18534705686654e-04, 2.26843463243900e-03, 4.89352518554385e-03)


def tanh(x):  # the Python twin, used when NUMBA_DISABLE_JIT=1
    return tanh_ref(np.asarray(x))


def _tanh32(x):
    f = np.float32
    c = min(max(x, f(-_CLAMP)), f(_CLAMP))  # (NaN passes through min and max)
    x2 = c * c
    p = x2 * f(_A[0]) + f(_A[1])
    p = p * x2 + f(_A[2])
    p = p * x2 + f(_A[3])
    p = p * x2 + f(_A[4])
    p = p * x2 + f(_A[5])
    p = (p * x2 + f(_A[6])) * c
    q = x2 * f(_B[0]) + f(_B[1])
    q = q * x2 + f(_B[2])
    q = q * x2 + f(_B[3])
    y = p / q
    # exactly +-1 from torch's threshold on (Eigen's clamp alone stops at 0.99999976), so
    # that 1 - h^2 is 0 where torch's is: an inf gradient then gives NaN there, as in
    # torch. One select; NaN fails the test and stays NaN.
    return np.copysign(f(1), x) if abs(x) >= f(TANH32_ONE) else y


@intrinsic
def _pow2(typingctx, n):
    """2.0 ** n for an int64 n in [-1022, 1023], written into the exponent bits (no libm
    call, so that loops over it vectorise)."""

    def codegen(context, builder, sig, args):
        i64 = ir.IntType(64)
        e = builder.shl(builder.add(args[0], ir.Constant(i64, 1023)), ir.Constant(i64, 52))
        return builder.bitcast(e, ir.DoubleType())

    return types.float64(types.int64), codegen


# expm1(r) = r + r^2 * (1/2! + r/3! + ... + r^12/14!) for |r| <= ln 2 / 2 (the remainder
# is below 1e-17 of the result); ln 2 in two parts (Cody and Waite) for the reduction
_EXPM1 = tuple(1.0 / math.factorial(k) for k in range(14, 1, -1))
_LN2_HI, _LN2_LO = 6.93147180369123816490e-01, 1.90821492927058770002e-10


def _tanh64(x):
    # tanh |x| = e / (e + 2), e = expm1(2|x|) = 2^n (expm1(r) + 1) - 1 with 2|x| = n ln2 + r:
    # no libm call, so the activation loops vectorise (libm's tanh is a scalar call per
    # element, ~7 ns: most of a float64 step of small H). Within 3 ulp of libm's (measured
    # on 2.6 million arguments, 0.3 ulp on average). torch's tanh is exactly +-1 from
    # TANH64_ONE; below it the largest value under 1 where the quotient rounds to 1 (as
    # libm's tanh there). NaN stays NaN, the sign of zero is kept.
    a = abs(x)
    y = 2.0 * (a if a < 20.0 else 20.0)  # NaN too: its result is replaced at the end
    n = np.floor(y * 1.4426950408889634 + 0.5)
    r = (y - n * _LN2_HI) - n * _LN2_LO
    p = _EXPM1[0]
    for c in literal_unroll(_EXPM1[1:]):
        p = p * r + c
    s = _pow2(np.int64(n))
    e = s * (r + r * r * p) + (s - 1.0)
    t = e / (e + 2.0)
    t = 0.9999999999999999 if t == 1.0 else t
    t = np.copysign(1.0 if a >= TANH64_ONE else t, x)
    return x if x != x else t


@overload(tanh, jit_options=INLINE)
def _tanh_overload(x):
    """float32: the vectorisable rational tanh; float64: from a vectorisable expm1
    (within 3 ulp of libm's)."""
    if isinstance(x, types.Float) and x.bitwidth == 32:
        return _tanh32
    return _tanh64


@njit(**INLINE)
def activate(a, n, relu):
    """a[:n] = act(a[:n]) in place; a is a 1-D contiguous row. ReLU keeps NaN (as torch's
    clamp_min does): ``0 if v < 0 else v`` is false for NaN, so NaN passes."""
    if relu:
        zero = a.dtype.type(0)
        for j in range(n):
            v = a[j]
            a[j] = zero if v < zero else v
    else:
        for j in range(n):
            a[j] = tanh(a[j])


@njit(**INLINE)
def act_delta(dz, g, h, n, relu):
    """dz[:n] = (dz[:n] + g[:n]) * act'(.), read from the output h: ``* (1 - h^2)`` for
    tanh; for relu torch's threshold_backward, ``0 if h <= 0 else dz + g``: a select, not a
    product, so an inf gradient where h <= 0 gives 0 (not inf * 0 = NaN), and a NaN h
    passes the gradient on (NaN <= 0 is false)."""
    one = dz.dtype.type(1)
    zero = dz.dtype.type(0)
    if relu:
        for j in range(n):
            dz[j] = zero if h[j] <= zero else dz[j] + g[j]
    else:
        for j in range(n):
            dz[j] = (dz[j] + g[j]) * (one - h[j] * h[j])
