"""Autograd ops and engine against torch: one helper, one line per op.

:func:`check` (after tinygrad's ``helper_test_op``) builds elman and torch tensors from the
same NumPy arrays, runs one lambda on both, and compares every output (dtype, shape,
requires_grad, values) and, after a backward with the same random cotangents, the gradient
of every input. The lambda sees only tensors; :func:`M` gives it the right module for
functions such as ``cat`` (``M(x).cat(...)`` is ``torch.cat`` or ``elman.cat``) and
:func:`C` turns a constant array into the right kind of operand.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import elman
from conftest import TORCH, requires_torch
from elman.autograd import Function, GradcheckError, gradcheck

pytestmark = requires_torch
torch = TORCH

TOL = {
    np.dtype(np.float64): {"rtol": 1e-12, "atol": 1e-12},
    np.dtype(np.float32): {"rtol": 1e-5, "atol": 1e-6},
}


def M(t: Any) -> Any:
    """The module that goes with tensor ``t``: torch or elman."""
    return torch if isinstance(t, torch.Tensor) else elman


def C(t: Any, array: np.ndarray) -> Any:
    """``array`` as an operand next to ``t``: as is for elman (which takes ndarrays), a
    tensor for torch (which does not)."""
    return torch.from_numpy(array) if isinstance(t, torch.Tensor) else array


def _np_dtype(t: Any) -> np.dtype:
    return np.dtype(str(t.dtype).removeprefix("torch."))


def _outputs(out: Any) -> list[Any]:
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _compare(e: Any, t: Any, what: str, tol: dict[str, float] | None = None) -> None:
    assert isinstance(e, elman.Tensor), f"{what}: {type(e).__name__} is not an elman.Tensor"
    assert e.dtype == _np_dtype(t), f"{what}: dtype {e.dtype} != {t.dtype}"
    assert e.shape == tuple(t.shape), f"{what}: shape {e.shape} != {tuple(t.shape)}"
    assert e.requires_grad == t.requires_grad, f"{what}: requires_grad differs"
    actual, expected = e.detach().numpy(), t.detach().numpy()
    if expected.dtype.kind == "f":
        np.testing.assert_allclose(actual, expected, err_msg=what, **(tol or TOL[expected.dtype]))
    else:
        np.testing.assert_array_equal(actual, expected, err_msg=what)


def check(
    fn: Callable[..., Any],
    *inputs: Any,
    dtype: Any = np.float64,
    low: float = -2.0,
    high: float = 2.0,
    grad: bool = True,
    tol: dict[str, float] | None = None,
) -> None:
    """Run ``fn`` on elman and on torch tensors made from the same arrays; compare both.

    Each input is a shape (filled with uniform values in [low, high) of ``dtype``) or an
    ndarray (used as is). Floating inputs require grad when ``grad``; integer ones never.
    ``tol`` overrides the tolerances of the output's dtype.
    """
    rng = np.random.default_rng(0)
    arrays = [
        x if isinstance(x, np.ndarray) else rng.uniform(low, high, x).astype(dtype) for x in inputs
    ]
    needs = [grad and a.dtype.kind == "f" for a in arrays]
    ex = [elman.tensor(a, requires_grad=n) for a, n in zip(arrays, needs, strict=True)]
    tx = [torch.tensor(a, requires_grad=n) for a, n in zip(arrays, needs, strict=True)]
    eo, to = _outputs(fn(*ex)), _outputs(fn(*tx))
    assert len(eo) == len(to), f"{len(eo)} outputs != torch's {len(to)}"
    for i, (e, t) in enumerate(zip(eo, to, strict=True)):
        _compare(e, t, f"output {i}", tol)
    pairs = [(e, t) for e, t in zip(eo, to, strict=True) if t.requires_grad]
    if not pairs:
        return
    cots = [rng.standard_normal(t.shape).astype(_np_dtype(t)) for _, t in pairs]
    elman.autograd.backward([e for e, _ in pairs], cots)
    torch.autograd.backward([t for _, t in pairs], [torch.from_numpy(c) for c in cots])
    for i, (e, t) in enumerate(zip(ex, tx, strict=True)):
        if t.grad is None:
            assert e.grad is None, f"input {i}: elman has a grad, torch has none"
        else:
            assert e.grad is not None, f"input {i}: no grad"
            _compare(e.grad, t.grad, f"grad of input {i}", tol)


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


# ---- shapes -----------------------------------------------------------------------------

SHAPE_OPS = {
    "reshape": lambda x: x.reshape(6, 4),
    "reshape_tuple": lambda x: x.reshape((4, -1)),
    "reshape_-1": lambda x: x.reshape(-1),
    "view": lambda x: x.view(2, 12),
    "view_-1": lambda x: x.view(-1, 4),
    "view_tuple": lambda x: x.view((3, 8)),
    "flatten": lambda x: x.flatten(),
    "flatten_1": lambda x: x.flatten(1),
    "permute": lambda x: x.permute(2, 0, 1),
    "permute_tuple": lambda x: x.permute((1, 2, 0)),
    "permute_neg": lambda x: x.permute(-1, 0, -2),
    "transpose": lambda x: x.transpose(0, 2),
    "transpose_neg": lambda x: x.transpose(-1, -2),
    "unsqueeze_0": lambda x: x.unsqueeze(0),
    "unsqueeze_2": lambda x: x.unsqueeze(2),
    "unsqueeze_-1": lambda x: x.unsqueeze(-1),
    "unsqueeze_-4": lambda x: x.unsqueeze(-4),
    "contiguous": lambda x: x.transpose(0, 1).contiguous().view(-1),
    "expand": lambda x: x[:, :1].expand(2, 5, 4),
    "expand_lead": lambda x: x[:, :1].expand(3, -1, 2, -1),
}


@pytest.mark.parametrize("op", SHAPE_OPS)
def test_shape_ops(op: str) -> None:
    check(SHAPE_OPS[op], (2, 3, 4))


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: x.squeeze(),
        lambda x: x.squeeze(1),
        lambda x: x.squeeze(-1),
        lambda x: x.squeeze(0),  # not of size 1: unchanged
        lambda x: x.squeeze(1).squeeze(-1).unsqueeze(0),
    ],
)
def test_squeeze(fn: Any) -> None:
    check(fn, (2, 1, 4, 1))


@pytest.mark.parametrize("fn", [lambda x: x.T, lambda x: x.t(), lambda x: x.T @ x])
def test_transpose_2d(fn: Any) -> None:
    check(fn, (3, 4))


# ---- indexing ---------------------------------------------------------------------------

INDEX = {
    "int": lambda x: x[1],
    "negative": lambda x: x[-1],
    "slice": lambda x: x[1:3],
    "slice_neg": lambda x: x[:, -2:],
    "step": lambda x: x[::2, 1:, ::3],
    "ellipsis": lambda x: x[..., 1],
    "ellipsis_mid": lambda x: x[1, ..., :2],
    "none": lambda x: x[None],
    "none_mid": lambda x: x[:, None, 1],
    "int_tuple": lambda x: x[1, 2],
    "scalar": lambda x: x[1, 2, 0],
    "list_repeats": lambda x: x[[0, 0, 2]],
    "ndarray_repeats": lambda x: x[np.array([3, 0, 3, 3])],
    "pairs": lambda x: x[[0, 1, 1], [2, 2, 0]],
    "slice_then_list": lambda x: x[:, [2, 2, 0]],
    "int_list_slice": lambda x: x[1, [0, 0], 1:],
    "bool_ndarray": lambda x: x[np.array([True, False, True, True])],
    "bool_mask": lambda x: x[x > 0],
    "bool_mask_2d": lambda x: x[x[:, :, 0] > 0],
    "tensor": lambda x: x[M(x).tensor([0, 2, 0])],
    "tensor_in_tuple": lambda x: x[:, M(x).tensor([1, 1, 4])],
    "tensor_0d": lambda x: x[M(x).tensor(1)],
    "tensor_2d": lambda x: x[M(x).tensor([[0, 1], [1, 1]])],
}


@pytest.mark.parametrize("op", INDEX)
def test_indexing(op: str) -> None:
    check(INDEX[op], (4, 5, 3))


def test_indexing_twice_accumulates() -> None:
    check(lambda x: x[0] * x[-1] + x[0], (4, 3))


# ---- cat and stack ----------------------------------------------------------------------


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat(dim: int) -> None:
    shapes = {0: ((2, 3), (4, 3), (1, 3)), 1: ((2, 3), (2, 1), (2, 2)), -1: ((2, 3),) * 3}
    check(lambda x, y, z: M(x).cat([x, y, z], dim=dim), *shapes[dim])
    check(lambda x, y, z: M(x).cat((x, y, z), dim).tanh(), *shapes[dim])


def test_cat_same_tensor_twice_and_default_dim() -> None:
    check(lambda x: M(x).cat([x, x * 2]), (2, 3))


@pytest.mark.parametrize("dim", [0, 1, 2, -1, -3])
def test_stack(dim: int) -> None:
    check(lambda x, y: M(x).stack([x, y], dim=dim), (2, 3), (2, 3))
    check(lambda x, y: M(x).stack((x, y, x), dim).sum(dim) * y, (2, 3), (2, 3))


def test_stack_of_0d_and_unbind_like_iteration() -> None:
    check(lambda x: M(x).stack([v * v for v in x]), (4,))
    check(lambda x: M(x).stack(list(x), dim=1), (3, 2))


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


# ---- grad mode --------------------------------------------------------------------------


def test_no_grad_context() -> None:
    x = elman.ones(2, requires_grad=True)
    with elman.no_grad():
        assert not elman.is_grad_enabled()
        y = x * 2
        with elman.enable_grad():
            assert elman.is_grad_enabled()
            z = x * 2
        assert not elman.is_grad_enabled()
    assert elman.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad and z.grad_fn is not None


def test_grad_mode_decorators() -> None:
    @elman.no_grad()
    def f(t: elman.Tensor) -> elman.Tensor:
        return t * 2

    @elman.no_grad
    def g(t: elman.Tensor) -> elman.Tensor:
        return t * 2

    @elman.enable_grad()
    def h(t: elman.Tensor) -> elman.Tensor:
        return t * 2

    @elman.set_grad_enabled(False)
    def k(t: elman.Tensor) -> elman.Tensor:
        return t * 2

    assert elman.is_grad_enabled()  # decorating does not change the mode
    x = elman.ones(2, requires_grad=True)
    assert not f(x).requires_grad and not g(x).requires_grad and not k(x).requires_grad
    assert f.__name__ == "f" and g.__name__ == "g"
    with elman.no_grad():
        assert h(x).requires_grad
    assert elman.is_grad_enabled()


def test_set_grad_enabled_as_function_and_context() -> None:
    x = elman.ones(2, requires_grad=True)
    try:
        elman.set_grad_enabled(False)
        assert not elman.is_grad_enabled() and not (x * 2).requires_grad
    finally:
        elman.set_grad_enabled(True)
    with elman.set_grad_enabled(False):
        assert not (x * 2).requires_grad
        with elman.set_grad_enabled(True):
            assert (x * 2).requires_grad
        assert not elman.is_grad_enabled()
    assert elman.is_grad_enabled()


def test_grad_mode_restored_after_an_exception() -> None:
    with pytest.raises(ValueError), elman.no_grad():
        raise ValueError
    assert elman.is_grad_enabled()


def test_in_place_update_under_no_grad() -> None:
    w = elman.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    before = w
    with elman.no_grad():
        w -= 0.5 * w.grad  # the optimiser idiom: updates the leaf itself
        w *= 2
    assert w is before and w.requires_grad and w.is_leaf
    assert w.tolist() == [0.0, 0.0]
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w += 1


def _augmented(x: Any) -> Any:
    h = x * 2
    h += x  # h is a graph node
    c = M(x).ones(3, dtype=x.dtype)
    c *= h  # c is a constant, h requires grad
    c -= 1
    c /= x
    return c * h


def test_augmented_assignment_in_the_graph_keeps_gradients() -> None:
    check(_augmented, (3,), low=0.5)
    x = elman.tensor([1.0, 2.0], requires_grad=True)
    h = elman.zeros(2)
    h += x  # a constant accumulating a tensor that requires grad: still differentiable
    (h * h).sum().backward()
    assert h.requires_grad and x.grad.tolist() == [2.0, 4.0]


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
