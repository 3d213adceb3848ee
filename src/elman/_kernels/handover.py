"""The thread hand-over: two halves of one kernel on two threads.

:func:`run_pair` runs ``kernel(*args1)`` on a persistent helper thread while
``kernel(*args0)`` runs on the calling thread (plain Python threads running ``nogil``
kernels: no Numba threading layer, no second pool), the helper's half with subnormals
flushed when the calling thread flushes them (:mod:`.denormals`: the mode is per thread)
and under the calling thread's NumPy error settings (``np.errstate`` is per thread too: a
product with ``inf * 0`` in the helper's half must not warn where the caller's would not).
One pair runs at a time in a process: concurrent calls from several Python threads queue
for the helper (they block, they do not spin), so elman never has more than two threads of
its own running. Halves that wait
for each other do it as :mod:`.waiting` says (spin briefly, yield, block); a half that
raises aborts the pair, which releases the other, and the error is raised here.

After ``os.fork()`` the child has no helper thread (only the forking thread survives) and
may hold a copy of a lock that another thread held: a fork handler gives the child a new
lock and a helper made on first use, so forked children (``multiprocessing``'s default
on Linux before Python 3.14) run the two-thread kernels too.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from ._blas import single_threaded_blas, two_threads_allowed
from .config import THREADED_PRODUCT, TWO_THREAD_MIN_ROWS, TWO_THREAD_PRODUCT
from .denormals import active as flushing
from .denormals import flush_denormals, own_mode, restore_mode
from .waiting import LINE, abort_pair, arrive, new_flags, wait_for

__all__ = [
    "LINE",
    "new_flags",
    "wait_for",
    "arrive",
    "abort_pair",
    "run_pair",
    "matmul_two_threads",
    "layer_product",
    "split_point",
]


# ---- the helper thread -------------------------------------------------------------------------


class _Job:
    """One half on the helper thread; ``done`` is released when it has returned or raised.
    ``flush``: the submitting thread flushes subnormals (.denormals), so this half does;
    ``errors``: the submitting thread's ``np.geterr()``, which this half runs under."""

    __slots__ = ("kernel", "args", "flags", "flush", "errors", "result", "error", "done")

    def __init__(
        self, kernel: Callable[..., Any], args: tuple, flags: np.ndarray | None, flush: bool
    ):
        self.kernel, self.args, self.flags, self.flush = kernel, args, flags, flush
        self.errors = np.geterr()
        self.result: Any = None
        self.error: BaseException | None = None
        self.done = threading.Lock()
        self.done.acquire()

    def run(self) -> None:
        try:
            if self.errors != np.geterr():
                with np.errstate(**self.errors):
                    self._call()
            else:
                self._call()
        except BaseException as exc:  # handed to the caller, which raises it
            self.error = exc
            if self.flags is not None:
                abort_pair(self.flags)
        finally:
            self.done.release()

    def _call(self) -> None:
        if self.flush:
            with flush_denormals():
                self.result = self.kernel(*self.args)
        else:
            self.result = self.kernel(*self.args)

    def join(self) -> None:
        """Wait for the half to end, even through KeyboardInterrupt (it ends promptly once
        aborted: barrier kernels stop waiting, the others finish their share)."""
        interrupted: BaseException | None = None
        while True:
            try:
                self.done.acquire()
                break
            except BaseException as exc:  # e.g. Ctrl-C while waiting
                interrupted = exc
                if self.flags is not None:
                    abort_pair(self.flags)
        if interrupted is not None:
            raise interrupted


class _Helper:
    """A daemon thread running one job at a time from a queue. A new thread starts with a
    copy of its creator's floating-point mode: made inside a subnormal-flushing block, it
    takes the creator's own mode from outside the block instead (.denormals)."""

    def __init__(self) -> None:
        self.jobs: list[_Job] = []
        self.ready = threading.Semaphore(0)
        mode = own_mode()
        self.thread = threading.Thread(target=self._loop, args=(mode,), name="elman-pair")
        self.thread.daemon = True
        self.thread.start()

    def submit(self, job: _Job) -> None:
        self.jobs.append(job)
        self.ready.release()

    def _loop(self, mode: int) -> None:
        restore_mode(mode)
        while True:
            self.ready.acquire()
            self.jobs.pop(0).run()


