"""The engine against torch: accumulation across backward calls, retain_graph, freed graphs,
diamonds, shared leaves, explicit gradients, multi-output Functions, deep chains, several
roots.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from op_check import (
    check,
    torch,
)

import elman
from conftest import requires_torch
from elman.autograd import Function, gradcheck

pytestmark = requires_torch


# ---- the engine -------------------------------------------------------------------------


def _pair(values: Any, dtype: Any = np.float64) -> tuple[elman.Tensor, Any]:
    a = np.asarray(values, dtype=dtype)
    return elman.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


def test_grads_accumulate_across_backward_calls() -> None:
    e, t = _pair([0.5, -1.0, 2.0])
    for x in (e, t):
        (x.tanh() * 3).sum().backward()
        (x * x).sum().backward()  # adds to .grad rather than replacing it
    np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-14)
    np.testing.assert_allclose(e.grad.numpy(), 3 / np.cosh([0.5, -1.0, 2.0]) ** 2 + [1, -2, 4])


def test_retain_graph_allows_a_second_backward() -> None:
    x = elman.tensor([0.5, -1.0], dtype=elman.float64, requires_grad=True)
    y = (x.tanh() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first, rtol=1e-15)


def test_second_backward_raises_torchs_error() -> None:
    messages = []
    for x in _pair([0.5, -1.0]):
        y = (x.tanh() * x).sum()
        y.backward()
        with pytest.raises(RuntimeError, match="backward through the graph a second time") as e:
            y.backward()
        messages.append(str(e.value))
    assert "retain_graph=True" in messages[0]


def test_backward_frees_saved_arrays() -> None:
    for retain in (False, True):
        x = elman.tensor([0.5, -1.0], requires_grad=True)
        h = x.exp()  # Exp saves its output; only the graph holds it once h is gone
        ref = weakref.ref(h.detach().numpy())
        y = h.tanh().sum()
        del h
        gc.collect()
        assert ref() is not None
        y.backward(retain_graph=retain)
        gc.collect()
        assert (ref() is not None) == retain


def test_diamond_graph() -> None:
    # h feeds three paths; its gradient is their sum
    check(lambda x: (lambda h: h * h + h.tanh() - h[0])(x.exp()), (3, 2))
    check(lambda x, w: ((x @ w).tanh() @ w.T + x).sum(), (2, 3), (3, 3))


def test_same_leaf_used_many_times() -> None:
    check(lambda x: x * x * x + x, (4,))
    check(lambda x: x[0] + x[0] + x[1], (3,))


def test_requires_grad_propagation() -> None:
    x = elman.ones(2, requires_grad=True)
    c = elman.ones(2)
    assert (x * c).requires_grad and not (x * c).is_leaf and (x * c).grad_fn is not None
    assert not (c * 2).requires_grad and (c * 2).grad_fn is None
    assert x.is_leaf and c.is_leaf
    assert not x.detach().requires_grad and not x.data.requires_grad
    assert not (x > 0).requires_grad  # comparisons are not differentiable
    assert not x.argmax().requires_grad


def test_leaf_without_grad_path_keeps_none() -> None:
    x = elman.ones(2, requires_grad=True)
    y = elman.ones(2, requires_grad=True)
    (x * 2).sum().backward()
    assert y.grad is None
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])


def test_backward_with_explicit_gradient() -> None:
    check(lambda x: x * 2, (2, 3))  # check() itself passes a gradient
    x = elman.tensor([[1.0, 2.0]], requires_grad=True)
    (x * 3).backward(elman.tensor([[1.0, -1.0]]))
    assert x.grad.tolist() == [[3.0, -3.0]]
    (x * 3).backward(np.array([[2.0, 0.0]], dtype=np.float32))
    assert x.grad.tolist() == [[9.0, -3.0]]


def test_backward_on_a_leaf() -> None:
    x = elman.tensor([1.0, 2.0], requires_grad=True)
    x.backward(elman.tensor([3.0, 4.0]))
    assert x.grad.tolist() == [3.0, 4.0]


def _error(fn: Callable[[Any], Any], lib: Any) -> str:
    with pytest.raises(RuntimeError) as e:
        fn(lib)
    return str(e.value)


@pytest.mark.parametrize(
    "fn",
    [
        lambda m: (m.ones(2, 3, requires_grad=True) * 2).backward(),
        lambda m: m.ones(2).sum().backward(),
        lambda m: (m.ones(2, 3, requires_grad=True) * 2).backward(m.ones(3)),
        lambda m: m.tensor([1, 2], requires_grad=True),
    ],
    ids=["non-scalar", "no-grad", "grad-shape", "int-requires-grad"],
)
def test_backward_errors_match_torch(fn: Any) -> None:
    expected = _error(fn, torch).replace("torch.Size", "elman.Size")
    assert _error(fn, elman) == expected


class _TwoOutputs(Function):
    """(2x, x^2): a multi-output Function for the engine's bookkeeping."""

    @staticmethod
    def forward(ctx: Any, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ctx.save_for_backward(x)
        return 2 * x, x * x

    @staticmethod
    def backward(ctx: Any, g_double: np.ndarray, g_square: np.ndarray) -> np.ndarray:
        (x,) = ctx.saved_tensors
        return 2 * g_double + 2 * x * g_square


def test_multi_output_function_with_an_unused_output() -> None:
    x = elman.tensor([1.0, -2.0], dtype=elman.float64, requires_grad=True)
    double, square = _TwoOutputs.apply(x)
    assert double.grad_fn is square.grad_fn
    square.sum().backward()  # `double` is never used: its gradient arrives as zeros
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, -4.0])
    x.grad = None
    double, square = _TwoOutputs.apply(x)
    (double * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, 6.0])
    assert gradcheck(lambda t: _TwoOutputs.apply(t), [x])


