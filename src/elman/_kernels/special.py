"""Activations and their derivatives on ndarrays, with torch's values at NaN, inf and the
saturated ends: the NumPy reference kernels and the autograd ops share them.

* :func:`tanh_ref`: ``np.tanh``, except that the result is exactly +-1 from the same |x| as
  torch's CPU tanh and below 1 before it. Where tanh saturates this decides whether
  ``1 - y^2`` is 0 or a tiny positive number, and so whether an inf gradient becomes NaN
  (``inf * 0``) or inf, as in torch. NumPy's own float32 tanh reaches 1 only from |x| ~ 10
  (torch's from 9.0108), its float64 tanh already from 18.99 (torch's from 19.0615474655,
  libm's, correctly rounded, 7e-11 earlier).
* :func:`relu_backward`: torch's ``threshold_backward``, ``0 where y <= 0, else g``: a
  select, not ``g * (y > 0)``, so an inf gradient where y <= 0 gives 0 (not NaN) and a NaN
  output passes the gradient on (``NaN <= 0`` is false).
"""

from __future__ import annotations

import numpy as np

__all__ = ["tanh_ref", "relu_backward", "sign", "power", "TANH32_ONE", "TANH64_ONE"]

# The smallest |x| with torch.tanh(x) == +-1 (torch 2.13 CPU), float32 and float64.
TANH32_ONE = 9.01084041595459
TANH64_ONE = 19.061547465468465
_TAIL = {np.dtype(np.float32): 8.0, np.dtype(np.float64): 18.0}  # recomputed from here on


def tanh_ref(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """tanh(z) elementwise (into ``out`` if given, which may be ``z``) with torch's +-1
    region (see above); a 0-d ``z`` gives a NumPy scalar, as ``np.tanh`` does.

    The tail ``|z| >= 8`` (float32) or ``>= 18`` (float64) is recomputed as
    ``1 - 2t / (1 + t)``, ``t = exp(-2|z|)``, in float64 (one rounding at the end), then
    set to exactly +-1 from torch's threshold.
    """
    z = np.asarray(z)
    tail = _TAIL.get(z.dtype)
    if tail is None:
        return np.tanh(z, out=out)
    if z.ndim == 0:
        return tanh_ref(z.reshape(1))[0]
    big = np.abs(z) >= tail  # NaN: False
    zt = z[big] if big.any() else None  # (read before ``out`` may overwrite z)
    y = np.tanh(z, out=out)
    if zt is not None:
        y[big] = _tail(zt, z.dtype)
    return y


def _tail(z: np.ndarray, dtype: np.dtype) -> np.ndarray:
    a = np.abs(z.astype(np.float64))
    t = np.exp(-2 * a)  # <= e^-16: no overflow, and 0 for inf
    y = (1 - 2 * t / (1 + t)).astype(dtype)
    one = TANH32_ONE if dtype == np.float32 else TANH64_ONE
    below = np.nextafter(dtype.type(1), dtype.type(0))  # the largest value under 1
    y = np.where(a >= one, dtype.type(1), np.minimum(y, below))
    return np.copysign(y, z).astype(dtype, copy=False)


def relu_backward(g: np.ndarray, y: np.ndarray) -> np.ndarray:
    """torch's relu backward (threshold_backward): ``0 where y <= 0, else g``."""
    return np.where(y <= 0, g.dtype.type(0), g)


def sign(x: np.ndarray) -> np.ndarray:
    """torch's sign/sgn for real numbers: -1, 0 or 1, and 0 for NaN (NumPy's gives NaN).
    It is what torch multiplies the gradient of ``abs`` (and so of ``l1_loss``) by."""
    return np.subtract(x > 0, x < 0, dtype=x.dtype)


def power(x: np.ndarray, p: float) -> np.ndarray:
    """``x ** p`` for a Python number ``p`` as torch's CPU kernel computes it: 0 and 1 are
    ones and a copy, 0.5, -0.5 and -1 are sqrt, 1 / sqrt and 1 / x, 2, 3 and -2 are
    products; other exponents C's ``pow`` (as NumPy's). The special cases differ from
    ``pow`` at the edges: ``(-inf) ** 0.5`` is NaN (sqrt), not inf; ``(-0.) ** -0.5`` is
    -inf."""
    if p == 0:
        return np.ones_like(x)
    if p == 1:
        return np.array(x, copy=True)
    if x.dtype.kind != "f":
        return np.power(x, p)
    one = x.dtype.type(1)
    if p == 0.5:
        return np.sqrt(x)
    if p == -0.5:
        return one / np.sqrt(x)
    if p == -1:
        return one / x
    if p == 2:
        return x * x
    if p == 3:
        return x * x * x
    if p == -2:
        return one / (x * x)
    return np.power(x, p)
