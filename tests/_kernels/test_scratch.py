"""The scratch arrays of the layered stack: an array is handed out again only when nothing
references it (no view, Tensor or graph node), so results a caller keeps are never
overwritten by a later call."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import elman
from elman._kernels import scratch

SHAPE = (600, 500)  # 1.2 MB of float32: kept by the pool


def test_a_free_array_comes_back_a_busy_one_never() -> None:
    scratch.clear()
    scratch.empty(SHAPE, np.float32)  # a shape's first request: remembered, nothing kept
    a = scratch.empty(SHAPE, np.float32)
    where = a.ctypes.data
    b = scratch.empty(SHAPE, np.float32)
    assert b.ctypes.data != where  # a is still referenced
    view = a[10:]
    del a
    c = scratch.empty(SHAPE, np.float32)
    assert c.ctypes.data != where  # a view keeps it busy
    del view, c
    d = scratch.empty(SHAPE, np.float32)
    assert d.ctypes.data == where and d.shape == SHAPE and d.dtype == np.float32
    assert scratch.empty((3, 4), np.float64).shape == (3, 4)  # small: not kept
    scratch.clear()


def test_a_shape_is_kept_from_its_second_request() -> None:
    """Shapes that change every step (packed batches) would only churn the pool: a shape
    asked for once is remembered, and its arrays kept from the second request on."""
    scratch.clear()
    once = scratch.empty(SHAPE, np.float32)
    assert not scratch._POOL and list(scratch._SEEN) == [(SHAPE, "<f4")]
    twice = scratch.empty(SHAPE, np.float32)
    assert [len(v) for v in scratch._POOL.values()] == [1] and twice is not once
    where = twice.ctypes.data
    del twice
    assert scratch.empty(SHAPE, np.float32).ctypes.data == where
    for k in range(scratch.SEEN_KEYS + 1):  # the oldest first sighting is forgotten
        scratch.empty((600 + k + 1, 500), np.float32)
    assert len(scratch._SEEN) == scratch.SEEN_KEYS and (SHAPE, "<f4") in scratch._POOL
    scratch.clear()
    assert not scratch._POOL and not scratch._SEEN


def test_threads_never_share_an_array() -> None:
    scratch.clear()
    seen: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(4)

    def take() -> None:
        barrier.wait()
        a = scratch.empty(SHAPE, np.float32)
        with lock:
            seen.append(a.ctypes.data)
        barrier.wait()  # all four hold theirs at once

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(seen)) == 4
    scratch.clear()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_outputs_a_caller_keeps_survive_later_steps(dtype: str) -> None:
    """Training steps (layered variants: 64 rows of 128 units) while the caller keeps each
    step's output and gradients: every kept array still holds its step's numbers."""
    elman.manual_seed(0)
    rnn = elman.nn.RNN(4, 128, num_layers=2, dtype=getattr(elman, dtype))
    rng = np.random.default_rng(0)
    kept = []
    for _ in range(4):
        x = elman.from_numpy(rng.standard_normal((40, 64, 4)).astype(dtype))
        out, _ = rnn(x)
        (out**2).sum().backward()
        kept.append((out, out.detach().numpy().copy(), rnn.weight_hh_l0.grad.numpy().copy()))
        rnn.zero_grad()
    for out, values, _ in kept:
        np.testing.assert_array_equal(out.detach().numpy(), values)
    fresh = elman.nn.RNN(4, 128, num_layers=2, dtype=getattr(elman, dtype))
    fresh.load_state_dict(rnn.state_dict())
    x = elman.from_numpy(np.random.default_rng(0).standard_normal((40, 64, 4)).astype(dtype))
    out, _ = fresh(x)
    (out**2).sum().backward()
    np.testing.assert_array_equal(fresh.weight_hh_l0.grad.numpy(), kept[0][2])
