"""mse_loss and l1_loss against torch: values and gradients of every input, broadcasting
(warned as torch), weights, mixed dtypes, legacy flags, errors.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from nn_parity import (
    DTYPES,
    REDUCTIONS,
    TF,
    arrays,
    one_torch_thread,  # noqa: F401  (an autouse fixture)
    parity,
    torch,
)

import elman
import elman.nn.functional as EF
from conftest import requires_torch

REGRESSION = ["mse_loss", "l1_loss"]


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", REGRESSION)
@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 5), (7,), ()], ids=str)
def test_regression_values_and_grads(name: str, reduction: str, dtype: Any, shape: Any) -> None:
    x, t = arrays(shape, shape, dtype=dtype)
    parity(lambda F, a, b: getattr(F, name)(a, b, reduction=reduction), x, t)


@requires_torch
@pytest.mark.parametrize("name", REGRESSION)
@pytest.mark.parametrize("shapes", [((3, 4), (4,)), ((4,), (3, 4)), ((3, 1), (1, 4))], ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_broadcasting_warns_and_matches(name: str, shapes: Any, reduction: str) -> None:
    x, t = arrays(*shapes)
    with pytest.warns(UserWarning, match=r"Using a target size \(elman.Size\(\["):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r".*torch.Size")  # torch's own warning
            parity(lambda F, a, b: getattr(F, name)(a, b, reduction=reduction), x, t)


@requires_torch
@pytest.mark.parametrize("name", REGRESSION)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_regression_weighted(name: str, reduction: str, dtype: Any) -> None:
    x, t = arrays((3, 4), (3, 4), dtype=dtype)
    w = np.random.default_rng(5).uniform(0.1, 2.0, (3, 4)).astype(dtype)
    parity(lambda F, a, b, c: getattr(F, name)(a, b, reduction=reduction, weight=c), x, t, w)


@requires_torch
@pytest.mark.parametrize("name", REGRESSION)
def test_regression_mixed_dtypes(name: str) -> None:
    x = arrays((3, 4), dtype=np.float32)[0]
    t64 = arrays((3, 4), dtype=np.float64, seed=7)[0]
    parity(lambda F, a, b: getattr(F, name)(a, b), x, t64)  # promotes to float64
    parity(lambda F, a, b: getattr(F, name)(a, b), t64, x)
    ints = np.arange(12).reshape(3, 4) % 3
    parity(lambda F, a, b: getattr(F, name)(a, b, reduction="sum"), x, ints)  # stays float32


@requires_torch
@pytest.mark.parametrize("name", REGRESSION)
def test_regression_empty_and_legacy_flags(name: str) -> None:
    e = np.zeros(0, np.float32)
    out, _ = parity(lambda F, a, b: getattr(F, name)(a, b), e, e)  # mean of nothing: nan
    assert np.isnan(out.item())
    parity(lambda F, a, b: getattr(F, name)(a, b, reduction="sum"), e, e)
    x, t = arrays((3, 4), (3, 4))
    for flags, red in [({"size_average": False}, "sum"), ({"reduce": False}, "none")]:
        with pytest.warns(UserWarning, match=f"please use reduction='{red}' instead"):
            parity(lambda F, a, b: getattr(F, name)(a, b, **flags), x, t)  # noqa: B023


def test_regression_d_zero_gradient() -> None:
    """|d|' at d = 0 is 0, as torch's sgn; the MSE gradient there is 0 too."""
    x = elman.tensor([1.0, 2.0, 3.0], requires_grad=True)
    EF.l1_loss(x, elman.tensor([1.0, 0.0, 5.0]), reduction="sum").backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0, -1.0])


@requires_torch
@pytest.mark.parametrize("name", REGRESSION)
def test_regression_errors_match_torch(name: str) -> None:
    x = np.ones((3, 4), np.float32)
    cases = [
        (lambda F, T: getattr(F, name)(T(x), T(x), reduction="avg"), ValueError),
        (lambda F, T: getattr(F, name)(T(x), T(x), weight=T(x[0])), ValueError),
        (lambda F, T: getattr(F, name)(T(x), T(x), reduction="bad", weight=T(x)), ValueError),
    ]
    for case, exc in cases:
        _same_error(case, exc)
    with pytest.warns(UserWarning), pytest.raises(RuntimeError) as got:
        getattr(EF, name)(elman.tensor(x), elman.tensor(np.ones(5, np.float32)))
    with pytest.warns(UserWarning), pytest.raises(RuntimeError) as want:
        getattr(TF, name)(torch.tensor(x), torch.ones(5))
    assert str(got.value) == str(want.value)


def test_regression_integer_pair_is_refused() -> None:
    ints = elman.tensor([[1, 2]])
    with pytest.raises(NotImplementedError, match="not implemented for 'int64'"):
        EF.mse_loss(ints, ints)


def _same_error(case: Callable[..., Any], exc: type[Exception]) -> None:
    """``case(F, T)`` raises the same exception type and message in elman and torch."""
    with pytest.raises(exc) as got:
        case(EF, elman.tensor)
    with pytest.raises(exc) as want:
        case(TF, torch.tensor)
    assert str(got.value) == str(want.value)
