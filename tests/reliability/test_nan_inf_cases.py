"""NaN and inf: the defects the reliability campaign found, each pinned by a readable test
(the differential sets are in test_nan_inf.py)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import elman
from conftest import requires_torch, torch_rnn_like
from elman import _kernels
from elman._kernels import special

VARIANTS = ["auto"]
if _kernels.JIT:
    import numba

    from elman._kernels import activations, dispatch

    VARIANTS += sorted(dispatch.VARIANTS)


@pytest.fixture
def variant(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    name = request.param
    if name != "auto":
        monkeypatch.setattr(dispatch, "FORCED", name)
    return name  # type: ignore[no-any-return]


@pytest.fixture(autouse=True)
def _ieee() -> Any:
    with np.errstate(all="ignore"):  # NaN and inf are the subject here
        yield


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("variant", VARIANTS, indirect=True)
def test_relu_rnn_keeps_a_nan_of_the_input(variant: str, dtype: str) -> None:
    """The issue's example: one NaN in the input of RNN(2, 3, relu) makes all 9 outputs
    NaN in torch (it spreads through W_hh), and NaN passes relu's backward."""
    elman.manual_seed(0)
    rnn = elman.nn.RNN(2, 3, nonlinearity="relu").to(getattr(elman, dtype))
    x = np.random.default_rng(0).standard_normal((3, 1, 2)).astype(dtype)
    x[0, 0, 0] = np.nan
    xt = elman.tensor(x, requires_grad=True)
    out, hn = rnn(xt)
    assert np.isnan(out.detach().numpy()).sum() == 9 and np.isnan(hn.detach().numpy()).all()
    out.sum().backward()
    assert np.isnan(rnn.weight_hh_l0.grad.numpy()).all()  # delta.T @ (NaN states)
    # relu's backward passes the (finite) gradient on where h is NaN, so dx stays finite
    # (a product with ``h > 0`` would have made it 0 there)
    assert np.isfinite(xt.grad.numpy()).all()


@pytest.mark.parametrize("where", ["x", "h0"])
@pytest.mark.parametrize("sign", [1, -1])
@pytest.mark.parametrize("variant", VARIANTS, indirect=True)
def test_tanh_rnn_with_inf_gives_nan_weight_gradients(variant: str, where: str, sign: int) -> None:
    """±inf in x (or h0) saturates tanh to exactly ±1, so the step's delta is 0, and the
    weight gradient that multiplies it by the inf is 0 * inf = NaN, as in IEEE arithmetic
    and torch (elman gave 0)."""
    rng = np.random.default_rng(1)
    rnn = elman.nn.RNN(3, 4)
    x, h0 = rng.standard_normal((5, 2, 3)), rng.standard_normal((1, 2, 4))
    rnn = rnn.double()
    (x if where == "x" else h0)[0, 1, 2] = sign * np.inf
    out, _ = rnn(elman.tensor(x), elman.tensor(h0))
    assert np.abs(out.detach().numpy()[0, 1]).max() == 1  # tanh(±inf) = ±1 exactly
    out.sum().backward()
    grad = (rnn.weight_ih_l0 if where == "x" else rnn.weight_hh_l0).grad.numpy()
    assert np.isnan(grad[:, 2]).all() and np.isfinite(np.delete(grad, 2, axis=1)).all()


def test_tanh_is_exactly_one_from_torchs_threshold() -> None:
    """float32: exactly ±1 from |x| = 9.01084 on (torch's), below 1 before; float64: from
    19.0615; ±inf -> ±1, NaN -> NaN: the reference, the autograd op and the kernels."""
    for dtype, one in ((np.float32, special.TANH32_ONE), (np.float64, special.TANH64_ONE)):
        t = dtype(one)
        below = np.nextafter(t, dtype(0))
        x = np.array([t, -t, below, -below, np.inf, -np.inf, np.nan, 0.5], dtype=dtype)
        expected = [1, -1, None, None, 1, -1, np.nan, np.tanh(0.5)]
        for y in (special.tanh_ref(x.copy()), elman.tensor(x).tanh().numpy(), _compiled(x)):
            assert y.dtype == dtype
            assert list(y[[0, 1, 4, 5]]) == [1, -1, 1, -1] and np.isnan(y[6])
            assert 1 - abs(y[2]) > 0 and 1 - abs(y[3]) > 0
            assert abs(y[7] - expected[7]) < 1e-7


