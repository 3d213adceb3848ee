"""Very long sequences and very deep graphs: no RecursionError, and the right numbers.

The Python recursion limit (1000 by default) is far below the depths used here, so a
recursive backward, graph walk or graph teardown anywhere would fail these tests.
"""

from __future__ import annotations

import sys

import numpy as np

import elman
from conftest import assert_close, to_numpy
from elman._kernels import rnn_ref

LONG = 100_000


def test_recursion_limit_is_below_the_depths_tested() -> None:
    assert sys.getrecursionlimit() < LONG // 10


def test_100k_step_rnn_forward_and_backward() -> None:
    rng = np.random.default_rng(0)
    rnn = elman.nn.RNN(2, 4, dtype="float64")
    x = elman.tensor(rng.standard_normal((LONG, 1, 2)), requires_grad=True)
    h0 = elman.tensor(rng.standard_normal((1, 1, 4)), requires_grad=True)
    g_out, g_hn = rng.standard_normal((LONG, 1, 4)), rng.standard_normal((1, 1, 4))
    out, hn = rnn(x, h0)
    ((out * elman.tensor(g_out)).sum() + (hn * elman.tensor(g_hn)).sum()).backward()

    weights = [to_numpy(p) for p in rnn.parameters()]
    ref_out, ref_hn = rnn_ref.layer_forward(to_numpy(x), to_numpy(h0)[0], *weights, False, False)
    assert_close(out[-10:], ref_out[-10:], "last outputs")
    assert_close(hn[0], ref_hn, "h_n")
    grads = rnn_ref.layer_backward(
        to_numpy(x), to_numpy(h0)[0], *weights[:2], ref_out, g_out, g_hn[0], False, False
    )
    for name, tensor, expected in zip(("x", "h0"), (x, h0), grads[:2], strict=True):
        assert np.all(np.isfinite(to_numpy(tensor.grad))), name
        assert_close(to_numpy(tensor.grad).reshape(expected.shape), expected, f"grad of {name}")
    for (name, p), expected in zip(rnn.named_parameters(), (*grads[2:], grads[4]), strict=True):
        assert np.all(np.isfinite(to_numpy(p.grad))), name
        assert_close(p.grad, expected, f"grad of {name}")


def test_100k_step_rnn_streams_in_chunks() -> None:
    """Two halves with the state carried over give the full run's last state (unidirectional)."""
    rng = np.random.default_rng(1)
    rnn = elman.nn.RNN(2, 4, dtype="float64")
    x = rng.standard_normal((LONG, 1, 2))
    with elman.no_grad():
        _, hn = rnn(elman.tensor(x))
        _, h_half = rnn(elman.tensor(x[: LONG // 2]))
        _, h_end = rnn(elman.tensor(x[LONG // 2 :]), h_half)
    assert np.all(np.isfinite(to_numpy(hn)))
    assert_close(h_end, hn, "h_n after two chunks")


def test_100k_op_autograd_chain() -> None:
    """x -> x * c + 0.0, 50,000 times: 100,000 graph nodes; d(out)/dx = c**50000."""
    c = 1.00001
    x = elman.tensor(np.array([0.5, -2.0]), requires_grad=True)
    y = x
    for _ in range(LONG // 2):
        y = y * c + 0.0
    y.sum().backward()
    assert_close(y, to_numpy(x) * c ** (LONG // 2), "value", rtol=1e-9)
    assert_close(x.grad, np.full(2, c ** (LONG // 2)), "gradient", rtol=1e-9)


def test_rnn_cell_stepped_20k_times() -> None:
    """20,000 RNNCell nodes in one graph: values and grads equal the layer kernel's."""
    rng = np.random.default_rng(2)
    steps = 20_000
    cell = elman.nn.RNNCell(3, 4, dtype="float64")
    x = rng.standard_normal((steps, 1, 3))
    xs = [elman.tensor(x_t, requires_grad=True) for x_t in x]  # one leaf per step
    h0 = elman.tensor(rng.standard_normal((1, 4)), requires_grad=True)
    g_hn = rng.standard_normal((1, 4))
    h = h0
    for x_t in xs:
        h = cell(x_t, h)
    (h * elman.tensor(g_hn)).sum().backward()

    weights = [to_numpy(p) for p in cell.parameters()]
    out, hn = rnn_ref.layer_forward(x, to_numpy(h0), *weights, False, False)
    assert_close(h, hn, "h_n", rtol=0.0, atol=1e-12)
    grads = rnn_ref.layer_backward(
        x, to_numpy(h0), *weights[:2], out, np.zeros_like(out), g_hn, False, False
    )
    assert_close(np.stack([to_numpy(x_t.grad) for x_t in xs]), grads[0], "grad of x")
    assert_close(h0.grad, grads[1], "grad of h0")
    for (name, p), expected in zip(cell.named_parameters(), (*grads[2:], grads[4]), strict=True):
        assert_close(p.grad, expected, f"grad of {name}")
