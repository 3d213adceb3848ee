"""Threads: the thread count, concurrent calls, and waits that back off (issue 13, part 2).

* ``elman.set_num_threads``/``get_num_threads`` (torch's names and errors), defaulting from
  ``OMP_NUM_THREADS`` and the affinity mask; with one thread no two-thread variant runs.
* Calls from several Python threads at once give the bits the same calls give one after
  another (they did not: a call's exit restored OpenBLAS's thread count while another
  thread's call ran, whose products then summed in another order).
* A half that waits for its partner spins briefly, then yields and blocks: a partner that
  is not running costs no CPU, two threads pinned to one core take turns, and a half that
  fails releases the other at once.

The long campaign (>= 1,000 calls per variant): tests/reliability/campaign_threads.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from typing import Any

import numpy as np
import pytest

pytest.importorskip("numba")

import elman  # noqa: E402
from conftest import TORCH  # noqa: E402
from elman._kernels import _blas, dispatch, handover, split_recurrence, stack_compiled  # noqa: E402
from elman._kernels import threads as kthreads  # noqa: E402

TWO_THREAD = [n for n, v in sorted(dispatch.VARIANTS.items()) if v.two_threads]
DEADLINE = 120.0


@pytest.fixture
def restore_threads():
    before = elman.get_num_threads()
    yield
    elman.set_num_threads(before)


def _python(code: str, **env: str) -> str:
    full = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS",)}
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**full, **env},
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


# ---- the thread count -------------------------------------------------------------------------


def test_set_num_threads_validates_as_torch(restore_threads) -> None:
    bad: list[Any] = [0, -3, 2.5, "2", True, None]
    for value in bad:
        with pytest.raises(RuntimeError) as got:
            elman.set_num_threads(value)
        if TORCH is not None:
            with pytest.raises(RuntimeError) as want:
                TORCH.set_num_threads(value)
            assert str(got.value) == str(want.value)
    assert "positive integer" in str(pytest.raises(RuntimeError, elman.set_num_threads, 0).value)
    elman.set_num_threads(np.int64(1))  # any integer type, as torch
    assert elman.get_num_threads() == 1 and isinstance(elman.get_num_threads(), int)
    elman.set_num_threads(8)  # more than the CPUs: remembered, the kernels use what exists
    assert elman.get_num_threads() == 8
    assert kthreads.kernel_threads() == min(2, kthreads.available_cpus())


def test_thread_count_docstring_examples_run(restore_threads) -> None:
    import doctest

    assert doctest.testmod(kthreads, raise_on_error=True).attempted >= 4


def test_default_follows_omp_num_threads_and_the_affinity_mask() -> None:
    code = "import elman, os; print(elman.get_num_threads(), len(os.sched_getaffinity(0)))"
    if not hasattr(os, "sched_getaffinity"):
        pytest.skip("no affinity mask on this platform")
    n, cpus = (int(v) for v in _python(code).split())
    assert n == cpus
    assert _python(code, OMP_NUM_THREADS="1").split()[0] == "1"
    assert _python(code, OMP_NUM_THREADS="1,1").split()[0] == "1"  # nested: the first level
    assert _python(code, OMP_NUM_THREADS="not a number").split()[0] == str(cpus)
    assert _python(code, OMP_NUM_THREADS="64").split()[0] == str(cpus)  # capped by the CPUs
    pinned = "import os; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); " + code
    assert _python(pinned).split()[0] == "1"  # taskset -c 0 python ...


# a two-thread shape: 200 steps of 3 sequences, 2 layers of 400 (the layer wavefront + split)
COUNT_CHILD = """
import json, os, threading, numpy as np, elman
from elman._kernels import dispatch
if os.environ.get("SET_ONE"):
    elman.set_num_threads(1)
elman.manual_seed(0)
rnn = elman.nn.RNN(7, 400, num_layers=2)
x = elman.tensor(np.random.default_rng(0).standard_normal((200, 3, 7)).astype("float32"),
                 requires_grad=True)
out, hn = rnn(x)
(out.sum() + hn.sum()).backward()
names = sorted(t.name for t in threading.enumerate())
v = dispatch.choose(600, 3, 7, 400, 2, 1)
print(json.dumps({"helper": "elman-pair" in names, "two": bool(v.two_threads),
                  "sum": float(x.grad.sum())}))
