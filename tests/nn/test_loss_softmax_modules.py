"""log_softmax and softmax against torch, float64 gradcheck of the losses, the loss modules,
and the doctests of the loss functions.
"""

from __future__ import annotations

import doctest
from typing import Any

import numpy as np
import pytest
from nn_parity import (
    DTYPES,
    TF,
    arrays,
    one_torch_thread,  # noqa: F401  (an autouse fixture)
    parity,
    targets,
    torch,
)

import elman
import elman.nn.functional as EF
from conftest import requires_torch
from elman.autograd import gradcheck

# ---- log_softmax and softmax ----------------------------------------------------------------


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["log_softmax", "softmax"])
@pytest.mark.parametrize(
    "shape_dim",
    [((5,), 0), ((3, 4), 1), ((3, 4), 0), ((2, 3, 4), -1), ((2, 3, 4), 1), ((), 0)],
    ids=str,
)
def test_softmaxes(name: str, shape_dim: Any, dtype: Any) -> None:
    shape, dim = shape_dim
    (x,) = arrays(shape, dtype=dtype)
    parity(lambda F, a: getattr(F, name)(a, dim=dim), x * 3)


@requires_torch
@pytest.mark.parametrize("name", ["log_softmax", "softmax"])
def test_softmaxes_extremes_implicit_dim_and_dtype(name: str) -> None:
    big = np.array([[1e4, 0.0, -1e4], [80.0, 100.0, 90.0]], np.float32)
    out, _ = parity(lambda F, a: getattr(F, name)(a, dim=1), big)
    assert np.isfinite(out.detach().numpy()).all()
    (x,) = arrays((2, 3, 4))
    for shape in [(2, 3, 4), (3, 4), (4,)]:  # the implicit dim: 0 for 1-D and 3-D, else 1
        part = x.reshape(-1)[: int(np.prod(shape))].reshape(shape)
        with pytest.warns(UserWarning, match=f"Implicit dimension choice for {name}"):
            getattr(EF, name)(elman.tensor(part))
        with pytest.warns(UserWarning, match=f"Implicit dimension choice for {name}"):
            parity(lambda F, a: getattr(F, name)(a), part)
    wide = {EF: np.float64, TF: torch.float64}
    parity(lambda F, a: getattr(F, name)(a, 1, dtype=wide[F]), x.astype(np.float32))
    parity(lambda F, a: getattr(F, name)(a, dim=1), np.zeros((2, 0), np.float32))


def test_softmaxes_refuse_integers_and_bad_dims() -> None:
    with pytest.raises(NotImplementedError):
        EF.softmax(elman.tensor([1, 2]), dim=0)
    with pytest.raises(IndexError, match="Dimension out of range"):
        EF.log_softmax(elman.ones(2, 3), dim=2)


# ---- float64 gradcheck ----------------------------------------------------------------------

GRADCHECK = {
    "mse": (lambda a, b: EF.mse_loss(a, b), [(3, 4), (3, 4)]),
    "mse-none": (lambda a, b: EF.mse_loss(a, b, reduction="none"), [(3, 4), (3, 4)]),
    "l1": (lambda a, b: EF.l1_loss(a, b, reduction="sum"), [(3, 4), (3, 4)]),
    "mse-weighted": (lambda a, b, c: EF.mse_loss(a, b, weight=c), [(3, 4), (3, 4), (3, 4)]),
    "log_softmax": (lambda a: EF.log_softmax(a, dim=1), [(3, 4)]),
    "softmax": (lambda a: EF.softmax(a, dim=0), [(3, 4)]),
    "ce-probs": (
        lambda a, b, c: EF.cross_entropy(a, b, weight=c, label_smoothing=0.2),
        [(3, 4), (3, 4), (4,)],
    ),
}


@pytest.mark.parametrize("case", GRADCHECK)
def test_gradcheck(case: str) -> None:
    fn, shapes = GRADCHECK[case]
    rng = np.random.default_rng(11)
    inputs = [elman.tensor(rng.uniform(0.1, 2.0, s), requires_grad=True) for s in shapes]
    assert gradcheck(fn, inputs)


# ---- modules -------------------------------------------------------------------------------


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
def test_loss_modules(dtype: Any) -> None:
    x, y = arrays((4, 3), (4, 3), dtype=dtype)
    t = targets(3, 4, ignore=-100)
    w = np.array([0.5, 1.0, 2.0], dtype)
    pairs = [
        (elman.nn.MSELoss(), torch.nn.MSELoss(), y),
        (elman.nn.L1Loss(reduction="sum"), torch.nn.L1Loss(reduction="sum"), y),
        (
            elman.nn.CrossEntropyLoss(weight=elman.tensor(w), label_smoothing=0.1),
            torch.nn.CrossEntropyLoss(weight=torch.tensor(w), label_smoothing=0.1),
            t,
        ),
    ]
    for em, tm, target in pairs:
        assert repr(em) == repr(tm)
        assert list(em.state_dict()) == list(tm.state_dict())
        parity(lambda F, a, b: (em if F is EF else tm)(a, b), x, target)  # noqa: B023


def test_cross_entropy_loss_weight_follows_module_dtype() -> None:
    loss = elman.nn.CrossEntropyLoss(weight=np.ones(3, np.float32)).double()
    x = elman.tensor(np.zeros((2, 3)), requires_grad=True)
    out = loss(x, elman.tensor([0, 1]))
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.item(), np.log(3.0), rtol=1e-15)


def test_loss_module_legacy_flags_and_bad_reduction() -> None:
    with pytest.warns(UserWarning, match="reduction='sum'"):
        assert elman.nn.MSELoss(size_average=False).reduction == "sum"
    loss = elman.nn.L1Loss(reduction="avg")  # validated when called, as in torch
    with pytest.raises(ValueError, match="avg is not a valid value for reduction"):
        loss(elman.ones(2), elman.ones(2))


def test_doctests() -> None:
    from elman.nn import functional_activation, functional_ce, functional_loss, loss

    for module in (functional_activation, functional_ce, functional_loss, loss):
        failed, attempted = doctest.testmod(module, raise_on_error=False, verbose=False)
        assert attempted > 0 and failed == 0, module.__name__
