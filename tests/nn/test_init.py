"""nn.init against torch: bit for bit where torch draws with uniform_/normal_, to rounding for
orthogonal_ (a QR decomposition), exactly for the deterministic fills."""

from __future__ import annotations

import doctest
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from nn_parity import DTYPES, one_torch_thread  # noqa: F401  (a fixture)

import elman
from conftest import TORCH, requires_torch
from elman.nn import init

torch = TORCH
TORCH_DTYPE = {} if torch is None else {np.float32: torch.float32, np.float64: torch.float64}
SHAPES = [(3, 5), (40, 7), (4, 3, 2), (2, 2, 3, 3), (1, 1)]  # < 16 elements: the scalar path

RANDOM_INITS: dict[str, Callable[[Any, Any], Any]] = {
    "uniform": lambda m, t: m.uniform_(t, -0.3, 0.7),
    "normal": lambda m, t: m.normal_(t, 0.5, 2.0),
    "xavier_uniform": lambda m, t: m.xavier_uniform_(t),
    "xavier_uniform-gain": lambda m, t: m.xavier_uniform_(t, gain=m.calculate_gain("tanh")),
    "xavier_normal": lambda m, t: m.xavier_normal_(t),
    "xavier_normal-gain": lambda m, t: m.xavier_normal_(t, gain=0.5),
    "kaiming_uniform": lambda m, t: m.kaiming_uniform_(t),
    "kaiming_uniform-relu-out": lambda m, t: m.kaiming_uniform_(
        t, mode="fan_out", nonlinearity="relu"
    ),
    "kaiming_uniform-a": lambda m, t: m.kaiming_uniform_(t, a=math.sqrt(5)),
    "kaiming_normal": lambda m, t: m.kaiming_normal_(t),
    "kaiming_normal-out": lambda m, t: m.kaiming_normal_(t, a=0.2, mode="FAN_OUT"),
    "kaiming_normal-tanh": lambda m, t: m.kaiming_normal_(t, nonlinearity="tanh"),
}


def _pair(shape: Any, dtype: Any) -> tuple[Any, Any]:
    return elman.zeros(*shape, dtype=dtype), torch.zeros(*shape, dtype=TORCH_DTYPE[dtype])


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", RANDOM_INITS)
def test_random_inits_are_bit_identical(name: str, shape: Any, dtype: Any) -> None:
    fill = RANDOM_INITS[name]
    e, t = _pair(shape, dtype)
    for _ in range(2):  # and the generators stay in step
        assert fill(init, e) is e
        fill(torch.nn.init, t)
        np.testing.assert_array_equal(e.numpy(), t.numpy())


@requires_torch
@pytest.mark.parametrize("name", ["xavier_normal", "kaiming_uniform", "normal"])
def test_explicit_generator(name: str) -> None:
    e, t = _pair((6, 5), np.float32)
    eg, tg = elman.random.Generator(), torch.Generator()
    eg.manual_seed(42)
    tg.manual_seed(42)
    fn = getattr(init, name + "_")
    state = elman.get_rng_state()
    fn(e, generator=eg)
    getattr(torch.nn.init, name + "_")(t, generator=tg)
    np.testing.assert_array_equal(e.numpy(), t.numpy())
    np.testing.assert_array_equal(elman.get_rng_state(), state)  # global generator untouched


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "shape", [(5, 5), (7, 3), (3, 7), (4, 3, 2), (2, 6, 2), (1, 4), (4, 1)], ids=str
)
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_orthogonal_matches_torch(shape: Any, gain: float, dtype: Any) -> None:
    e, t = _pair(shape, dtype)
    init.orthogonal_(e, gain=gain)
    torch.nn.init.orthogonal_(t, gain=gain)
    tol = {"rtol": 1e-5, "atol": 2e-6} if dtype == np.float32 else {"rtol": 1e-12, "atol": 1e-13}
    np.testing.assert_allclose(e.numpy(), t.numpy(), **tol)
    rows = shape[0]
    flat = e.numpy().reshape(rows, -1).astype(np.float64) / gain
    small = min(flat.shape)
    gram = flat @ flat.T if rows <= flat.shape[1] else flat.T @ flat
    np.testing.assert_allclose(gram, np.eye(small), atol=1e-5 if dtype == np.float32 else 1e-12)
    # the generator advanced by exactly the normal draw, as torch's
    np.testing.assert_array_equal(elman.randn(20).numpy(), torch.randn(20).numpy())


@requires_torch
def test_orthogonal_parameter_keeps_identity_and_graph() -> None:
    w = elman.nn.Parameter(elman.zeros(4, 4))
    data = w._data
    assert init.orthogonal_(w) is w and w._data is data and w.is_leaf and w.grad is None


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 3), (2, 4), (5, 2)], ids=str)
def test_deterministic_fills(shape: Any, dtype: Any) -> None:
    for fill in (
        lambda m, x: m.eye_(x),
        lambda m, x: m.zeros_(x),
        lambda m, x: m.ones_(x),
        lambda m, x: m.constant_(x, -1.25),
    ):
        e, t = _pair(shape, dtype)
        e += 3.0
        t += 3.0
        assert fill(init, e) is e
        fill(torch.nn.init, t)
        np.testing.assert_array_equal(e.numpy(), t.numpy())
        assert e.dtype == dtype


def test_inits_on_parameters_do_not_record() -> None:
    p = elman.nn.Parameter(elman.ones(3, 4))
    for fill in (init.eye_, init.xavier_uniform_, init.kaiming_normal_, init.orthogonal_):
        fill(p)
        assert p.is_leaf and p.requires_grad and p.grad_fn is None


INIT_ERRORS = [
    (lambda m, lib: m.eye_(lib.zeros(2, 2, 2)), ValueError),
    (lambda m, lib: m.eye_(lib.zeros(2)), ValueError),
    (lambda m, lib: m.orthogonal_(lib.zeros(3)), ValueError),
    (lambda m, lib: m.xavier_uniform_(lib.zeros(3)), ValueError),
    (lambda m, lib: m.xavier_normal_(lib.zeros(3)), ValueError),
    (lambda m, lib: m.kaiming_normal_(lib.zeros(3)), ValueError),
    (lambda m, lib: m.kaiming_normal_(lib.zeros(3, 2), mode="fan_avg"), ValueError),
    (lambda m, lib: m.kaiming_uniform_(lib.zeros(3, 2), mode="in"), ValueError),
    (lambda m, lib: m.kaiming_normal_(lib.zeros(3, 2), nonlinearity="gelu"), ValueError),
]


@requires_torch
@pytest.mark.parametrize("case", range(len(INIT_ERRORS)))
def test_errors_match_torch(case: int) -> None:
    make, exc = INIT_ERRORS[case]
    with pytest.raises(exc) as got:
        make(init, elman)
    with pytest.raises(exc) as want:
        make(torch.nn.init, torch)
    assert str(got.value) == str(want.value)


def test_zero_size_tensors() -> None:
    """No-ops, as in torch (which also warns "Initializing zero-element tensors is a no-op"
    from kaiming_*; elman does not, so that zero-feature layers build silently)."""
    state = elman.get_rng_state()
    for fill in (
        init.kaiming_uniform_,
        init.kaiming_normal_,
        init.orthogonal_,
        init.xavier_normal_,
    ):
        t = elman.zeros(0, 3)
        assert fill(t) is t and t.shape == (0, 3)
    np.testing.assert_array_equal(elman.get_rng_state(), state)


def test_doctests() -> None:
    failed, attempted = doctest.testmod(init, raise_on_error=False, verbose=False)
    assert attempted > 0 and failed == 0
