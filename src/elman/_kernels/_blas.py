"""NumPy's own BLAS ``?gemm``, callable from inside numba kernels.

A per-step GEMM is the fastest recurrence for mid and large batches (N*H^2 >~ 10^5), but a
Python loop calling ``np.matmul`` costs microseconds per step, and numba's ``np.dot`` needs
SciPy. So the kernels call NumPy's BLAS library directly: :func:`gemm_pointers` finds the
CBLAS ``sgemm``/``dgemm`` symbols of the library NumPy loaded (one thread pool for every
GEMM in the process), and :func:`gemm` calls through the address, which is a plain integer
argument of the kernel: nothing process-specific is baked into the cached machine code.

Each symbol found is checked on a 2x3 @ 3x2 product before use. When none is found (an
unusual NumPy build), or with ``ELMAN_BLAS_IN_KERNELS=0``, the pointers are 0 and the
kernels use their own loops instead. The same library's OpenBLAS thread controls, when
present, back :func:`single_threaded_blas`.
"""

from __future__ import annotations

import ctypes
import glob
import os
import sys
import threading
from functools import lru_cache
from typing import Any

import numpy as np
from llvmlite import ir
from numba import config as numba_config
from numba import njit, types
from numba.extending import intrinsic, overload

from ._jit import INLINE
from .config import BLAS_IN_KERNELS
from .threads import kernel_threads

__all__ = [
    "gemm_pointers",
    "gemm",
    "gemm_tn",
    "NO_TRANS",
    "TRANS",
    "single_threaded_blas",
    "hold_one_thread",
    "release_one_thread",
    "blas_threads_controllable",
    "two_threads_allowed",
]

NO_TRANS, TRANS = 111, 112  # CBLAS enums; CblasRowMajor = 101
# (name, the library's integers are 64-bit): ILP64 first, as NumPy >= 2 wheels ship
_SYMBOLS = (
    ("scipy_cblas_{}gemm64_", True),
    ("cblas_{}gemm64_", True),
    ("cblas_{}gemm_64", True),
    ("cblas_{}gemm", False),
)


def _candidate_libraries() -> list[str]:
    """Shared libraries that may hold NumPy's BLAS, NumPy's vendored copy first."""
    root = os.path.dirname(np.__file__)
    found: list[str] = []
    for pattern in ("*openblas*", "*blas*"):
        for folder in (root + ".libs", os.path.join(root, ".dylibs"), root + os.sep + "_core"):
            found += sorted(glob.glob(os.path.join(folder, pattern)))
    if sys.platform.startswith("linux"):
        try:
            with open("/proc/self/maps") as maps:
                paths = {line.split()[-1] for line in maps if "/" in line}
        except OSError:
            paths = set()
        for name in ("openblas", "mkl_rt", "cblas", "blas"):
            found += sorted(p for p in paths if name in os.path.basename(p) and ".so" in p)
    return list(dict.fromkeys(found))


def _self_test(address: int, ilp64: bool, dtype: type) -> bool:
    """Run one 2x3 @ 3x2 product through the symbol and compare with NumPy."""
    c_int = ctypes.c_int64 if ilp64 else ctypes.c_int32
    c_flt = ctypes.c_float if dtype is np.float32 else ctypes.c_double
    vp = ctypes.c_void_p  # cblas_?gemm(order, transa, transb, m, n, k, alpha, a, lda, ...)
    args = (ctypes.c_int32,) * 3 + (c_int,) * 3 + (c_flt, vp, c_int, vp, c_int, c_flt, vp, c_int)
    proto = ctypes.CFUNCTYPE(None, *args)
    a = np.arange(6, dtype=dtype).reshape(2, 3)
    b = np.arange(6, dtype=dtype).reshape(3, 2) - 2
    c = np.ones((2, 2), dtype=dtype)
    data = a.ctypes.data, b.ctypes.data, c.ctypes.data
    proto(address)(101, NO_TRANS, NO_TRANS, 2, 2, 3, 1.0, data[0], 3, data[1], 2, 1.0, data[2], 2)
    return bool(np.array_equal(c, a @ b + 1))


_THREADS: list[Any] = []  # OpenBLAS's (get_num_threads, set_num_threads), when found


def _find_threads(lib: ctypes.CDLL, pattern: str) -> None:
    prefix, suffix = pattern.split("cblas_{}gemm")
    for get, put in (("openblas_get_num_threads", "openblas_set_num_threads"),):
        try:
            f_get, f_set = getattr(lib, prefix + get + suffix), getattr(lib, prefix + put + suffix)
        except AttributeError:
            return
        c_int = ctypes.c_int64 if suffix else ctypes.c_int
        f_get.restype, f_set.argtypes = c_int, [c_int]
        _THREADS[:] = [f_get, f_set]


def blas_threads_controllable() -> bool:
    """Whether :func:`single_threaded_blas` can set NumPy's BLAS thread count."""
    gemm_pointers()
    return bool(_THREADS)


def two_threads_allowed() -> bool:
    """The two-thread variants need two threads allowed (:mod:`.threads`: set_num_threads,
    OMP_NUM_THREADS, the affinity mask), compiled code and control of NumPy's BLAS threads."""
    return kernel_threads() >= 2 and _compiled_with_blas_control()


