"""gradcheck: passes on correct ops, catches a wrong backward, and reports the details."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import elman
from conftest import requires_torch
from elman.autograd import Function, GradcheckError, gradcheck

pytestmark = requires_torch


# ---- gradcheck --------------------------------------------------------------------------


def _f64(*shape: int, seed: int = 0) -> elman.Tensor:
    a = np.random.default_rng(seed).uniform(-1, 1, shape)
    return elman.tensor(a, requires_grad=True)


@pytest.mark.parametrize(
    "fn,shapes",
    [
        (lambda x, w: (x @ w).tanh(), ((2, 3), (3, 2))),
        (lambda x, y: x / (y * y + 1) - x.sigmoid() * y, ((3,), (3,))),
        (lambda x: x[[0, 0, 1]].exp().sum(0), ((2, 3),)),
        (lambda x: x.max(1).values, ((3, 4),)),
        (lambda x, y: elman.cat([x, y], 1).relu().mean(0), ((2, 3), (2, 2))),
        (lambda x, y: elman.stack([x, y], -1).permute(2, 0, 1).reshape(-1), ((2, 3), (2, 3))),
        (lambda x: (x.abs() + 1).log().sqrt() ** 1.5, ((2, 2),)),
    ],
)
def test_gradcheck_passes_on_correct_ops(fn: Any, shapes: Any) -> None:
    inputs = [_f64(*s, seed=i) for i, s in enumerate(shapes)]
    assert gradcheck(fn, inputs)


class _WrongCube(Function):
    """x^3 with a wrong derivative (2x^2 instead of 3x^2)."""

    @staticmethod
    def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx: Any, g: np.ndarray) -> np.ndarray:
        (x,) = ctx.saved_tensors
        return g * 2 * x * x


def test_gradcheck_catches_a_wrong_backward() -> None:
    x = _f64(3)
    with pytest.raises(GradcheckError, match="mismatch"):
        gradcheck(_WrongCube.apply, [x])
    assert gradcheck(_WrongCube.apply, [x], raise_exception=False) is False
    assert issubclass(GradcheckError, RuntimeError)  # as torch's


def test_gradcheck_details() -> None:
    x = _f64(2, 3)
    x.grad = elman.ones(2, 3, dtype=elman.float64)
    assert gradcheck(lambda t: t.tanh(), x)  # a lone tensor is accepted, as in torch
    assert x.grad.tolist() == [[1.0] * 3] * 2  # the caller's .grad is left alone
    xt = _f64(3, 2).detach().T.requires_grad_()  # a non-contiguous input
    assert gradcheck(lambda t: t * t, [xt])
    with pytest.raises(TypeError, match="float64"):
        gradcheck(lambda t: t * 2, [elman.ones(2, requires_grad=True)])
