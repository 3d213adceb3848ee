"""The Tensor object: creation, dtypes, conversions, memory sharing, torch habits and repr.

Gradients of the operations live in ``test_ops_*.py``; here the questions are what a
Tensor is, what it shares with NumPy, and whether it behaves (and prints, and fails) the way
a torch user expects. Where torch is at hand, its answer is the expected one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import elman
from conftest import TORCH, requires_torch

torch = TORCH


# ---- creation and dtypes ----------------------------------------------------------------


@pytest.mark.parametrize(
    "data,dtype",
    [
        ([1.0, 2.0], np.float32),  # Python floats: the default dtype, as in torch
        (1.5, np.float32),
        ([[1, 2], [3, 4]], np.int64),
        (7, np.int64),
        ([True, False], np.bool_),
        ([1, 2.5], np.float32),
        ([], np.float32),
        (np.array([1.0, 2.0]), np.float64),  # ndarrays keep their dtype
        (np.array([1.0], dtype=np.float32), np.float32),
        (np.array([1, 2], dtype=np.int32), np.int32),
        (np.float64(2.0), np.float64),
    ],
)
def test_tensor_infers_dtype_like_torch(data: Any, dtype: Any) -> None:
    t = elman.tensor(data)
    assert t.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(t.numpy(), np.asarray(data, dtype=dtype))
    if TORCH is not None:
        assert str(torch.tensor(data).dtype) == f"torch.{t.dtype}"


@pytest.mark.parametrize("spec", [elman.float64, np.float64, "float64", np.dtype("float64")])
def test_dtype_argument_forms(spec: Any) -> None:
    assert elman.tensor([1, 2], dtype=spec).dtype == np.float64
    assert elman.zeros(2, dtype=spec).dtype == np.float64
    assert elman.ones(2, 3, dtype=spec).dtype == np.float64
    assert elman.randn(3, dtype=spec).dtype == np.float64
    assert elman.tensor([1.0]).to(spec).dtype == np.float64


def test_dtypes_are_numpy_dtypes() -> None:
    assert elman.float32 is np.float32 and elman.float64 is np.float64
    assert elman.get_default_dtype() == np.float32
    with pytest.raises(TypeError, match="dtype"):
        elman.tensor([1.0], dtype="not-a-dtype")


def test_tensor_copies_its_input() -> None:
    a = np.array([1.0, 2.0])
    t = elman.tensor(a)
    a[0] = 9.0
    assert t.tolist() == [1.0, 2.0]
    u = elman.tensor(t)
    u[0] = 5.0
    assert t.tolist() == [1.0, 2.0]


def test_tensor_requires_grad() -> None:
    t = elman.tensor([1.0, 2.0], requires_grad=True)
    assert t.requires_grad and t.is_leaf and t.grad is None and t.grad_fn is None
    assert not elman.tensor([1.0]).requires_grad


@pytest.mark.parametrize(
    "make",
    [
        lambda: elman.tensor([1, 2], requires_grad=True),
        lambda: elman.tensor([True], requires_grad=True),
        lambda: elman.zeros(2, dtype="int64", requires_grad=True),
    ],
)
def test_integer_tensors_cannot_require_grad(make: Any) -> None:
    with pytest.raises(RuntimeError, match="^Only Tensors of floating point and complex dtype"):
        make()
    t = elman.tensor([1, 2])
    with pytest.raises(RuntimeError, match="^only Tensors of floating point and complex dtype"):
        t.requires_grad = True


@pytest.mark.parametrize("factory", [elman.zeros, elman.ones, elman.randn])
def test_factories(factory: Any) -> None:
    for args in [(2, 3), ((2, 3),), ([2, 3],)]:
        t = factory(*args)
        assert t.shape == (2, 3) and t.dtype == np.float32 and not t.requires_grad
    t = factory(4, dtype=elman.float64, requires_grad=True)
    assert t.shape == (4,) and t.dtype == np.float64 and t.requires_grad and t.is_leaf
    assert factory(()).shape == () and factory(0, 3).shape == (0, 3)


def test_zeros_ones_values() -> None:
    assert elman.zeros(2, 2).tolist() == [[0.0, 0.0], [0.0, 0.0]]
    assert elman.ones(3).tolist() == [1.0, 1.0, 1.0]


def test_randn_uses_the_global_generator() -> None:
    elman.manual_seed(3)
    a = elman.randn(5)
    elman.manual_seed(3)
    b = elman.randn(5)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.array_equal(a.numpy(), elman.randn(5).numpy())


# ---- memory sharing and conversion ------------------------------------------------------


def test_from_numpy_shares_memory() -> None:
    a = np.arange(6.0).reshape(2, 3)
    t = elman.from_numpy(a)
    assert t.dtype == np.float64  # the array's dtype, not the default
    a[0, 0] = 100.0
    assert t[0, 0].item() == 100.0
    t[1, 2] = -1.0
    assert a[1, 2] == -1.0
    assert np.shares_memory(t.numpy(), a)
    assert elman.from_numpy(np.arange(3)).dtype == np.int64
    with pytest.raises(TypeError, match="expected np.ndarray"):
        elman.from_numpy([1.0, 2.0])


def test_numpy_and_array_protocol_share_memory() -> None:
    t = elman.tensor([1.0, 2.0])
    assert np.shares_memory(t.numpy(), np.asarray(t))
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    assert np.array(t).tolist() == [1.0, 2.0]


def test_numpy_on_a_tensor_that_requires_grad_raises_torchs_error() -> None:
    t = elman.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError) as e:
        t.numpy()
    assert str(e.value) == (
        "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead."
    )
    assert t.detach().numpy().tolist() == [1.0]
    with pytest.raises(RuntimeError, match="requires grad"):
        (t * 2).numpy()


def test_detach_shares_memory_and_leaves_the_graph() -> None:
    x = elman.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    assert np.shares_memory(d.numpy(), y.detach().numpy())
    xd = x.detach()
    xd[0] = 7.0
    assert x.detach().tolist() == [7.0, 2.0]
    assert x.requires_grad  # detach does not change the original


def test_data_shares_memory_and_can_be_assigned() -> None:
    w = elman.tensor([1.0, 2.0], requires_grad=True)
    w.data[0] = 5.0  # the torch idiom for an untracked in-place update
    assert w.detach().tolist() == [5.0, 2.0]
    assert not w.data.requires_grad
    w.data = elman.tensor([3.0, 4.0])
    assert w.detach().tolist() == [3.0, 4.0] and w.requires_grad
    w.data -= 1.0
    assert w.detach().tolist() == [2.0, 3.0]


def test_clone_copies() -> None:
    x = elman.tensor([1.0, 2.0], requires_grad=True)
    c = x.clone()
    assert c.requires_grad and not c.is_leaf
    assert not np.shares_memory(c.detach().numpy(), x.detach().numpy())
    c.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]
    assert not np.shares_memory(elman.tensor([1.0]).clone().numpy(), elman.tensor([1.0]).numpy())


def test_float_double_casts() -> None:
    x = elman.tensor([1.5, 2.0])
    assert x.double().dtype == np.float64 and x.double().float().dtype == np.float32
    assert x.float() is x  # already float32: no copy, as in torch
    assert elman.tensor([1, 2]).float().dtype == np.float32
    assert elman.tensor([1.7, -1.7]).long().tolist() == [1, -1]


def test_item_and_python_numbers() -> None:
    assert elman.tensor(2.5).item() == 2.5 and isinstance(elman.tensor(2.5).item(), float)
    assert elman.tensor([[3]]).item() == 3 and isinstance(elman.tensor([[3]]).item(), int)
    assert float(elman.tensor([1.5])) == 1.5 and int(elman.tensor(4)) == 4
    assert bool(elman.tensor(1.0)) and not bool(elman.tensor([0]))
    with pytest.raises(RuntimeError, match="a Tensor with 2 elements cannot be converted"):
        elman.tensor([1.0, 2.0]).item()
    with pytest.raises(RuntimeError, match="more than one value is ambiguous"):
        bool(elman.tensor([1.0, 2.0]))
    assert [10, 20, 30][elman.tensor(1)] == 20  # integer tensors work as list indices


# ---- torch habits -----------------------------------------------------------------------


def test_shape_size_dim() -> None:
    t = elman.zeros(2, 3, 4)
    assert t.shape == (2, 3, 4) and isinstance(t.shape, tuple)
    assert t.size() == (2, 3, 4) and t.size(0) == 2 and t.size(-1) == 4
    assert t.dim() == 3 and t.ndim == 3 and t.numel() == 24 and len(t) == 2
    assert repr(t.shape) == "elman.Size([2, 3, 4])" and t.shape.numel() == 24
    assert elman.tensor(1.0).shape == () and elman.tensor(1.0).dim() == 0
    with pytest.raises(TypeError, match="0-d"):
        len(elman.tensor(1.0))
    with pytest.raises(IndexError):
        t.size(3)


def test_iteration_and_tolist() -> None:
    t = elman.tensor([[1.0, 2.0], [3.0, 4.0]])
    rows = list(t)
    assert len(rows) == 2 and rows[1].tolist() == [3.0, 4.0]
    assert t.tolist() == [[1.0, 2.0], [3.0, 4.0]]


def test_comparisons_give_bool_tensors() -> None:
    t = elman.tensor([1.0, 2.0, 3.0])
    assert (t > 1.5).dtype == np.bool_ and (t > 1.5).tolist() == [False, True, True]
    assert (t == elman.tensor([1.0, 0.0, 3.0])).tolist() == [True, False, True]
    assert (t <= 2).tolist() == [True, True, False] and (t != 2).tolist() == [True, False, True]
    assert t[t >= 2].tolist() == [2.0, 3.0]


def test_setitem_and_in_place() -> None:
    t = elman.zeros(2, 3)
    t[0] = elman.tensor([1.0, 2.0, 3.0])
    t[1, t[0] > 1.5] = 9.0
    assert t.tolist() == [[1.0, 2.0, 3.0], [0.0, 9.0, 9.0]]
    t.zero_()
    assert t.sum().item() == 0.0
    t.fill_(2.0).copy_(np.ones(3))
    assert t.tolist() == [[1.0] * 3] * 2
    w = elman.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w[0] = 3.0
    with elman.no_grad():
        w[0] = 3.0
    assert w.detach().tolist() == [3.0, 1.0]


@pytest.mark.parametrize(
    "fn",
    [
        lambda t: t.unsqueeze(3),
        lambda t: t.unsqueeze(-4),
        lambda t: t.squeeze(2),
        lambda t: t.sum(2),
        lambda t: t.mean((0, 5)),
        lambda t: t.transpose(0, 2),
        lambda t: t.max(2),
        lambda t: elman.cat([t, t], 2) if isinstance(t, elman.Tensor) else torch.cat([t, t], 2),
    ],
)
def test_dim_out_of_range(fn: Any) -> None:
    t = elman.zeros(2, 3)
    with pytest.raises(IndexError) as e:
        fn(t)
    if TORCH is not None:
        with pytest.raises(IndexError) as expected:
            fn(torch.zeros(2, 3))
        assert str(e.value) == str(expected.value)


def test_reshape_errors_like_torch() -> None:
    with pytest.raises(RuntimeError, match=r"shape '\[4\]' is invalid for input of size 6"):
        elman.zeros(2, 3).reshape(4)
    with pytest.raises(RuntimeError, match=r"shape '\[-1, 4\]' is invalid for input of size 6"):
        elman.zeros(2, 3).view(-1, 4)


# ---- repr -------------------------------------------------------------------------------


def D(m: Any, name: str) -> Any:
    """The dtype ``name`` of module ``m``: torch's object, or the name, which elman takes."""
    return name if m is elman else getattr(m, name)


