"""Dropout and bernoulli masks from raw MT19937 draws (NumPy reference; :mod:`.random_compiled`
is the compiled twin).

torch 2.13 draws ``bernoulli_(p)`` on CPU with one 53-bit uniform per element: two 32-bit
draws, the first in the high word, masked to 53 bits and scaled by 2**-53; the element is a
one when that uniform is below p.
"""

from __future__ import annotations

import numpy as np

__all__ = ["bernoulli_values"]


def bernoulli_values(raw: np.ndarray, p: float, one: np.generic) -> np.ndarray:
    """(len(raw) // 2,) of ``one``'s dtype: ``one`` where the uniform of draws 2i, 2i+1 (uint64
    holding 32-bit values) is below p, else 0. (A dropout mask passes 1/(1-p) as ``one``.)"""
    k = ((raw[0::2] << np.uint64(32)) | raw[1::2]) & np.uint64(2**53 - 1)
    u = k.astype(np.float64) * 2.0**-53
    return np.where(u < p, one, np.zeros((), dtype=np.asarray(one).dtype))
