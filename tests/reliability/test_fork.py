"""A forked child runs every kernel variant (issue 13, part 2).

The two-thread kernels hand half of each call to a helper thread. A child made by
``os.fork()`` (``multiprocessing``'s default on Linux before Python 3.14) has no such thread
and may inherit a lock that another thread held: before the fork handlers, a child of a
parent that had run a two-thread kernel hung forever in the pair runner. Real forks here,
each with a deadline (a hang is a failure, never a stuck test run), and the child's numbers
compared with the parent's bit for bit.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("numba")
if not hasattr(os, "fork"):  # pragma: no cover - Windows
    pytest.skip("no os.fork on this platform", allow_module_level=True)

from elman._kernels import _blas, dispatch, stack_compiled, stack_ref  # noqa: E402

DEADLINE = 120.0  # seconds a child may take on a loaded machine (it needs well under 5)
VARIANTS = sorted(dispatch.VARIANTS)


def _case(D: int, seed: int) -> tuple[tuple[Any, ...], tuple[np.ndarray, np.ndarray]]:
    """Two layers (a unidirectional pair runs as the layer wavefront), float64."""
    rng = np.random.default_rng(seed)
    T, N, I, H, NL = 8, 4, 5, 20, 2
    sizes = np.full(T, N, dtype=np.int64)
    weights = [
        (
            rng.standard_normal((H, I if k < D else D * H)) * 0.5,
            rng.standard_normal((H, H)) * 0.2,
            rng.standard_normal(H),
            rng.standard_normal(H),
        )
        for k in range(NL * D)
    ]
    args = (rng.standard_normal((T * N, I)), sizes, rng.standard_normal((NL * D, N, H)), weights)
    grads = (rng.standard_normal((T * N, D * H)), rng.standard_normal((NL * D, N, H)))
    return (*args, NL, False, None), grads


CASES = [_case(1, 0), _case(2, 1)]


def _flat(result: Any) -> list[np.ndarray]:
    if isinstance(result, (list, tuple)):
        return [a for item in result for a in _flat(item)]
    return [np.asarray(result)]


def run_every_variant() -> dict[str, list[np.ndarray]]:
    """Forward and backward of each variant on each case, every array flattened."""
    results = {}
    for name in VARIANTS:
        v = dispatch.VARIANTS[name]
        arrays = []
        for args, grads in CASES:
            outs, hn = stack_compiled.stack_forward(*args, variant=v)
            arrays += _flat(
                (outs, hn, stack_compiled.stack_backward(*args, outs, *grads, variant=v))
            )
        results[name] = arrays
    return results


@pytest.fixture(scope="module")
def parent_results() -> dict[str, list[np.ndarray]]:
    """The parent has run every variant (its helper thread exists), checked against the
    NumPy reference so that the comparison below compares right numbers."""
    results = run_every_variant()
    expected = []
    for args, grads in CASES:
        outs, hn = stack_ref.stack_forward(*args)
        expected += _flat((outs, hn, stack_ref.stack_backward(*args, outs, *grads)))
    for name, arrays in results.items():
        assert len(arrays) == len(expected), name
        for k, (a, e) in enumerate(zip(arrays, expected, strict=True)):
            np.testing.assert_allclose(a, e, rtol=1e-9, atol=1e-11, err_msg=f"{name}[{k}]")
    return results


def _wait(pid: int, deadline: float) -> int | None:
    """The child's exit status, or None after killing it at the deadline (a hang)."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None


def _fork(work: Callable[[], Any], out: Path) -> int:
    """os.fork(); the child pickles work()'s result (or its traceback) to ``out``."""
    with warnings.catch_warnings():  # 3.12+: "use of fork() may lead to deadlocks"
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 1
        try:
            out.write_bytes(pickle.dumps(work()))
            code = 0
        except BaseException:
            out.write_text(traceback.format_exc())
        finally:
            os._exit(code)
    return pid


def _child_results(pid: int, out: Path) -> Any:
    status = _wait(pid, DEADLINE)
    assert status is not None, f"the forked child hung (killed after {DEADLINE:.0f} s)"
    assert status == 0, out.read_text() if out.exists() else f"exit status {status}"
    return pickle.loads(out.read_bytes())


def _assert_same(child: dict[str, list[np.ndarray]], parent: dict[str, list[np.ndarray]]):
    assert sorted(child) == sorted(parent)
    for name, arrays in parent.items():
        assert len(child[name]) == len(arrays), name
        for k, (a, b) in enumerate(zip(child[name], arrays, strict=True)):
            np.testing.assert_array_equal(a, b, err_msg=f"{name}[{k}]")


def test_os_fork_child_runs_every_variant(parent_results, tmp_path):
    out = tmp_path / "child.pickle"
    _assert_same(_child_results(_fork(run_every_variant, out), out), parent_results)
    # and the parent's helper still works after the fork
    _assert_same(run_every_variant(), parent_results)


def _mp_child(conn: Any) -> None:
    try:
        conn.send(("ok", run_every_variant()))
    except BaseException:
        conn.send(("error", traceback.format_exc()))


@pytest.mark.skipif(sys.platform != "linux", reason="the fork start method is Linux's default")
def test_multiprocessing_fork_child_runs_every_variant(parent_results):
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        proc = ctx.Process(target=_mp_child, args=(send,))
        proc.start()
    try:
        assert receive.poll(DEADLINE), f"the multiprocessing child hung ({DEADLINE:.0f} s)"
        status, payload = receive.recv()
        assert status == "ok", payload
        _assert_same(payload, parent_results)
    finally:
        proc.join(5)
        if proc.is_alive():
            proc.kill()
            proc.join()


def test_fork_while_another_thread_runs_a_pair(parent_results, tmp_path):
    """Forks taken while another thread is inside a two-thread call (its pair lock held,
    OpenBLAS held at one thread): each child gets a fresh lock and helper, and OpenBLAS
    back at the count the parent had outside elman's calls."""
    blas_threads = _blas._THREADS[0]() if _blas.blas_threads_controllable() else None
    args, grads = CASES[0]
    split = dispatch.VARIANTS["layered-split"]
    stop = threading.Event()
    calls = [0]

    def busy() -> None:
        while not stop.is_set():
            stack_compiled.stack_forward(*args, variant=split)
            calls[0] += 1

    thread = threading.Thread(target=busy)
    thread.start()
    try:
        for k in range(6):
            time.sleep(0.01 * k)  # land at different moments of the loop

            def work() -> Any:
                count = _blas._THREADS[0]() if blas_threads is not None else None
                return count, run_every_variant()

            out = tmp_path / f"child{k}.pickle"
            count, results = _child_results(_fork(work, out), out)
            assert count == blas_threads
            _assert_same(results, parent_results)
    finally:
        stop.set()
        thread.join(DEADLINE)
    assert not thread.is_alive() and calls[0] > 0
