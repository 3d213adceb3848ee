"""The fast lane's gradients as the engine receives them (nn/_rnn_fast.py, autograd/engine.py).

The lane's node promises the engine exact gradients (``ctx.grads_exact``: fresh ndarrays of
each input's shape and dtype), which the engine then sets as ``.grad`` without its checks;
and a fused backward hands out the previous call's gradient buffer again when nothing holds
it any more. These tests check the promise on every layout and kernel family, and that a
gradient somebody still holds is never written.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import elman
from elman._kernels.dispatch import VARIANTS
from elman.nn import _rnn_fast
from elman.nn.utils.rnn import pack_padded_sequence

pytestmark = pytest.mark.skipif(not elman._kernels.JIT, reason="the lane needs numba")

LAYOUTS = ["time-major", "batch-first", "unbatched", "packed"]


@pytest.fixture(params=["fused", "layered-gemm", "fused-forward"])
def variant(request: Any, monkeypatch: Any) -> str:
    """Every call's decision forced to one variant (the fused backward, the layered one)."""
    monkeypatch.setattr(_rnn_fast, "choose", lambda *a: VARIANTS[request.param])
    return str(request.param)


def _model(dtype: Any, batch_first: bool = False, seed: int = 0) -> Any:
    elman.manual_seed(seed)
    return elman.nn.RNN(3, 4, 2, bidirectional=True, batch_first=batch_first, dtype=dtype)