def _compiled(x: np.ndarray) -> np.ndarray:
    if not _kernels.JIT:
        return special.tanh_ref(x.copy())
    y = np.empty_like(x)
    _tanh_all(x, y)
    return y


if _kernels.JIT:

    @numba.njit(cache=True)
    def _tanh_all(x: np.ndarray, y: np.ndarray) -> None:
        for i in range(x.shape[0]):
            y[i] = activations.tanh(x[i])


def _first_one(torch: Any, dtype: Any, lo: float, hi: float) -> Any:
    """The smallest x in [lo, hi] with torch.tanh(x) == 1 (bisection over the floats)."""
    lo, hi = dtype(lo), dtype(hi)
    while True:
        mid = dtype((lo + hi) / 2)
        if mid in (lo, hi):
            return hi
        one = torch.tanh(torch.from_numpy(np.full(32, mid, dtype=dtype)))[0].item() == 1
        lo, hi = (lo, mid) if one else (mid, hi)


@requires_torch
def test_tanh_thresholds_are_torchs(torch_or_skip: Any) -> None:
    """float32: exactly torch's first x with tanh(x) == 1. float64: torch's threshold
    depends on the machine it runs on (19.061547465468465 on the AMD EPYC the constant was
    measured on, 19.061555615949707 on an AVX-512 Intel Xeon, with or without
    ATEN_CPU_CAPABILITY=avx2): between them the two give 1 and 1 - 2**-53. So float64 is
    held to that measured window, not to one machine's float."""
    torch = torch_or_skip
    assert _first_one(torch, np.float32, 8.0, 12.0) == np.float32(special.TANH32_ONE)
    first64 = _first_one(torch, np.float64, 18.0, 40.0)
    assert 19.061547465468465 <= first64 <= 19.061555615949707
    assert special.TANH64_ONE <= first64
    y = torch.tanh(torch.tensor([special.TANH64_ONE], dtype=torch.float64)).item()
    assert y in (1.0, np.nextafter(1.0, 0.0))


def test_relu_backward_selects_as_torch() -> None:
    """torch's threshold_backward: 0 where y <= 0 (even for an inf gradient), the gradient
    where y > 0 or y is NaN (so NaN is not turned into 0)."""
    x = elman.tensor([np.nan, -1.0, 0.0, 2.0, -np.inf, np.inf], requires_grad=True)
    y = x.relu()
    np.testing.assert_array_equal(y.detach().numpy(), [np.nan, 0, 0, 2, 0, np.inf])
    y.backward(elman.tensor([5.0, np.inf, -np.inf, 3.0, np.nan, 1.0]))
    np.testing.assert_array_equal(x.grad.numpy(), [5, 0, 0, 3, 0, 1])


def test_ops_follow_torchs_kernels_at_the_edges() -> None:
    """Exponents torch computes with sqrt, rsqrt and products; sign(NaN) = 0 in abs's
    gradient; max's gradient goes to the NaNs; maximum passes the gradient on at NaN."""
    x = elman.tensor([-np.inf, -0.0, 4.0, np.nan], requires_grad=True)
    np.testing.assert_array_equal((x**0.5).detach().numpy(), [np.nan, -0.0, 2, np.nan])
    np.testing.assert_array_equal((x**-0.5).detach().numpy(), [np.nan, -np.inf, 0.5, np.nan])
    a = elman.tensor([np.nan, 1.0, -2.0], requires_grad=True)
    a.abs().backward(elman.tensor([1.0, np.inf, 1.0]))
    np.testing.assert_array_equal(a.grad.numpy(), [0, np.inf, -1])
    m = elman.tensor([1.0, np.nan, 3.0, np.nan], requires_grad=True)
    m.max().backward(elman.tensor(np.inf))
    np.testing.assert_array_equal(m.grad.numpy(), [0, np.inf, 0, np.inf])
    p, q = (elman.tensor([np.nan, 1.0], requires_grad=True) for _ in range(2))
    elman.maximum(p, q).backward(elman.tensor([2.0, 2.0]))
    np.testing.assert_array_equal(p.grad.numpy(), [2, 1])
    np.testing.assert_array_equal(q.grad.numpy(), [2, 1])


