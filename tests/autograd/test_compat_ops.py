"""The everyday tensor ops of torch scripts (issue 15) against torch: values, dtypes, shapes,
gradients (float64 gradcheck), NaN positions and error types.

Each case is a lambda run on elman and on torch with the same inputs (the tinygrad pattern):
``run_side`` gives every output and, for float inputs, the gradients of
``sum(out * ramp)``; ``compare`` checks them. torch's float64 results are also committed
(tests/fixtures/compat_ops_golden.npz, made by make_compat_fixtures.py), so the cases are
checked without torch too.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import elman
from conftest import FIXTURES
from elman.autograd import gradcheck

RNG = np.random.default_rng(15)
GOLDEN = dict(np.load(FIXTURES / "compat_ops_golden.npz"))


def _outs(value: Any) -> list[Any]:
    if isinstance(value, (tuple, list)):
        return [v for item in value for v in _outs(item)]
    return [value]


def run_side(lib: Any, fn: Any, arrays: list[np.ndarray]) -> dict[str, np.ndarray]:
    """``fn(lib, *tensors)`` on one library: each output as an array (``out0``, ``out1``...;
    Python values as 0-d arrays) and the input gradients of ``sum(out * ramp)`` over the
    outputs that require grad (``grad0``...; absent when no output does)."""
    inputs = [lib.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    outs = _outs(fn(lib, *inputs))
    result = {}
    for i, o in enumerate(outs):
        result[f"out{i}"] = o.detach().numpy() if hasattr(o, "detach") else np.asarray(o)
    grads = [o for o in outs if getattr(o, "requires_grad", False)]
    if grads:
        total = 0
        for o in grads:
            ramp = np.linspace(1, 2, o.numel()).reshape(tuple(o.shape))
            total = total + (o * lib.tensor(ramp.astype(result["out0"].dtype))).sum()
        total.backward()
        for i, t in enumerate(inputs):
            if t.grad is not None:
                result[f"grad{i}"] = t.grad.numpy()
    return result


def compare(ours: dict[str, np.ndarray], theirs: dict[str, np.ndarray]) -> None:
    """Same keys, shapes, dtypes; values within 1e-6 (NaN where theirs is NaN)."""
    assert sorted(ours) == sorted(theirs)
    for key, expected in theirs.items():
        got = ours[key]
        assert got.shape == expected.shape, key
        assert got.dtype == expected.dtype, (key, got.dtype, expected.dtype)
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7, err_msg=key)


X = RNG.standard_normal((3, 5))
X_NAN = X.copy()
X_NAN[1, 2] = np.nan
X_TIES = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, -1.0, 5.0]])
I = np.array([[3, 1, 4], [1, 5, 9]])

CASES = {
    "clamp": (lambda m, x: x.clamp(-0.5, 0.7), X),
    "clamp_min_only": (lambda m, x: m.clamp(x, min=0.1), X),
    "clamp_nan": (lambda m, x: x.clamp(max=0.2), X_NAN),
    "clamp_at_bound": (lambda m, x: x.clamp(1.0, 3.0), X_TIES),
    "clip": (lambda m, x: x.clip(-0.1, 0.1), X),
    "flip": (lambda m, x: m.flip(x, dims=[0]), X),
    "flip_method_both": (lambda m, x: x.flip(0, 1), X),
    "flip_neg": (lambda m, x: x.flip([-1]), X),
    "where": (lambda m, x: m.where(x > 0, x, x * 2), X),
    "where_scalar": (lambda m, x: m.where(x > 0, x, 0.0), X),
    "where_nan": (lambda m, x: m.where(x > 0, x, -x), X_NAN),
    "topk": (lambda m, x: x.topk(2), X),
    "topk_dim0_smallest": (lambda m, x: x.topk(2, dim=0, largest=False), X),
    "topk_1": (lambda m, x: m.topk(x, 1, 1), X),
    "sort": (lambda m, x: x.sort(), X),
    "sort_desc_dim0": (lambda m, x: m.sort(x, 0, descending=True), X),
    "sort_desc_ties": (lambda m, x: x.sort(descending=True, stable=True), X_TIES),
    "sort_nan": (lambda m, x: (x.sort(), x.sort(descending=True), x.topk(2)), X_NAN),
    "min_max_nan": (lambda m, x: (x.min(), x.max(), x.clamp(-1, 1)), X_NAN),
    "sort_asc_ties": (lambda m, x: x.sort(stable=True), X_TIES),
    "min_dim": (lambda m, x: m.min(x, 1), X),
    "min_all": (lambda m, x: x.min(), X),
    "min_keepdim": (lambda m, x: x.min(0, keepdim=True), X),
    "max_dim": (lambda m, x: m.max(x, 1), X),
    "argmin": (lambda m, x: (x.argmin(), m.argmin(x, 1), x.argmin(0, keepdim=True)), X),
    "argmax": (lambda m, x: (m.argmax(x), m.argmax(x, 1)), X),
    "diag_of_matrix": (lambda m, x: x.diag(), X),
    "diag_offset": (lambda m, x: (x.diag(1), x.diag(-1)), X),
    "diag_of_vector": (lambda m, x: x[0].diag(), X),
    "norm": (lambda m, x: x.norm(), X),
    "norm_dim": (lambda m, x: x.norm(dim=1), X),
    "round": (lambda m, x: m.round(x * 3), X),
    "narrow": (lambda m, x: x.narrow(1, 1, 3), X),
    "narrow_neg": (lambda m, x: x.narrow(-1, -2, 2), X),
    "split_size": (lambda m, x: x.split(2, dim=1), X),
    "split_sections": (lambda m, x: x.split([1, 2], dim=0), X),
    "chunk": (lambda m, x: x.chunk(2, 1), X),
    "view_as": (lambda m, x: x.view_as(x.t().contiguous()), X),
    "div_name": (lambda m, x: (x.div(2.0), x.mul(x), x.add(x, alpha=2), x.sub(1)), X),
    "sum_mean_sqrt": (lambda m, x: (m.sum(x), m.mean(x, 1), m.sqrt(x * x)), X),
    "mm": (lambda m, x: m.mm(x, x.t()), X),
    "rpow": (lambda m, x: (2**x, 0.5**x, 3.0 ** (x * 0)), X),
    "rpow_int": (lambda m, i: 2**i, I),
    "masked_fill": (lambda m, x: x.masked_fill(x > 0.5, -1.0), X),
    "eq_ne": (lambda m, x: (x.eq(x), x.ne(0), m.eq(x, x.t().t()), x.gt(0), x.le(0)), X),
    "int_ops": (
        lambda m, i: (
            i.flip(1),
            i.sort(descending=True),
            i.topk(2),
            i.min(1),
            m.where(i > 2, i, 0),
        ),
        I,
    ),  # noqa: E501
    "int_clamp": (lambda m, i: (i.clamp(2, 5), i.diag(), i.argmin(1), i.narrow(0, 1, 1)), I),
}


def case_inputs(name: str, dtype: str) -> list[np.ndarray]:
    arr = CASES[name][1]
    return [arr.astype(dtype) if arr.dtype.kind == "f" else arr]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(torch_or_skip: Any, name: str, dtype: str) -> None:
    fn = CASES[name][0]
    inputs = case_inputs(name, dtype)
    compare(run_side(elman, fn, inputs), run_side(torch_or_skip, fn, inputs))


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torchs_golden(name: str) -> None:
    """torch's float64 results, committed (tests/fixtures/compat_ops_golden.npz)."""
    golden = {k.split("/", 1)[1]: v for k, v in GOLDEN.items() if k.split("/", 1)[0] == name}
    compare(run_side(elman, CASES[name][0], case_inputs(name, "float64")), golden)