class _State:
    """The per-process state: replaced in a forked child (see the module docstring)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()  # one pair at a time: the helper is shared
        self.helper: _Helper | None = None


_STATE = _State()


def _after_fork_in_child() -> None:
    global _STATE
    _STATE = _State()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def run_pair(
    kernel: Callable[..., Any], args0: tuple, args1: tuple, flags: np.ndarray | None = None
) -> None:
    """kernel(*args1) on the helper thread while kernel(*args0) runs on this one.

    ``flags``: the pair's :func:`new_flags` when the halves wait for each other, so that a
    half that raises releases the other (which then returns False); the first error is
    raised here once both halves have ended. A half that returns False without an error
    (it was released without one) is reported as a RuntimeError.
    """
    state = _STATE
    with state.lock:
        if state.helper is None:
            state.helper = _Helper()
        job = _Job(kernel, args1, flags, flushing())
        state.helper.submit(job)
        try:
            ok = kernel(*args0)
        except BaseException:
            if flags is not None:
                abort_pair(flags)
            job.join()
            raise
        job.join()
    if job.error is not None:
        raise job.error
    if ok is False or job.result is False:
        raise RuntimeError("elman: the two threads of a split kernel did not meet")


def matmul_two_threads(
    a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None, min_work: float = 0
) -> np.ndarray:
    """``np.matmul(a, b, out)`` with the rows of ``a`` split between the two threads, for
    products of at least ``min_work`` multiply-adds (smaller ones run on this thread). With
    too few rows for two halves (fewer than ``2 * TWO_THREAD_MIN_ROWS``: a weight gradient
    ``g.T @ x`` of a narrow layer, e.g. a language model's head over a small vocabulary), the
    columns of ``b`` are split instead when there are as many: each half into an array of
    its own, then copied into ``out`` (NumPy hands BLAS a block of columns of ``b``, but
    not of ``out``: a product into one ran NumPy's own loop, ~100x slower).

    Used inside :func:`._blas.single_threaded_blas`: each half is one single-threaded BLAS
    call, so no BLAS worker is woken that would keep spinning afterwards.
    """
    if out is None:
        out = np.empty((a.shape[0], b.shape[1]), dtype=np.result_type(a, b))
    M, N = a.shape[0], b.shape[1]
    if M * a.shape[1] * N < min_work:
        return np.matmul(a, b, out=out)
    m = M // 2
    if m >= TWO_THREAD_MIN_ROWS:
        run_pair(np.matmul, (a[:m], b, out[:m]), (a[m:], b, out[m:]))
    elif N // 2 >= TWO_THREAD_MIN_ROWS:
        n = split_point(N)
        left = np.empty((M, n), dtype=out.dtype)
        right = np.empty((M, N - n), dtype=out.dtype)
        run_pair(np.matmul, (a, b[:, :n], left), (a, b[:, n:], right))
        out[:, :n] = left
        out[:, n:] = right
    else:
        np.matmul(a, b, out=out)
    return out


def layer_product(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``a @ b`` of two matrices for a layer around the RNN (a Linear's forward, dW and dX):
    from TWO_THREAD_PRODUCT multiply-adds on elman's two threads when two may run
    (:func:`matmul_two_threads`: half the rows or half the columns each, one single-threaded
    BLAS call a half), smaller ones on the calling thread; OpenBLAS's own threads, which
    busy-wait after a threaded call, are never woken from THREADED_PRODUCT on (a language
    model's head over every step ran its three products on one core)."""
    work = a.shape[0] * a.shape[1] * b.shape[1]
    if work >= TWO_THREAD_PRODUCT and two_threads_allowed():
        with single_threaded_blas():
            return matmul_two_threads(a, b, out)
    if work >= THREADED_PRODUCT:
        with single_threaded_blas():
            return np.matmul(a, b, out=out)
    return np.matmul(a, b, out=out)


def split_point(H: int) -> int:
    """Where thread 1's units start: a multiple of 16 (whole cache lines of float32)."""
    return min(H, max(16, (H // 2 + 15) // 16 * 16))