def _call(layout: str, dtype: Any, hx: bool, seed: int = 1) -> tuple[Any, Any, Any, Any]:
    """(model, out tensor to differentiate, the input leaf, the hx leaf or None)."""
    rng = np.random.default_rng(seed)
    rnn = _model(dtype, batch_first=layout == "batch-first")
    L, N = 5, 3
    shape = {"time-major": (L, N, 3), "batch-first": (N, L, 3), "unbatched": (L, 3)}
    x = elman.tensor(rng.standard_normal(shape.get(layout, (L, N, 3))).astype(dtype))
    x.requires_grad_(True)
    h_shape = (4, 4) if layout == "unbatched" else (4, N, 4)
    h = elman.tensor(rng.standard_normal(h_shape).astype(dtype), requires_grad=True) if hx else None
    if layout == "packed":
        out, _ = rnn(pack_padded_sequence(x, [5, 3, 2]), h)
        return rnn, out.data, x, h
    out, _ = rnn(x, h)
    return rnn, out, x, h


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("hx", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_node_gradients_are_exact(variant: str, layout: str, hx: bool, dtype: Any) -> None:
    """Each gradient the node returns is an ndarray of its input's exact shape and dtype:
    what ``ctx.grads_exact`` tells the engine, which then keeps it as ``.grad`` unchecked."""
    rnn, out, x, h = _call(layout, dtype, hx)
    node = out.grad_fn
    assert node.ctx.grads_exact and node.ctx.grads_owned
    g_out = np.ones(out.shape, dtype=dtype)
    grads = node.fn.backward(node.ctx, g_out, None)
    assert len(grads) == len(node.edges) == 2 + len(list(rnn.parameters()))
    for i, (g, edge) in enumerate(zip(grads, node.edges, strict=True)):
        if edge is None:
            assert i == 1 and not hx  # (no hx: its gradient is not asked for)
            continue
        assert type(g) is np.ndarray
        want = edge[0].out_meta[edge[1]] if isinstance(edge, tuple) else None
        shape, dt = want if want else (edge._data.shape, edge._data.dtype)
        assert g.shape == shape and g.dtype == dt, (i, g.shape, shape, g.dtype, dt)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_chain_walk_gradients_equal_general_walk(variant: str, layout: str) -> None:
    """The chain walk's leaves (set under one lock, unchecked) get what the general walk
    gives them, and a second backward adds to them (exactly twice: x + x is exact)."""
    got = []
    for walk in ("chain", "general"):
        rnn, out, x, _ = _call(layout, np.float64, False)
        g = np.random.default_rng(7).standard_normal(out.shape)
        if walk == "chain":
            out.backward(g)
        else:  # (two roots: _walk, not the chain)
            elman.autograd.backward([out, out], [g, np.zeros_like(g)])
        got.append([x.grad.numpy().copy()] + [p.grad.numpy().copy() for p in rnn.parameters()])
    for a, b in zip(*got, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-13)
    rnn, out, x, _ = _call(layout, np.float64, False)
    out.sum().backward(retain_graph=True)
    once = [p.grad.numpy().copy() for p in rnn.parameters()]
    out.sum().backward()
    for p, g1 in zip(rnn.parameters(), once, strict=True):
        np.testing.assert_array_equal(p.grad.numpy(), 2 * g1)


def _step(rnn: Any, x: np.ndarray) -> list[np.ndarray]:
    out, _ = rnn(elman.tensor(x))
    out.backward(np.ones(out.shape, dtype=x.dtype))
    return [p.grad._data for p in rnn.parameters()]


def test_fused_gradient_buffer_comes_back_when_released(monkeypatch: Any) -> None:
    """A training step sets ``.grad`` to None: the next fused backward writes the same
    arrays again (no new views to make), with the values a fresh model gets."""
    monkeypatch.setattr(_rnn_fast, "choose", lambda *a: VARIANTS["fused"])
    rnn = _model(np.float64)
    rng = np.random.default_rng(3)
    x1, x2 = rng.standard_normal((2, 5, 2, 3))
    first = [id(a) for a in _step(rnn, x1)]
    for p in rnn.parameters():
        p.grad = None
    second = _step(rnn, x2)
    assert [id(a) for a in second] == first
    fresh = _step(_model(np.float64), x2)
    for a, b in zip(second, fresh, strict=True):
        np.testing.assert_array_equal(a, b)
    del second, a, b  # (the loop variables hold the last views too)
    for p in rnn.parameters():
        p.grad = None
    x3 = rng.standard_normal((7, 1, 3))  # another call signature: one buffer per module
    assert [id(a) for a in _step(rnn, x3)] == first


def test_held_gradients_are_never_written(monkeypatch: Any) -> None:
    """A ``.grad`` still held, or an array of its memory (a view of a view), keeps its
    values through the next backward: that one gets new arrays."""
    monkeypatch.setattr(_rnn_fast, "choose", lambda *a: VARIANTS["fused"])
    rnn = _model(np.float32)
    rng = np.random.default_rng(4)
    xs = rng.standard_normal((3, 5, 2, 3)).astype(np.float32)
    _step(rnn, xs[0])
    held = rnn.weight_hh_l0.grad  # the Tensor
    row = rnn.weight_ih_l1.grad._data[1]  # a view of the buffer: only the buffer is held
    kept = held.numpy().copy(), row.copy()
    for p in rnn.parameters():
        p.grad = None
    for x in xs[1:]:
        got = _step(rnn, x)
        np.testing.assert_array_equal(held.numpy(), kept[0])
        np.testing.assert_array_equal(row, kept[1])
        for a, b in zip(got, _step(_model(np.float32), x), strict=True):
            np.testing.assert_array_equal(a, b)
        for p in rnn.parameters():
            p.grad = None


def test_packed_input_checked_once_per_call_signature(monkeypatch: Any) -> None:
    """As for dense input, the lane checks a packed call once per signature (its plan is
    made after the checks pass); with hx, or after a weight is replaced, every call."""
    from elman.nn import _rnn_packed

    calls = []
    real = _rnn_packed.check_packed
    monkeypatch.setattr(_rnn_packed, "check_packed", lambda *a: calls.append(1) or real(*a))
    rnn = _model(np.float32)
    x = elman.tensor(np.ones((5, 3, 3), dtype=np.float32))
    packed = pack_padded_sequence(x, [5, 3, 2])
    first = rnn(packed)[0].data.detach().numpy().copy()
    for _ in range(3):
        np.testing.assert_array_equal(rnn(packed)[0].data.detach().numpy(), first)
    assert len(calls) == 1
    rnn(pack_padded_sequence(x, [5, 3, 3]))  # another signature: checked once
    rnn(pack_padded_sequence(x, [5, 3, 3]))
    assert len(calls) == 2
    h = elman.zeros(4, 3, 4)
    rnn(packed, h)
    rnn(packed, h)
    assert len(calls) == 4
    del rnn.weight_hh_l1  # the lane no longer applies: the checks run and say why
    with pytest.raises(AttributeError, match="weight_hh_l1"):
        rnn(packed)