"""


def test_one_thread_runs_no_two_thread_variant() -> None:
    """In fresh processes: the helper thread only exists when two threads are allowed; a
    variant forced by ELMAN_KERNEL_VARIANT runs as its one-thread counterpart too."""
    if kthreads.available_cpus() < 2 or not _blas.blas_threads_controllable():
        pytest.skip("one CPU or no OpenBLAS thread control: no two-thread variants here")
    two = json.loads(_python(COUNT_CHILD))
    assert two["helper"] and two["two"]
    for env in ({"OMP_NUM_THREADS": "1"}, {"SET_ONE": "1"}):
        one = json.loads(_python(COUNT_CHILD, **env))
        assert not one["helper"] and not one["two"], env
        assert abs(one["sum"] - two["sum"]) <= 1e-4 * max(1.0, abs(two["sum"]))
    forced = json.loads(
        _python(COUNT_CHILD, OMP_NUM_THREADS="1", ELMAN_KERNEL_VARIANT="layered-split")
    )
    assert not forced["helper"] and not forced["two"]


def test_dispatch_sees_the_thread_count(restore_threads) -> None:
    """The cached choice is keyed by the count: changing it changes the next choice."""
    if not _blas._compiled_with_blas_control() or kthreads.available_cpus() < 2:
        pytest.skip("one CPU or no OpenBLAS thread control")
    shape = (15000, 3, 7, 400, 2, 1)
    elman.set_num_threads(2)
    assert dispatch.choose(*shape).two_threads
    elman.set_num_threads(1)
    assert not dispatch.choose(*shape).two_threads and not dispatch.two_threads_allowed()
    elman.set_num_threads(2)
    assert dispatch.choose(*shape).two_threads


# ---- concurrent calls are bit-identical to sequential ones -------------------------------------


def make_model(seed: int, D: int) -> tuple[tuple[Any, ...], tuple[np.ndarray, np.ndarray]]:
    """A 2-layer float32 stack: 160 steps of 4 sequences, H = 64. Its weight gradients sum
    over 640 rows: OpenBLAS threads such products, and threaded (a sum over more rows than
    its block, ~500 here) they round differently."""
    rng = np.random.default_rng(seed)
    T, N, I, H, NL = 160, 4, 8, 64, 2

    def rnd(*shape: int, scale: float = 1.0) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    weights = [
        (rnd(H, I if k < D else D * H, scale=0.3), rnd(H, H, scale=0.1), rnd(H), rnd(H))
        for k in range(NL * D)
    ]
    sizes = np.full(T, N, dtype=np.int64)
    args = (rnd(T * N, I), sizes, rnd(NL * D, N, H), weights, NL, False, None)
    return args, (rnd(T * N, D * H), rnd(NL * D, N, H))


def one_call(name: str, model: tuple, head: np.ndarray) -> list[np.ndarray]:
    """Forward and backward of variant ``name``, then a Linear-sized product of the output
    (elman's Linear holds OpenBLAS at one thread above 2.6e5 multiply-adds, as here)."""
    (args, grads), v = model, dispatch.VARIANTS[name]
    outs, hn = stack_compiled.stack_forward(*args, variant=v)
    dx, dh0, per_layer = stack_compiled.stack_backward(*args, outs, *grads, variant=v)
    with elman._kernels.quiet_blas(outs[-1].shape[0] * head.size):
        y = outs[-1] @ head
    return [outs[-1], hn, dx, dh0, y, *(g for layer in per_layer for g in layer)]


def _compare(got: list[np.ndarray], want: list[np.ndarray], where: str) -> None:
    for k, (a, b) in enumerate(zip(got, want, strict=True)):
        if not np.array_equal(a, b):
            worst = float(np.max(np.abs(a.astype(np.float64) - b)))
            raise AssertionError(f"{where}: array {k} differs by up to {worst:.3g}")


def run_concurrently(names: list[str], reps: int, D: int) -> None:
    """Four threads, each its own model (and variant from ``names``), ``reps`` calls each,
    compared bit for bit with the same calls made one after another."""
    models = [make_model(seed, D) for seed in range(4)]
    heads = [np.random.default_rng(10 + k).standard_normal((D * 64, 700)).astype(np.float32)
             for k in range(4)]  # fmt: skip
    work = [(names[k % len(names)], models[k], heads[k]) for k in range(4)]
    expected = [one_call(*w) for w in work]
    errors: list[str] = []
    start = threading.Barrier(4)

    def worker(k: int) -> None:
        try:
            start.wait()
            for rep in range(reps):
                _compare(one_call(*work[k]), expected[k], f"thread {k} ({work[k][0]}) call {rep}")
        except BaseException as exc:  # reported by the main thread
            errors.append(repr(exc))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(DEADLINE)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert not errors, errors[:3]


@pytest.mark.parametrize("name", TWO_THREAD)
def test_four_threads_match_sequential_calls(name: str) -> None:
    run_concurrently([name], reps=6, D=2 if name == "layered-pairs" else 1)


def test_four_threads_of_mixed_variants_match_sequential_calls() -> None:
    """A two-thread variant beside one-thread ones (whose products were threaded or not
    depending on whether another thread's call held OpenBLAS at that moment)."""
    run_concurrently(["layered-split", "layered-gemm", "layered-rows", "layered-outer"], 6, 1)


# ---- waits back off, and a failed half releases the other -------------------------------------


def _in_thread(fn: Any, deadline: float = DEADLINE) -> Any:
    """fn() on a thread with a deadline: a hang fails the test instead of stalling it."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:
            box["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(deadline)
    assert not t.is_alive(), f"hung for {deadline:.0f} s"
    if "error" in box:
        raise box["error"]
    return box["value"]


def test_a_waiting_half_costs_no_cpu() -> None:
    """One half waits 0.3 s for a partner that sleeps: it spins ~15 us, yields, then blocks
    (before: it spun the whole time, a core's worth of CPU), and wakes at once when the
    partner arrives."""
    flags = handover.new_flags()
    handover.wait_for(flags, 0, 0)  # both compiled before timing
    handover.arrive(handover.new_flags(), 0, 0)
    seen: dict[str, float] = {}

    def half(c: int) -> bool:
        if c == 1:
            time.sleep(0.3)
            seen["arrived"] = time.perf_counter()
            handover.arrive(flags, handover.LINE, 1)
            return True
        cpu = time.thread_time()
        ok = handover.wait_for(flags, handover.LINE, 1)
        seen["woke"], seen["cpu"] = time.perf_counter(), time.thread_time() - cpu
        return bool(ok)

    _in_thread(lambda: handover.run_pair(half, (0,), (1,), flags))
    assert seen["cpu"] < 0.05, f"the waiting half used {seen['cpu']:.3f} s of CPU in 0.3 s"
    # woken when the partner arrives (~0.1 ms here), not by a slow poll; generous for CI
    assert seen["woke"] - seen["arrived"] < 0.2


def _split_halves(out: np.ndarray, sizes: np.ndarray, bias, h0, w_hh) -> tuple:
    """The two halves' arguments of :func:`split_recurrence.split_forward` (as its runner builds
    them) and their flags."""
    N, H = h0.shape
    j1 = handover.split_point(H)
    hbuf = np.zeros((2, N, (H + 31) // 32 * 32), dtype=out.dtype)
    hbuf[:, :, :H] = h0
    flags = handover.new_flags()
    off = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)

    def half(c: int, j0: int, j1: int) -> tuple:
        P = split_recurrence.pack_columns(w_hh[j0:j1].T, out.dtype)
        return (c, out, 0, j0, j1 - j0, sizes, off, bias, P, False, False, hbuf, flags)

    return half(0, 0, j1), half(1, j1, H), flags


@pytest.mark.parametrize("failing", [0, 1])
def test_a_failed_half_releases_the_other(failing: int) -> None:
    """A half that raises (on this thread or on the helper) aborts the pair: the other,
    waiting at the split kernel's first barrier, returns at once, and the error is raised
    (before: the other spun ~2^31 rounds, seconds, and a RuntimeError hid the error)."""
    (x, sizes, h0, weights, *_), _ = make_model(0, 1)
    w_ih, w_hh, b_ih, b_hh = weights[0]
    out = x @ w_ih.T

    def kernel(c: int, *rest: Any) -> Any:
        if c == failing:
            raise ValueError(f"half {c} failed")
        return split_recurrence.split_forward(c, *rest)

    a0, a1, flags = _split_halves(out.copy(), sizes, b_ih + b_hh, h0[0], w_hh)
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match=f"half {failing} failed"):
        _in_thread(lambda: handover.run_pair(kernel, a0, a1, flags), deadline=30)
    assert time.perf_counter() - t0 < 5
    # the helper is free again: the same pair without the failure gives the split's result
    a0, a1, flags = _split_halves(got := out.copy(), sizes, b_ih + b_hh, h0[0], w_hh)
    _in_thread(lambda: handover.run_pair(split_recurrence.split_forward, a0, a1, flags))
    want = out.copy()
    hn = np.empty_like(h0[0])
    split_recurrence.split_recur_forward(want, 0, sizes, b_ih + b_hh, h0[0], w_hh, False, False, hn)
    np.testing.assert_array_equal(got, want)


PINNED = """
import json, os, time, numpy as np
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # both threads on one core
from elman._kernels import dispatch, stack_compiled
rng = np.random.default_rng(0)
T, N, I, H = 400, 3, 16, 256
def rnd(*shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype("f4")
ws = [(rnd(H, I, scale=0.3), rnd(H, H, scale=0.05), rnd(H), rnd(H))]
args = (rnd(T * N, I), np.full(T, N), np.zeros((1, N, H), "f4"), ws, 1, False, None)
def best(name):
    v = dispatch.VARIANTS[name]
    stack_compiled.stack_forward(*args, variant=v)
    times = []
    for _ in range(5):
        t = time.perf_counter()
        stack_compiled.stack_forward(*args, variant=v)
        times.append(time.perf_counter() - t)
    return min(times)
print(json.dumps({"one": best("layered-outer"), "two": best("layered-split")}))
"""


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no affinity mask")
def test_two_threads_on_one_core_take_turns() -> None:
    """The split kernel forced onto one core (the worst oversubscription: its partner can
    only run when it stops): each barrier hands the core over within microseconds. Before,
    each waited out a time slice spinning: 400 steps took ~100x one thread's time."""
    times = json.loads(_python(PINNED))
    assert times["two"] < 15 * times["one"] + 0.02, times  # ~4.5x here; before: ~180x