@pytest.mark.parametrize("variant", VARIANTS, indirect=True)
def test_unbatched_input_in_every_variant(variant: str) -> None:
    """An unbatched h0 is a one-row view with row stride 0; BLAS rejected it as a leading
    dimension and computed nothing (layered-gemm and layered-rows gave wrong outputs)."""
    rng = np.random.default_rng(2)
    rnn = elman.nn.RNN(4, 6, num_layers=2).double()
    x, h0 = rng.standard_normal((5, 4)), rng.standard_normal((2, 6))
    out, hn = rnn(elman.tensor(x), elman.tensor(h0))
    ref_out, ref_hn = rnn(elman.tensor(x[:, None]), elman.tensor(h0[:, None]))  # batched
    np.testing.assert_allclose(out.detach().numpy(), ref_out.detach().numpy()[:, 0], rtol=1e-12)
    np.testing.assert_allclose(hn.detach().numpy(), ref_hn.detach().numpy()[:, 0], rtol=1e-12)


def _diverging_run(lib: Any, steps: int = 8) -> list[float]:
    """A ReLU RNN + Linear trained with a far too large learning rate (fixed weights)."""
    rng = np.random.default_rng(3)
    rnn = lib.nn.RNN(2, 8, nonlinearity="relu")
    head = lib.nn.Linear(8, 1)
    params = list(rnn.parameters()) + list(head.parameters())
    with lib.no_grad():
        for p in params:
            p.copy_(lib.tensor(rng.uniform(-0.35, 0.35, tuple(p.shape)).astype(np.float32)))
    opt = lib.optim.SGD(params, lr=50.0)
    x = lib.tensor(rng.standard_normal((20, 4, 2)).astype(np.float32))
    y = lib.tensor(rng.standard_normal((20, 4, 1)).astype(np.float32))
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        out, _ = rnn(x)
        loss = ((head(out) - y) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(float(loss.item()))
    return losses


def test_a_diverging_relu_run_reports_nonfinite_losses() -> None:
    losses = _diverging_run(elman)
    first = next(i for i, v in enumerate(losses) if not math.isfinite(v))
    assert all(math.isnan(v) for v in losses[first + 1 :])  # and it stays NaN


@requires_torch
def test_a_diverging_relu_run_diverges_as_torchs(torch_or_skip: Any) -> None:
    mine, theirs = _diverging_run(elman), _diverging_run(torch_or_skip)
    first = [next(i for i, v in enumerate(r) if not math.isfinite(v)) for r in (mine, theirs)]
    assert first[0] == first[1], (mine, theirs)
    np.testing.assert_allclose(mine[: first[0]], theirs[: first[0]], rtol=1e-3)
    assert [math.isnan(v) for v in mine] == [math.isnan(v) for v in theirs]


@requires_torch
@pytest.mark.parametrize("variant", VARIANTS, indirect=True)
def test_relu_rnn_nan_example_equals_torch(variant: str, torch_or_skip: Any) -> None:
    torch = torch_or_skip
    rnn = elman.nn.RNN(2, 3, nonlinearity="relu")
    reference = torch_rnn_like(rnn, np.float32)
    x = np.random.default_rng(0).standard_normal((3, 1, 2)).astype(np.float32)
    x[1, 0, 1] = np.nan
    out, _ = rnn(elman.tensor(x))
    expected, _ = reference(torch.from_numpy(x))
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-5)
    assert np.isnan(out.detach().numpy()[1:]).all() and not np.isnan(out.detach().numpy()[0]).any()