@lru_cache(maxsize=1)
def _compiled_with_blas_control() -> bool:
    return not numba_config.DISABLE_JIT and blas_threads_controllable()


class _Hold:
    """The process-wide hold of OpenBLAS at one thread, counted across Python threads: the
    first holder saves the count and sets 1, the last one restores it. Another thread's
    exit never restores the count while a call still holds it (a per-call set/restore
    did: a concurrent call's products then ran threaded, and OpenBLAS's threaded products
    sum in another order, so its results changed with the timing of other threads)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()  # guards the two fields only, never held for long
        self.holders = 0
        self.saved = 1

    def after_fork_in_child(self) -> None:
        """Only the forking thread lives on in a child: holds of the parent's other threads
        end here (the count they saved is restored)."""
        if self.holders and self.saved != 1 and _THREADS:
            _THREADS[1](self.saved)
        self.lock = threading.Lock()
        self.holders = 0


_HOLD = _Hold()
if hasattr(os, "register_at_fork"):  # a consistent snapshot: the lock is held only briefly
    os.register_at_fork(
        before=lambda: _HOLD.lock.acquire(),
        after_in_parent=lambda: _HOLD.lock.release(),
        after_in_child=_HOLD.after_fork_in_child,
    )


def hold_one_thread() -> bool:
    """Start holding NumPy's OpenBLAS at one thread (see :class:`single_threaded_blas`);
    False when it cannot be controlled. Each True needs one :func:`release_one_thread`."""
    if _POINTERS is None:
        gemm_pointers()
    if not _THREADS:
        return False
    hold = _HOLD
    with hold.lock:
        if hold.holders == 0:
            hold.saved = saved = _THREADS[0]()
            if saved != 1:
                _THREADS[1](1)
        hold.holders += 1
    return True


def release_one_thread() -> None:
    """End one :func:`hold_one_thread`; the last holder restores OpenBLAS's count."""
    hold = _HOLD
    with hold.lock:
        if hold.holders == 0:  # held before a fork, released in the child
            return
        hold.holders -= 1
        if hold.holders == 0 and hold.saved != 1:
            _THREADS[1](hold.saved)


class single_threaded_blas:  # noqa: N801 - used as a function: ``with single_threaded_blas():``
    """Run NumPy's OpenBLAS on one thread inside the block; yields False when it cannot.

    Every layered kernel call holds it (see :mod:`.threads`): elman runs its products on
    its own threads, and OpenBLAS's workers, which busy-wait for ~0.1 s of CPU after each
    threaded call, are never woken by elman to take those threads' cores. Process-wide and
    counted: OpenBLAS is back at its previous count when the last block in any thread ends.
    """

    __slots__ = ("held",)

    def __enter__(self) -> bool:
        self.held = hold_one_thread()
        return self.held

    def __exit__(self, *exc: object) -> None:
        if self.held:
            release_one_thread()


def _find() -> tuple[int, int]:
    if os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0"):
        return 0, 0  # the intrinsic below cannot run as Python
    for path in _candidate_libraries():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for pattern, ilp64 in _SYMBOLS:
            try:
                fs, fd = (getattr(lib, pattern.format(t)) for t in "sd")
            except AttributeError:
                continue
            s, d = (ctypes.cast(f, ctypes.c_void_p).value or 0 for f in (fs, fd))
            try:
                if _self_test(s, ilp64, np.float32) and _self_test(d, ilp64, np.float64):
                    _find_threads(lib, pattern)
                    return s, d
            except Exception:  # pragma: no cover - a symbol with another ABI
                continue
    return 0, 0


_POINTERS: tuple[int, int] | None = None


def gemm_pointers() -> tuple[int, int]:
    """Addresses of NumPy's CBLAS (sgemm, dgemm), or (0, 0) when there is none."""
    global _POINTERS
    if _POINTERS is None:
        _POINTERS = _find() if BLAS_IN_KERNELS else (0, 0)
    return _POINTERS