def test_node_reached_by_no_gradient_releases_its_edges() -> None:
    # y's graph hangs off z through an output of _TwoOutputs that gets no gradient
    x = elman.tensor([1.0, 2.0], dtype=elman.float64, requires_grad=True)
    double, square = _TwoOutputs.apply(x.tanh())
    (square.sum() + x.sum()).backward()
    expected = 2 * np.tanh([1.0, 2.0]) * (1 - np.tanh([1.0, 2.0]) ** 2) + 1
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-14)


class _WrongCount(Function):
    @staticmethod
    def forward(ctx: Any, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return x + y

    @staticmethod
    def backward(ctx: Any, g: np.ndarray) -> np.ndarray:
        return g


def test_function_returning_wrong_number_of_grads() -> None:
    x = elman.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        _WrongCount.apply(x, x).sum().backward()


def test_deep_chain_without_recursion() -> None:
    n = 50_000
    x = elman.tensor(0.5, dtype=elman.float64, requires_grad=True)
    y = x
    for _ in range(n):
        y = y * 1.00001 + 0.0
    y.backward()
    np.testing.assert_allclose(x.grad.item(), 1.00001**n, rtol=1e-9)
    del y
    gc.collect()  # tearing down a 100,000-node chain must not overflow the C stack either


def test_several_roots_at_once() -> None:
    x = elman.tensor([1.0, 2.0], dtype=elman.float64, requires_grad=True)
    a, b = x * 2, (x * 3).tanh()
    elman.autograd.backward([a, b], [np.ones(2), np.full(2, 2.0)])
    expected = 2 + 2 * 3 * (1 - np.tanh(3 * np.array([1.0, 2.0])) ** 2)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-14)


def test_backward_of_a_root_that_feeds_another_root() -> None:
    x = elman.tensor([1.0, 2.0], dtype=elman.float64, requires_grad=True)
    h = x * 2
    y = (h * h).sum()
    elman.autograd.backward([y, h], [np.array(1.0), np.ones(2)])
    np.testing.assert_allclose(x.grad.numpy(), 8 * x.detach().numpy() + 2, rtol=1e-15)