GRADCHECK = {
    "clamp": lambda x: x.clamp(-0.5, 0.7),
    "flip": lambda x: x.flip(0, 1),
    "where": lambda x: elman.where(x > 0, x * x, x * 3),
    "topk": lambda x: x.topk(3, dim=1).values,
    "sort": lambda x: x.sort(dim=0, descending=True).values,
    "min": lambda x: x.min(1).values,
    "diag": lambda x: x.diag(1),
    "norm": lambda x: x.norm(dim=0),
    "narrow_split": lambda x: x.narrow(1, 1, 3) * x.split(2, 1)[0].sum(),
    "masked_fill": lambda x: x.masked_fill(x > 0.5, 2.0),
    "rpow": lambda x: 2.5**x,
}


@pytest.mark.parametrize("name", sorted(GRADCHECK))
def test_gradcheck(name: str) -> None:
    x = elman.tensor(X, dtype=elman.float64, requires_grad=True)
    assert gradcheck(GRADCHECK[name], (x,))


def test_in_place_updates_match_torch(torch_or_skip: Any) -> None:
    torch = torch_or_skip
    for lib in (elman, torch):
        a = lib.tensor(X)
        a.add_(lib.ones(3, 5), alpha=-0.5)
        a.mul_(2).sub_(1).div_(3).clamp_(-0.2, 0.2)
        b = lib.zeros(3, 4).scatter_(1, lib.tensor([[1], [3], [0]]), 1.0)
        c = lib.tensor([1.0, 2.0])
        c.unsqueeze_(0)
        if lib is elman:
            ours = (a.numpy(), b.numpy(), c.shape)
        else:
            np.testing.assert_allclose(ours[0], a.numpy(), rtol=1e-12)
            np.testing.assert_array_equal(ours[1], b.numpy())
            assert ours[2] == tuple(c.shape)


def test_deprecated_add_overload_warns_and_adds(torch_or_skip: Any) -> None:
    ours, theirs = elman.ones(2), torch_or_skip.ones(2)
    with pytest.warns(UserWarning, match="This overload of add_ is deprecated"):
        ours.add_(-0.5, elman.ones(2))
    with pytest.warns(UserWarning, match="This overload of add_ is deprecated"):
        theirs.add_(-0.5, torch_or_skip.ones(2))
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize(
    "fn",
    [
        lambda m: m.zeros(3).clamp(),
        lambda m: m.zeros(3).topk(4),
        lambda m: m.zeros(4).narrow(0, 2, 3),
        lambda m: m.zeros(4).split([1, 2]),
        lambda m: m.mm(m.zeros(3), m.zeros(3, 3)),
        lambda m: m.mean(m.tensor([1, 2])),
        lambda m: m.zeros(2, 2, 2).diag(),
    ],
)
def test_errors_have_torch_types(torch_or_skip: Any, fn: Any) -> None:
    with pytest.raises(Exception) as theirs:
        fn(torch_or_skip)
    with pytest.raises(type(theirs.value)):
        fn(elman)


def test_format_of_a_0d_tensor_is_its_number() -> None:
    assert f"{elman.tensor(0.123456):.3f}" == "0.123"
    with pytest.raises(TypeError):
        f"{elman.zeros(2):.3f}"