@intrinsic
def _call_gemm(typingctx, fptr, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
    """cblas_?gemm(RowMajor, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc).

    Integers are passed as 64-bit, which an LP64 library reads correctly as well (the
    x86-64 and AArch64 ABIs pass each integer in a 64-bit slot).

    Args:
        typingctx: numba's typing context (an intrinsic's first argument)
        fptr: the function's address
        transa: CblasNoTrans or CblasTrans (as an integer)
        transb: CblasNoTrans or CblasTrans (as an integer)
        m: rows of op(A) and C
        n: columns of op(B) and C
        k: the summed dimension
        alpha: scale of the product
        a: address of A
        lda: A's leading dimension
        b: address of B
        ldb: B's leading dimension
        beta: scale of C before adding
        c: address of C
        ldc: C's leading dimension
    """
    sig = types.void(fptr, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)

    def codegen(context, builder, sig, args):
        fptr, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc = args
        i32, i64, ptr = ir.IntType(32), ir.IntType(64), ir.IntType(8).as_pointer()
        flt = context.get_value_type(sig.args[6])
        fnty = ir.FunctionType(
            ir.VoidType(), [i32, i32, i32, i64, i64, i64, flt, ptr, i64, ptr, i64, flt, ptr, i64]
        )
        func = builder.inttoptr(fptr, fnty.as_pointer())

        def as_i64(v):
            return builder.sext(v, i64) if v.type.width < 64 else v

        builder.call(
            func,
            [
                ir.Constant(i32, 101),
                builder.trunc(transa, i32),
                builder.trunc(transb, i32),
                as_i64(m),
                as_i64(n),
                as_i64(k),
                alpha,
                builder.inttoptr(a, ptr),
                as_i64(lda),
                builder.inttoptr(b, ptr),
                as_i64(ldb),
                beta,
                builder.inttoptr(c, ptr),
                as_i64(ldc),
            ],
        )
        return context.get_dummy_value()

    return sig, codegen


@njit(**INLINE)
def _lead(M, size):
    """M's leading dimension for BLAS: its row stride in elements, or its width when it
    has one row. NumPy gives a one-row array any row stride (0 for ``h[:, None]``, even
    after ``np.ascontiguousarray``), BLAS rejects a leading dimension below the width (it
    then prints an error and computes nothing), though it never steps a row there."""
    return M.strides[0] // size if M.shape[0] > 1 else max(M.shape[1], 1)


@njit(**INLINE)
def gemm(fptr, transb, m, n, k, A, a0, ac, B, accumulate, C, c0, cc):
    """C[c0:c0+m, cc:cc+n] (+)= A[a0:a0+m, ac:ac+k] @ op(B), alpha = 1.

    A, B, C are 2-D arrays with unit column stride; rows are addressed with their own row
    strides, so A and C may be blocks of wider arrays. ``op(B)`` is B (k, n) for NO_TRANS,
    or B.T for a (n, k) B with TRANS. Callers skip m == 0 (BLAS rejects a zero lda).

    Args:
        fptr: address of ?gemm (_blas.gemm_pointers)
        transb: NO_TRANS: op(B) = B (k, n); TRANS: op(B) = B.T of an (n, k) B
        m: rows of the product
        n: columns of the product
        k: the summed dimension
        A: 2-D, unit column stride
        a0: first row of A read
        ac: first column of A read
        B: 2-D, C-contiguous, or F-contiguous (read as its transpose, flag flipped)
        accumulate: C += (beta 1), else C = (beta 0)
        C: 2-D, unit column stride: the product's target
        c0: first row of C written
        cc: first column of C written
    """
    size = C.itemsize
    beta = C.dtype.type(1) if accumulate else C.dtype.type(0)
    a_ptr = A.ctypes.data + a0 * A.strides[0] + ac * size
    c_ptr = C.ctypes.data + c0 * C.strides[0] + cc * size
    lda, ldc = _lead(A, size), _lead(C, size)
    transb, ldb = _b_operand(B, transb)
    one = C.dtype.type(1)
    b_ptr = B.ctypes.data
    _call_gemm(fptr, NO_TRANS, transb, m, n, k, one, a_ptr, lda, b_ptr, ldb, beta, c_ptr, ldc)


def _b_operand(B, transb):
    """(transb, ldb) of B as BLAS reads it: an F-contiguous B (a C array's ``.T``, W_hh.T
    straight from the parameter's memory) is its transpose read with the other flag."""


@overload(_b_operand, jit_options=INLINE)
def _b_operand_overload(B, transb):
    if isinstance(B, types.Array) and B.layout == "F":
        return lambda B, transb: (
            TRANS + NO_TRANS - transb,
            B.strides[1] // B.itemsize if B.shape[1] > 1 else max(B.shape[0], 1),
        )
    return lambda B, transb: (transb, _lead(B, B.itemsize))


@njit(**INLINE)
def gemm_tn(fptr, m, n, k, A, a0, ac, B, b0, bc, C):
    """C += A[a0:a0+k, ac:ac+m].T @ B[b0:b0+k, bc:bc+n], alpha = beta = 1: a sum over k
    rows of two arrays (a weight gradient's share of one step). C is (m, n) C-contiguous;
    A and B are 2-D with unit column stride. Callers skip k == 0.

    Args:
        fptr: address of ?gemm (_blas.gemm_pointers)
        m: rows of the product (columns of A read)
        n: columns of the product (columns of B read)
        k: the summed dimension (rows of A and B read)
        A: 2-D, unit column stride
        a0: first row of A read
        ac: first column of A read
        B: 2-D, unit column stride
        b0: first row of B read
        bc: first column of B read
        C: (m, n) C-contiguous: += the product
    """
    size = C.itemsize
    one = C.dtype.type(1)
    a_ptr = A.ctypes.data + a0 * A.strides[0] + ac * size
    b_ptr = B.ctypes.data + b0 * B.strides[0] + bc * size
    lda, ldb = _lead(A, size), _lead(B, size)
    _call_gemm(fptr, TRANS, NO_TRANS, m, n, k, one, a_ptr, lda, b_ptr, ldb, one, C.ctypes.data, n)
