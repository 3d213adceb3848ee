"""torch's in-place pointwise ops on ndarrays, in torch's operation order.

The optimizers are written with these so that each line reads like torch's single-tensor
update and rounds like it: a Python scalar is first cast to the array's dtype (torch's
``Scalar.to<scalar_t>()``), so float32 state is updated in float32 throughout.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["add_", "addcmul_", "addcdiv_", "lerp_", "scalar"]


def scalar(like: np.ndarray, value: float) -> Any:
    """``value`` as a scalar of ``like``'s dtype (a NumPy floating scalar)."""
    return like.dtype.type(value)


def add_(self: np.ndarray, other: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """``self += alpha * other`` (torch's ``self.add_(other, alpha=alpha)``)."""
    if alpha == 1:
        return np.add(self, other, out=self)
    return np.add(self, np.multiply(other, scalar(self, alpha)), out=self)


def added(self: np.ndarray, other: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """``self + alpha * other`` as a new array (torch's ``self.add(other, alpha=alpha)``)."""
    return add_(np.array(self, copy=True), other, alpha)


def addcmul_(self: np.ndarray, t1: np.ndarray, t2: np.ndarray, value: float) -> np.ndarray:
    """``self += value * t1 * t2``, evaluated ``(value * t1) * t2`` as torch's CPU kernel."""
    tmp = np.multiply(t1, scalar(self, value))
    tmp *= t2
    return np.add(self, tmp, out=self)


def addcdiv_(self: np.ndarray, t1: np.ndarray, t2: np.ndarray, value: float) -> np.ndarray:
    """``self += value * t1 / t2``, evaluated ``(value * t1) / t2`` as torch's CPU kernel."""
    tmp = np.multiply(t1, scalar(self, value))
    tmp /= t2
    return np.add(self, tmp, out=self)


def lerp_(self: np.ndarray, end: np.ndarray, weight: float) -> np.ndarray:
    """``self += weight * (end - self)``, with torch's two formulas: for ``|weight| < 0.5``
    ``self + weight * (end - self)``, otherwise ``end - (end - self) * (1 - weight)``,
    which is exact at ``weight = 1``."""
    w = scalar(self, weight)
    diff = np.subtract(end, self)  # (end - self)
    if abs(w) < 0.5:
        diff *= w
        return np.add(self, diff, out=self)
    diff *= scalar(self, 1) - w
    return np.subtract(end, diff, out=self)
