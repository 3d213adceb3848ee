"""A slice's gradient: zeros laid out as the sliced array was (a batch-first view of a
time-major RNN output gets a time-major gradient, so the RNN's backward reads it without a
transposing copy), large ones from the reused scratch arrays. The values must be those of
the plain zeros-and-scatter, and a gradient a caller keeps must never be overwritten by a
later backward that reuses the buffer."""

from __future__ import annotations

import numpy as np
import pytest

import elman
from elman.autograd.shape_ops import memory_order, zeros_in_order

BIG = (48, 100, 96)  # 1.8 MB of float32: a pooled size


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(4, 5, 3), BIG])
def test_slice_of_a_transposed_view(dtype: str, shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(0)
    base = rng.standard_normal((shape[1], shape[0], shape[2])).astype(dtype)  # time-major
    x = elman.tensor(base, requires_grad=True)
    view = x.transpose(0, 1)  # (N, L, H) batch-first, memory time-major
    w = rng.standard_normal((shape[0], shape[2])).astype(dtype)
    (view[:, -1] * elman.from_numpy(w)).sum().backward()
    expect = np.zeros_like(base)
    expect[-1] = w
    np.testing.assert_array_equal(x.grad.numpy(), expect)


def test_layout_follows_the_source() -> None:
    a = np.zeros((3, 4, 5), dtype=np.float32).transpose(1, 0, 2)  # (4, 3, 5)
    axes = memory_order(a.strides)
    assert axes == (1, 0, 2)
    z = zeros_in_order(a.shape, a.dtype, axes)
    assert z.shape == a.shape and z.strides == a.strides and not z.any()
    assert memory_order(np.zeros((3, 4)).strides) is None
    assert memory_order(None) is None
    c = zeros_in_order((3, 4), np.float64, None)
    assert c.flags.c_contiguous and not c.any()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_kept_slice_gradients_survive_later_backwards(dtype: str) -> None:
    """Pooled gradients: each step's kept gradient holds its own step's numbers, and the
    buffer handed out again is all zeros outside the slice (no stale values)."""
    rng = np.random.default_rng(1)
    kept = []
    for step in range(4):
        x = elman.tensor(rng.standard_normal(BIG).astype(dtype), requires_grad=True)
        (x[:, step] * (step + 1)).sum().backward()
        kept.append((step, x.grad))
        if step % 2:  # let go of some: their buffers may be reused by the next steps
            kept.pop()
    for step, g in kept:
        expect = np.zeros(BIG, dtype=dtype)
        expect[:, step] = step + 1
        np.testing.assert_array_equal(g.numpy(), expect)
    for step in range(3):  # reuse: a later gradient never shows an earlier one's values
        x = elman.tensor(np.ones(BIG, dtype=dtype), requires_grad=True)
        x[:, step].sum().backward()
        expect = np.zeros(BIG, dtype=dtype)
        expect[:, step] = 1
        np.testing.assert_array_equal(x.grad.numpy(), expect)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_rnn_last_step_head_gradients(dtype: str) -> None:
    """out[:, -1] of a batch-first one-layer RNN is h_n[0]: the two heads give the same
    gradients (the slice's time-major gradient reaches the RNN's backward uncopied)."""
    elman.manual_seed(0)
    rnn = elman.nn.RNN(3, 96, batch_first=True, dtype=getattr(elman, dtype))
    x = elman.from_numpy(np.random.default_rng(2).standard_normal((48, 60, 3)).astype(dtype))
    w = elman.from_numpy(np.random.default_rng(3).standard_normal(96).astype(dtype))
    grads = []
    for head in (lambda out, hn: out[:, -1], lambda out, hn: hn[0]):
        rnn.zero_grad()
        out, hn = rnn(x)
        (head(out, hn) * w).sum().backward()
        grads.append([p.grad.numpy().copy() for p in rnn.parameters()])
    for a, b in zip(*grads, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12 if dtype == "float64" else 1e-5, atol=1e-7)
