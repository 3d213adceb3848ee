"""Unary functions (and their derivatives at 0), max and reductions against torch (values and
gradients, through :func:`op_check.check`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from op_check import (
    M,
    check,
)

import elman
from conftest import requires_torch

pytestmark = requires_torch


# ---- unary functions --------------------------------------------------------------------

UNARY = {
    "tanh": (lambda x: x.tanh(), -3.0, 3.0),
    "tanh_fn": (lambda x: M(x).tanh(x), -3.0, 3.0),
    "sigmoid": (lambda x: x.sigmoid(), -8.0, 8.0),
    "sigmoid_fn": (lambda x: M(x).sigmoid(x), -8.0, 8.0),
    "relu": (lambda x: x.relu(), -2.0, 2.0),
    "relu_fn": (lambda x: M(x).relu(x), -2.0, 2.0),
    "exp": (lambda x: x.exp(), -3.0, 3.0),
    "exp_fn": (lambda x: M(x).exp(x), -3.0, 3.0),
    "log": (lambda x: x.log(), 0.1, 4.0),
    "log_fn": (lambda x: M(x).log(x), 0.1, 4.0),
    "abs": (lambda x: x.abs(), -2.0, 2.0),
    "sqrt": (lambda x: x.sqrt(), 0.1, 4.0),
    "square": (lambda x: x**2, -2.0, 2.0),
    "cube": (lambda x: x.pow(3), -2.0, 2.0),
    "pow_half": (lambda x: x**0.5, 0.1, 4.0),
    "pow_neg": (lambda x: x**-1.5, 0.5, 2.0),
    "pow_zero": (lambda x: x**0, -2.0, 2.0),
    "pow_one": (lambda x: x**1, -2.0, 2.0),
    "softmax": (lambda x: x.exp() / x.exp().sum(-1, keepdim=True), -2.0, 2.0),
    "rnn_step": (lambda x: (x @ x.T + 1).tanh().sum(0), -1.0, 1.0),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("op", UNARY)
def test_unary(op: str, dtype: Any) -> None:
    fn, low, high = UNARY[op]
    check(fn, (3, 4), dtype=dtype, low=low, high=high)


AT_ZERO = np.array([-1.5, -0.0, 0.0, 0.5, 2.0])


@pytest.mark.parametrize(
    "fn", [lambda x: x.relu(), lambda x: x.abs(), lambda x: x**2, lambda x: x.tanh()]
)
def test_derivatives_at_zero(fn: Any) -> None:
    check(fn, AT_ZERO)  # relu'(0) = 0 and |x|'(0) = 0, as in torch


def test_relu_grad_at_zero_is_zero() -> None:
    x = elman.tensor([0.0, 1.0], requires_grad=True)
    x.relu().sum().backward()
    assert x.grad.tolist() == [0.0, 1.0]


# ---- max --------------------------------------------------------------------------------

TIES = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, -1.0]])


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: x.max(),
        lambda x: x.max(dim=1),
        lambda x: x.max(0, keepdim=True),
        lambda x: x.max(-1).values * 2,
        lambda x: x.max(dim=0)[0],
        lambda x: x.max(1, True).indices,
    ],
)
@pytest.mark.parametrize("data", [(3, 4), TIES], ids=["random", "ties"])
def test_max(fn: Any, data: Any) -> None:
    check(fn, data)


def test_maximum_ties_split_the_gradient() -> None:
    check(lambda x, y: M(x).maximum(x, y), TIES, TIES[:, ::-1].copy())
    check(lambda x, y: x.max(y), TIES, np.full(3, 2.0))


# ---- reductions -------------------------------------------------------------------------

REDUCE = [
    {},
    {"dim": 0},
    {"dim": -1},
    {"dim": 1, "keepdim": True},
    {"dim": (0, 2)},
    {"dim": (0, -1), "keepdim": True},
    {"dim": [1]},
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kwargs", REDUCE, ids=str)
@pytest.mark.parametrize("op", ["sum", "mean"])
def test_reductions(op: str, kwargs: Any, dtype: Any) -> None:
    check(lambda x: getattr(x, op)(**kwargs), (2, 3, 4), dtype=dtype)


@pytest.mark.parametrize("op", ["sum", "mean"])
def test_reductions_positional_and_0d(op: str) -> None:
    check(lambda x: getattr(x, op)(1, True), (2, 3))
    check(lambda x: getattr(x, op)(), ())
    check(lambda x: getattr(x, op)(), (1,))
