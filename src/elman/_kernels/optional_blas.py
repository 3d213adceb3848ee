"""A BLAS call compiled into a kernel only where it can run: :func:`blas_product` is
:func:`._blas.gemm` when its ``fptr`` is an address (an int64) and nothing when it is the
int32 :data:`LOOPS` token, so a kernel that serves both (the fused stack: its loop-only
variants are the default of tiny problems, its ``*-gemm`` variants run the input-side
products with BLAS) compiles the call only in the version that makes it, and the loop-only
version keeps its cold compile.
"""

from __future__ import annotations

import numpy as np
from numba import types
from numba.extending import overload

from ._blas import gemm
from ._jit import INLINE

__all__ = ["LOOPS", "blas_product", "with_blas"]

LOOPS = np.int32(0)  # ``fptr`` of the loop-only kernels: an int32 compiles no BLAS call in


def blas_product(fptr, transb, m, n, k, A, a0, ac, B, accumulate, C, c0, cc):
    """_blas.gemm(...) when ``fptr`` is a BLAS address (an int64); for the int32 LOOPS token
    nothing, and no call is compiled into the kernel: the loop-only variants (the default
    of tiny problems) keep their cold compile.

    Args:
        fptr: address of ?gemm (int64), or LOOPS
        transb: NO_TRANS or TRANS (see _blas.gemm)
        m: rows of the product
        n: columns of the product
        k: the summed dimension
        A: 2-D, unit column stride
        a0: first row of A read
        ac: first column of A read
        B: 2-D, C-contiguous
        accumulate: C += , else C =
        C: 2-D, unit column stride: the product's target
        c0: first row of C written
        cc: first column of C written
    """
    if fptr:  # the Python twin (NUMBA_DISABLE_JIT=1 never reaches here with an address)
        gemm(fptr, transb, m, n, k, A, a0, ac, B, accumulate, C, c0, cc)


@overload(blas_product, jit_options=INLINE)
def _blas_product_overload(fptr, transb, m, n, k, A, a0, ac, B, accumulate, C, c0, cc):
    """Compiled :func:`.optional_blas.blas_product`, chosen by the type of fptr."""
    if isinstance(fptr, types.Integer) and fptr.bitwidth == 32:

        def nothing(fptr, transb, m, n, k, A, a0, ac, B, accumulate, C, c0, cc):
            """Compiled :func:`.optional_blas.blas_product` for LOOPS: nothing."""
            return None

        return nothing

    def call(fptr, transb, m, n, k, A, a0, ac, B, accumulate, C, c0, cc):
        """Compiled :func:`.optional_blas.blas_product` for an address: the call."""
        gemm(fptr, transb, m, n, k, A, a0, ac, B, accumulate, C, c0, cc)

    return call


def with_blas(fptr):
    """Whether ``fptr`` is a BLAS address: for the LOOPS token a compile-time False, so the
    loop-only kernels' branches on it fold away (their loops compile as without it)."""
    return bool(fptr)


@overload(with_blas, jit_options=INLINE)
def _with_blas_overload(fptr):
    if isinstance(fptr, types.Integer) and fptr.bitwidth == 32:
        return lambda fptr: False
    return lambda fptr: fptr != 0
