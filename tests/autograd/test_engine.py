"""The backward engine's short walk for chains (each node with at most one input that is
another node: an RNN call on a leaf input, pack_padded_sequence then an RNN, ``x * w``): the
same gradients, errors and grad mode as the general walk, and the hand-over to the general
walk where the graph branches. No torch needed: the general walk (two roots) is the
reference."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import elman
from elman.autograd import Function
from elman.autograd.engine import run_backward


def _general(y: elman.Tensor, g: np.ndarray) -> None:
    """y.backward(g) through the general walk: two roots (g/2 each, exact in binary)."""
    run_backward([y, y], [g / 2, g / 2])


def _leaves(seed: int, *shapes: tuple[int, ...]) -> list[elman.Tensor]:
    rng = np.random.default_rng(seed)
    return [elman.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]


def _grads(ts: list[Any]) -> list[np.ndarray]:
    return [t.grad.numpy().copy() for t in ts]


def test_product_of_two_leaves() -> None:
    runs = []
    for walk in ("single", "general"):
        x, w = _leaves(0, (3, 4), (4, 2))
        y = x @ w
        g = np.random.default_rng(1).standard_normal(y.shape)
        y.backward(g) if walk == "single" else _general(y, g)
        runs.append(_grads([x, w]))
        np.testing.assert_allclose(runs[-1][0], g @ w.detach().numpy().T, rtol=1e-13)
    for a, b in zip(*runs, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_rnn_call_on_a_leaf_input(bidirectional: bool) -> None:
    runs = []
    for walk in ("single", "general"):
        elman.manual_seed(3)
        rnn = elman.nn.RNN(5, 6, num_layers=2, bidirectional=bidirectional, dtype=elman.float64)
        x = elman.randn(4, 3, 5, dtype=elman.float64).requires_grad_()
        h0 = elman.randn(2 * (1 + bidirectional), 3, 6, dtype=elman.float64).requires_grad_()
        out, hn = rnn(x, h0)
        assert out.grad_fn is hn.grad_fn
        g = np.random.default_rng(2).standard_normal(out.shape)
        out.backward(g) if walk == "single" else _general(out, g)
        runs.append(_grads([x, h0, *rnn.parameters()]))
    for a, b in zip(*runs, strict=True):
        np.testing.assert_array_equal(a, b)


class _SameArrayTwice(Function):
    """A backward that returns one array for both inputs: the grads must not alias."""

    @staticmethod
    def forward(ctx: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a + b

    @staticmethod
    def backward(ctx: Any, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return g, g


class _OwnedGrads(_SameArrayTwice):
    """Claims its gradients as fresh (``grads_owned``) and returns distinct arrays."""

    @staticmethod
    def forward(ctx: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ctx.grads_owned = True
        return a + b

    @staticmethod
    def backward(ctx: Any, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return g.copy(), 2 * g


def test_one_array_for_two_leaves_is_copied() -> None:
    a, b = _leaves(4, (3,), (3,))
    g = np.ones(3)
    _SameArrayTwice.apply(a, b).backward(g)
    assert not np.shares_memory(a.grad.numpy(), b.grad.numpy())
    assert not np.shares_memory(a.grad.numpy(), g)
    a.grad.numpy()[0] = 5.0
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 1.0, 1.0])


def test_owned_grads_become_grad_and_then_accumulate() -> None:
    a, b = _leaves(5, (3,), (3,))
    y = _OwnedGrads.apply(a, b)
    y.backward(np.ones(3), retain_graph=True)
    np.testing.assert_array_equal(b.grad.numpy(), [2.0, 2.0, 2.0])
    first = b.grad
    y.backward(np.ones(3))  # adds to .grad, into a new array (``first`` is unchanged)
    np.testing.assert_array_equal(b.grad.numpy(), [4.0, 4.0, 4.0])
    np.testing.assert_array_equal(first.numpy(), [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(a.grad.numpy(), [2.0, 2.0, 2.0])


def test_owned_grad_of_another_dtype_is_cast() -> None:
    a = elman.tensor([1.0, 2.0], dtype=elman.float32, requires_grad=True)
    b = elman.tensor([1.0, 2.0], dtype=elman.float64, requires_grad=True)
    _OwnedGrads.apply(a, b).backward(np.ones(2))
    assert a.grad.dtype == elman.float32 and b.grad.dtype == elman.float64


class _TwoOutputs(Function):
    """Two outputs; records what backward received for each."""

    received: list[Any] = []

    @staticmethod
    def forward(ctx: Any, a: np.ndarray, materialize: bool) -> tuple[np.ndarray, np.ndarray]:
        ctx.set_materialize_grads(materialize)
        return a * 2.0, a * 3.0

    @staticmethod
    def backward(ctx: Any, g1: Any, g2: Any) -> tuple[Any, None]:
        _TwoOutputs.received[:] = [g1, g2]
        total = np.zeros(2) if g1 is None else 2.0 * g1
        return total + (0.0 if g2 is None else 3.0 * g2), None


@pytest.mark.parametrize("materialize", [True, False])
def test_set_materialize_grads(materialize: bool) -> None:
    """As torch: by default an output no gradient reached arrives as zeros; after
    ctx.set_materialize_grads(False) as None."""
    a = elman.tensor([1.0, 2.0], dtype=elman.float64, requires_grad=True)
    first, _ = _TwoOutputs.apply(a, materialize)
    first.backward(np.array([1.0, 1.0]))
    g1, g2 = _TwoOutputs.received
    np.testing.assert_array_equal(g1, [1.0, 1.0])
    if materialize:
        np.testing.assert_array_equal(g2, [0.0, 0.0])
    else:
        assert g2 is None
    np.testing.assert_array_equal(a.grad.numpy(), [2.0, 2.0])


def test_second_backward_without_retain_graph_raises() -> None:
    x, w = _leaves(6, (2,), (2,))
    y = x * w
    y.backward(np.ones(2))
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward(np.ones(2))


class _Spy(Function):
    seen: list[bool] = []

    @staticmethod
    def forward(ctx: Any, a: np.ndarray) -> np.ndarray:
        return a * 1.0

    @staticmethod
    def backward(ctx: Any, g: np.ndarray) -> np.ndarray:
        _Spy.seen.append(elman.is_grad_enabled())
        if g[0] < 0:
            raise ValueError("boom")
        return g


def test_grad_mode_is_off_inside_and_restored_after() -> None:
    (a,) = _leaves(7, (2,))
    _Spy.seen.clear()
    _Spy.apply(a).backward(np.ones(2))
    assert _Spy.seen == [False] and elman.is_grad_enabled()
    with pytest.raises(ValueError, match="boom"):
        _Spy.apply(a).backward(-np.ones(2))
    assert elman.is_grad_enabled()
    y = _Spy.apply(a)
    with elman.no_grad():  # backward under no_grad: off inside, still off after
        y.backward(np.ones(2))
        assert not elman.is_grad_enabled()
    assert elman.is_grad_enabled()


def test_input_without_grad_gets_none() -> None:
    x = elman.tensor([1.0, 2.0])
    (w,) = _leaves(8, (2,))
    (x * w).backward(np.ones(2))
    assert x.grad is None
    np.testing.assert_array_equal(w.grad.numpy(), [1.0, 2.0])


def _both_walks(build: Any, n_leaves: int) -> None:
    """Build the same graph twice; backward once through each walk; identical grads."""
    runs = []
    for walk in ("chain", "general"):
        leaves = _leaves(9, *[(3, 3)] * n_leaves)
        y = build(*leaves)
        g = np.random.default_rng(10).standard_normal(y.shape)
        y.backward(g) if walk == "chain" else _general(y, g)
        runs.append([None if t.grad is None else t.grad.numpy().copy() for t in leaves])
    for a, b in zip(*runs, strict=True):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_array_equal(a, b)


def test_chain_of_ops() -> None:
    _both_walks(lambda x, w: ((x @ w).tanh() * 2.0 + 1.0).exp(), 2)


def test_chain_then_branches() -> None:
    # a chain from the root, then a node with two node inputs: the general walk goes on
    _both_walks(lambda x, w: ((lambda h: h * h.tanh())(x @ w) * 3.0).exp(), 2)
    _both_walks(lambda x, w: ((x.exp() + w.exp()) * 2.0).tanh(), 2)


def test_packed_then_rnn() -> None:
    from elman.nn.utils.rnn import pack_padded_sequence

    runs = []
    for walk in ("chain", "general"):
        elman.manual_seed(11)
        rnn = elman.nn.RNN(4, 5, num_layers=2, dtype=elman.float64)
        x = elman.randn(6, 3, 4, dtype=elman.float64).requires_grad_()
        out, _ = rnn(pack_padded_sequence(x, [6, 4, 2]))
        g = np.random.default_rng(12).standard_normal(out.data.shape)
        out.data.backward(g) if walk == "chain" else _general(out.data, g)
        runs.append(_grads([x, *rnn.parameters()]))
    for a, b in zip(*runs, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(runs[0][0][4:, 2], 0.0)  # padding gets no gradient


class _NoGradThrough(Function):
    """Passes values on but sends no gradient back (returns None for its input)."""

    @staticmethod
    def forward(ctx: Any, a: np.ndarray) -> np.ndarray:
        return a.copy()

    @staticmethod
    def backward(ctx: Any, g: np.ndarray) -> None:
        return None


def test_chain_cut_by_a_none_gradient_releases_the_rest() -> None:
    (x,) = _leaves(13, (2,))
    h = x.exp()
    y = _NoGradThrough.apply(h) * 2.0
    y.backward(np.ones(2))
    assert x.grad is None
    with pytest.raises(RuntimeError, match="a second time"):
        h.backward(np.ones(2))  # the node below the cut was released too


@pytest.mark.parametrize("model", ["linear", "rnn"])
def test_concurrent_backward_into_shared_parameters_loses_nothing(model: str) -> None:
    """Four threads call backward() into the same parameters: every gradient is added
    (before the accumulation lock, 4 of 5 such runs of the Linear case lost some)."""
    import threading

    elman.manual_seed(0)
    if model == "linear":
        net: Any = elman.nn.Linear(64, 64)
        x = elman.randn(8, 64)
        calls = 300
    else:
        net = elman.nn.RNN(4, 16)
        x = elman.randn(5, 2, 4)
        calls = 100

    def loss() -> Any:
        out = net(x)
        return (out[0] if isinstance(out, tuple) else out).sum()

    loss().backward()
    once = {n: p.grad.numpy().copy() for n, p in net.named_parameters()}
    net.zero_grad(set_to_none=True)

    def work() -> None:
        for _ in range(calls):
            loss().backward()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for n, p in net.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), once[n] * 4 * calls, rtol=1e-4, atol=1e-3)
