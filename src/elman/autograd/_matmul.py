"""Matrix products on arrays, for the autograd ops and the layers (NumPy only)."""

from __future__ import annotations

import numpy as np

__all__ = ["matmul_arrays"]


def matmul_arrays(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.matmul(a, b)``, with the outer-product case made fast.

    When the shared dimension is 1 (``a`` (..., M, 1) against a 2-D ``b`` (1, N): a
    ``Linear(1, H)`` forward, the input gradient of a ``Linear(H, 1)`` head), NumPy's
    matmul skips BLAS and runs ~8x slower than BLAS would. Here a zero column and row pad
    the shared dimension to 2, which NumPy hands to BLAS: each output is a*b + 0*0, the
    same value, in C order (an inf in ``a`` or ``b`` stays inf, and raises no spurious
    warning). Small products are the broadcast a * b.
    """
    if b.ndim == 2 and b.shape[0] == 1 and a.ndim >= 2 and a.shape[-1] == 1:
        M, N = a.size, b.shape[1]
        if M * N < 4096 or N == 1 or a.dtype != b.dtype or a.dtype.char not in "fd":
            return a * b
        a2 = np.zeros((M, 2), dtype=a.dtype)
        a2[:, 0] = a.reshape(M)
        b2 = np.zeros((2, N), dtype=b.dtype)
        b2[0] = b[0]
        with np.errstate(invalid="ignore"):  # BLAS may multiply an inf by its zero padding
            out = np.matmul(a2, b2)  # in lanes it discards: the results are a * b
        return out.reshape(*a.shape[:-1], N)
    if b.ndim == 2 and a.ndim >= 2 and (b.shape[1] == 1 or a.shape[-2] == 1):
        # a matrix-vector product: OpenBLAS's small gemv kernels can raise the invalid flag
        # from lanes they discard (seen on (6, 5) @ (5, 1), depending on the memory beyond
        # the arrays; NumPy reported such cases before, e.g. numpy#24067). The values are
        # right; the flag would become a spurious warning. (torch never warns on these.)
        with np.errstate(invalid="ignore"):
            return np.matmul(a, b)
    return np.matmul(a, b)
