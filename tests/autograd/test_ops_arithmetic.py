"""Elementwise arithmetic with broadcasting, matmul, scalar and ndarray operands, and dtype
promotion, against torch (values and gradients, through :func:`op_check.check`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from op_check import (
    TOL,
    C,
    M,
    check,
)

import elman
from conftest import requires_torch

pytestmark = requires_torch


# ---- elementwise arithmetic with broadcasting ----------------------------------------------

BROADCAST = [
    ((3, 4), (3, 4)),
    ((3, 4), ()),  # scalar tensor
    ((), (3, 4)),
    ((3, 4), (4,)),  # row
    ((3, 4), (3, 1)),  # column
    ((3, 1), (1, 4)),  # outer
    ((2, 3, 4), (3, 1)),
    ((1,), (2, 3)),
]
BINARY = {
    "add": lambda x, y: x + y,
    "sub": lambda x, y: x - y,
    "mul": lambda x, y: x * y,
    "maximum": lambda x, y: M(x).maximum(x, y),
    "chain": lambda x, y: (x * y - y) * x + y,
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shapes", BROADCAST, ids=str)
@pytest.mark.parametrize("op", BINARY)
def test_binary_broadcasting(op: str, shapes: Any, dtype: Any) -> None:
    check(BINARY[op], *shapes, dtype=dtype)


@pytest.mark.parametrize("shapes", BROADCAST, ids=str)
def test_div_broadcasting(shapes: Any) -> None:
    check(lambda x, y: x / y, *shapes, low=0.5, high=2.0)


MATMUL = [
    ((3, 4), (4, 5)),
    ((2, 3, 4), (4, 5)),  # batch @ matrix
    ((3, 4), (2, 4, 5)),  # matrix @ batch
    ((2, 1, 3, 4), (5, 4, 2)),  # batch dims broadcast both ways
    ((4,), (4, 5)),  # 1-D @ 2-D
    ((3, 4), (4,)),  # 2-D @ 1-D
    ((4,), (4,)),  # 1-D @ 1-D
    ((4,), (2, 4, 5)),
    ((2, 3, 4), (4,)),
    ((50, 1), (1, 7)),  # an outer product, many rows: computed transposed
    ((3, 1), (1, 20)),  # an outer product, few rows
    ((2, 30, 1), (1, 4)),  # batched outer products
    ((6, 5), (5, 1)),  # the gradient of a is an outer product
    ((1, 4), (4, 3)),  # the gradient of b is an outer product
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shapes", MATMUL, ids=str)
def test_matmul(shapes: Any, dtype: Any) -> None:
    check(lambda x, y: x @ y, *shapes, dtype=dtype)
    check(lambda x, y: x.matmul(y), *shapes, dtype=dtype)


def test_matmul_function_form() -> None:
    check(lambda x, y: M(x).matmul(x, y), (3, 4), (4, 2))


SCALAR_OPS = {
    "x+2": lambda x: x + 2,
    "2+x": lambda x: 2 + x,
    "x-1.5": lambda x: x - 1.5,
    "2-x": lambda x: 2 - x,
    "3*x": lambda x: 3 * x,
    "x*0.5": lambda x: x * 0.5,
    "x/4": lambda x: x / 4,
    "1/x": lambda x: 1 / x,
    "-x": lambda x: -x,
    "+x": lambda x: +x,
    "x*np.float64": lambda x: x * np.float64(2.5),
    "np.float64*x": lambda x: np.float64(2.5) * x,
    "np.float32-x": lambda x: np.float32(1.5) - x,
    "x*True": lambda x: x * True,
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("op", SCALAR_OPS)
def test_scalar_operands(op: str, dtype: Any) -> None:
    # the dtype check in `check` covers promotion: a float32 tensor stays float32
    check(SCALAR_OPS[op], (3, 4), dtype=dtype, low=0.5, high=2.0)


NUMPY_OPERANDS = {
    "x*a": lambda x: x * C(x, np.linspace(-1, 1, 4)),
    "x+a": lambda x: x + C(x, np.ones((3, 1))),
    "x-a": lambda x: x - C(x, np.arange(4.0)),
    "x/a": lambda x: x / C(x, np.full(4, 2.0)),
    "x@a": lambda x: x @ C(x, np.eye(4)[:, :2].copy()),
    "max": lambda x: M(x).maximum(x, M(x).as_tensor(C(x, np.zeros(4)))),
}


@pytest.mark.parametrize("op", NUMPY_OPERANDS)
def test_numpy_array_operands(op: str) -> None:
    check(NUMPY_OPERANDS[op], (3, 4))


def test_numpy_array_on_the_left() -> None:
    # ndarray (op) Tensor must defer to the Tensor (torch cannot do this; elman can)
    x = elman.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=elman.float64, requires_grad=True)
    a = np.array([[0.5, -1.0], [2.0, 1.0]])
    for out, expected in [
        (a * x, a * x.detach().numpy()),
        (a - x, a - x.detach().numpy()),
        (a / x, a / x.detach().numpy()),
        (a @ x, a @ x.detach().numpy()),
    ]:
        assert isinstance(out, elman.Tensor) and out.requires_grad
        np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-15)
    (a @ x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), a.T @ np.ones((2, 2)), rtol=1e-15)


# ---- dtype promotion --------------------------------------------------------------------


F32 = np.array([[1.5, -2.0, 0.25]], dtype=np.float32)
F64 = np.array([0.5, 3.0, -1.0])
F64_0D = np.array(2.0)
I64 = np.array([1, 2, 3])
BOOL = np.array([True, False, True])


@pytest.mark.parametrize(
    "fn,inputs",
    [
        (lambda x, y: x + y, (F32, F64)),  # two dimensioned tensors: the wider dtype
        (lambda x, y: x * y, (F32, F64_0D)),  # a 0-d tensor does not widen
        (lambda x, y: x * y, (I64, F64_0D)),  # ...unless it is of a higher category
        (lambda x, y: x * y, (I64, F32)),
        (lambda x, y: x - y, (F32, I64)),
        (lambda x: x * 0.5, (I64,)),  # int tensor * float -> the default float dtype
        (lambda x: x + 1, (I64,)),
        (lambda x: x / 2, (I64,)),  # true division of integers -> float32
        (lambda x, y: x / y, (I64, I64)),
        (lambda x, y: x * y, (BOOL, I64)),
        (lambda x, y: x + y, (BOOL, F32)),
        (lambda x: x.sum(), (BOOL,)),  # bool sum counts, in int64
        (lambda x: x.sum(0), (I64,)),
        (lambda x: x.tanh(), (I64,)),  # float functions of ints give the default float
        (lambda x: M(x).maximum(x, 2 * x), (I64,)),
        (lambda x, y: M(x).maximum(x, y), (F32, F64)),
    ],
)
def test_dtype_promotion(fn: Any, inputs: Any) -> None:
    check(fn, *inputs)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_casts_send_grads_back_in_source_dtype(dtype: Any) -> None:
    f32 = TOL[np.dtype(np.float32)]  # a float32 step limits the precision of float64 grads
    check(lambda x: x.double() * 3, (2, 3), dtype=dtype)
    check(lambda x: x.float().tanh(), (2, 3), dtype=dtype, tol=f32)
    check(lambda x: x.to(M(x).float64) * x, (2, 3), dtype=dtype)
    check(lambda x: x.to(dtype=M(x).float32).exp(), (2, 3), dtype=dtype, tol=f32)


def test_clone_and_detach_in_graph() -> None:
    check(lambda x: x.clone() * x, (2, 3))
    check(lambda x: x.detach() * x, (2, 3))
    check(lambda x: x.data * x + x, (2, 3))