REPR_CASES = {
    "floats": lambda m: m.tensor([1.0, 2.0, 3.0]),
    "fractions": lambda m: m.tensor([[0.5, 1.0]], requires_grad=True),
    "negative": lambda m: m.tensor([-1.5, 100.25]),
    "0d": lambda m: m.tensor(3.5),
    "0d_int": lambda m: m.tensor(7),
    "0d_bool": lambda m: m.tensor(True),
    "empty": lambda m: m.tensor([]),
    "empty_2d": lambda m: m.zeros(0, 3),
    "empty_f64": lambda m: m.zeros(0, dtype=m.float64),
    "empty_int": lambda m: m.tensor([], dtype=D(m, "int64")),
    "bool": lambda m: m.tensor([True, False]),
    "int": lambda m: m.tensor([1, 2]),
    "int32": lambda m: m.tensor([1, -20], dtype=D(m, "int32")),
    "float64": lambda m: m.tensor([[1e-5, 1.0]], dtype=m.float64, requires_grad=True),
    "sci_small": lambda m: m.tensor([1e-5, 1.0]),
    "sci_large": lambda m: m.tensor([1e9, 1.0]),
    "sci_1e8": lambda m: m.tensor([123456789.0]),
    "nonfinite": lambda m: m.tensor([float("nan"), 1.5, float("inf")]),
    "nan": lambda m: m.tensor([float("nan")]),
    "inf_int_mode": lambda m: m.tensor([float("inf"), 2.0]),
    "signed_zero": lambda m: m.tensor([-0.0, 0.0]),
    "zeros": lambda m: m.zeros(3),
    "wrapped": lambda m: m.tensor([i * 1.5 for i in range(30)]),
    "wrapped_int": lambda m: m.tensor(list(range(100))).reshape(2, 50),
    "3d": lambda m: m.tensor([float(i) for i in range(24)]).reshape(2, 3, 4),
    "summarized": lambda m: m.tensor([float(i) for i in range(2000)]),
    "summarized_2d": lambda m: m.tensor([float(i) for i in range(2000)]).reshape(40, 50),
    "summarized_3d": lambda m: m.ones(2, 30, 20, dtype=m.float64),
}


@requires_torch
@pytest.mark.parametrize("case", REPR_CASES)
def test_repr_matches_torch(case: str) -> None:
    expected = repr(REPR_CASES[case](torch)).replace("torch.", "")
    assert repr(REPR_CASES[case](elman)) == expected


def test_repr_of_results() -> None:
    x = elman.tensor([1.0, -2.0], requires_grad=True)
    assert repr(x * 2) == "tensor([ 2., -4.], grad_fn=<MulBackward0>)"  # torch's name
    assert repr(x.detach()) == "tensor([ 1., -2.])"
    assert str(elman.tensor([0.25])) == "tensor([0.2500])"
    assert repr(elman.tensor(np.zeros((2, 0, 3)))) == "tensor([], size=(2, 0, 3), dtype=float64)"
