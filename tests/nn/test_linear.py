"""Linear against torch.nn.Linear and a NumPy reference: forward, backward, init, errors.

Forward and backward are compared with the obvious NumPy formulas always and with torch
when it is importable. Initialisation is compared bit for bit with torch's for the same
seed (``elman.manual_seed(s)`` vs ``torch.manual_seed(s)``).
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import numpy as np
import pytest

import elman
from conftest import TORCH, assert_close, copy_into_torch, requires_torch, to_numpy

IN, OUT = 3, 2


def _inputs(shape: tuple[int, ...], dtype: Any, out: int = OUT) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(len(shape))
    x = rng.standard_normal(shape).astype(dtype)
    g = rng.standard_normal((*shape[:-1], out)).astype(dtype)  # the upstream gradient
    return x, g


def _numpy_reference(
    x: np.ndarray, w: np.ndarray, b: np.ndarray | None, g: np.ndarray
) -> dict[str, np.ndarray]:
    """y = x Wᵀ + b and its gradients, written out."""
    x2, g2 = x.reshape(-1, x.shape[-1]), g.reshape(-1, g.shape[-1])
    out = {
        "y": x @ w.T + (0 if b is None else b),
        "x.grad": g @ w,
        "weight.grad": g2.T @ x2,
    }
    if b is not None:
        out["bias.grad"] = g2.sum(axis=0)
    return out


def _run_elman(fc: Any, x: np.ndarray, g: np.ndarray) -> dict[str, Any]:
    xt = elman.tensor(x, requires_grad=True)
    y = fc(xt)
    y.backward(elman.tensor(g))
    out = {"y": y, "x.grad": xt.grad, "weight.grad": fc.weight.grad}
    if fc.bias is not None:
        out["bias.grad"] = fc.bias.grad
    return out


def _run_torch(fc: Any, x: np.ndarray, g: np.ndarray) -> dict[str, Any]:
    xt = TORCH.tensor(x, requires_grad=True)
    y = fc(xt)
    y.backward(TORCH.from_numpy(g))
    out = {"y": y, "x.grad": xt.grad, "weight.grad": fc.weight.grad}
    if fc.bias is not None:
        out["bias.grad"] = fc.bias.grad
    return out


# one input feature, one output (an outer product in the forward or in the input gradient:
# matmul_arrays' broadcast form, direct for few rows and transposed for many)
FEATURES = [(IN, OUT), (1, 6), (6, 1)]
LEADS = [(), (4,), (2, 5), (40, 3)]


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no-bias"])
@pytest.mark.parametrize("lead", LEADS, ids=lambda s: f"{len(s) + 1}d-{int(np.prod(s))}")
@pytest.mark.parametrize("features", FEATURES, ids=lambda f: f"{f[0]}to{f[1]}")
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_forward_backward(
    dtype: Any, features: tuple[int, int], lead: tuple[int, ...], bias: bool
) -> None:
    n_in, n_out = features
    shape = (*lead, n_in)
    elman.manual_seed(3)
    fc = elman.nn.Linear(n_in, n_out, bias=bias, dtype=dtype)
    x, g = _inputs(shape, dtype, n_out)
    ours = _run_elman(fc, x, g)
    assert ours["y"].shape == (*shape[:-1], n_out)
    w = fc.weight.detach().numpy().astype(np.float64)
    b = None if fc.bias is None else fc.bias.detach().numpy().astype(np.float64)
    reference = _numpy_reference(x.astype(np.float64), w, b, g.astype(np.float64))
    assert set(ours) == set(reference)
    for key, expected in reference.items():
        assert_close(ours[key], expected.astype(dtype), f"numpy reference {key}")
    if TORCH is not None:
        tdtype = getattr(TORCH, np.dtype(dtype).name)
        torch_fc = TORCH.nn.Linear(n_in, n_out, bias=bias, dtype=tdtype)
        theirs = _run_torch(copy_into_torch(fc, torch_fc), x, g)
        for key in reference:
            assert_close(ours[key], theirs[key], f"torch {key}")


def test_gradients_accumulate_like_torch() -> None:
    fc = elman.nn.Linear(IN, OUT, dtype=np.float64)
    x, g = _inputs((4, IN), np.float64)
    first = to_numpy(_run_elman(fc, x, g)["weight.grad"])
    second = to_numpy(_run_elman(fc, x, g)["weight.grad"])
    np.testing.assert_allclose(second, 2 * first, rtol=1e-15)


def test_empty_in_features_gives_the_bias() -> None:
    fc = elman.nn.Linear(0, OUT)
    y = fc(elman.tensor(np.zeros((4, 0), np.float32)))
    np.testing.assert_array_equal(y.detach().numpy(), np.tile(fc.bias.detach().numpy(), (4, 1)))
    np.testing.assert_array_equal(fc.bias.detach().numpy(), np.zeros(OUT, np.float32))


def test_arrays_and_lists_are_inputs() -> None:
    """A difference: torch raises AttributeError/TypeError for ndarrays and lists."""
    fc = elman.nn.Linear(IN, OUT)
    x = np.linspace(-1, 1, 4 * IN).reshape(4, IN).astype(np.float32)
    expected = fc(elman.tensor(x)).detach().numpy()
    np.testing.assert_array_equal(fc(x).detach().numpy(), expected)
    np.testing.assert_array_equal(fc(x.tolist()).detach().numpy(), expected)


# ---- initialisation: bit-identical to torch for the same seed -----------------------------

INIT_CASES = [
    (0, (5, 3), True),
    (7, (3, 1), True),
    (123, (64, 33), True),
    (1, (1, 1), False),
    (2**31 + 5, (16, 8), True),
]


@requires_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("seed, size, bias", INIT_CASES, ids=str)
def test_init_is_bit_identical_to_torch(
    seed: int, size: tuple[int, int], bias: bool, dtype: Any
) -> None:
    torch = TORCH
    in_f, out_f = size
    tdtype = getattr(torch, np.dtype(dtype).name)
    elman.manual_seed(seed)
    torch.manual_seed(seed)
    ours = [elman.nn.Linear(in_f, out_f, bias=bias, dtype=dtype) for _ in range(2)]
    theirs = [torch.nn.Linear(in_f, out_f, bias=bias, dtype=tdtype) for _ in range(2)]
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):  # the stream continues
        for name, value in b.state_dict().items():
            got = to_numpy(a.state_dict()[name])
            assert got.dtype == dtype
            np.testing.assert_array_equal(got, value.numpy(), err_msg=f"layer {i} {name}")
        bound = 1 / np.sqrt(in_f)  # kaiming-uniform(a=sqrt(5)) == U(±1/sqrt(fan_in))
        assert np.all(np.abs(to_numpy(a.weight)) <= bound)


@requires_torch
def test_model_init_is_bit_identical_to_torch() -> None:
    """Linear and RNN drawing from one stream in registration order, as in torch."""
    torch = TORCH

    def build(nn: Any) -> Any:
        class Net(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.rnn = nn.RNN(3, 5, 2, bidirectional=True)
                self.fc = nn.Linear(10, 2)
                self.cell = nn.RNNCell(2, 4)

        return Net()

    elman.manual_seed(42)
    torch.manual_seed(42)
    ours, theirs = build(elman.nn), build(torch.nn)
    for name, value in theirs.state_dict().items():
        np.testing.assert_array_equal(to_numpy(ours.state_dict()[name]), value.numpy(), name)


def test_init_is_reproducible_and_within_bounds() -> None:
    elman.manual_seed(5)
    a = elman.nn.Linear(20, 7)
    elman.manual_seed(5)
    b = elman.nn.Linear(20, 7)
    for name, value in a.state_dict().items():
        np.testing.assert_array_equal(to_numpy(value), to_numpy(b.state_dict()[name]))
        assert np.all(np.abs(to_numpy(value)) <= 1 / np.sqrt(20))
        assert np.unique(to_numpy(value)).size == value.numel()  # not a constant fill
    c = elman.nn.Linear(20, 7)
    assert not np.array_equal(to_numpy(a.weight), to_numpy(c.weight))


# ---- errors ---------------------------------------------------------------------------------

DTYPE = "Linear input of another dtype than the weights gets a clear message"


def _lin(m: Any, **kw: Any) -> Any:
    return m.nn.Linear(IN, OUT, **kw)


def _z(m: Any, *shape: int, dtype: str = "float32") -> Any:
    arr = np.zeros(shape, dtype)
    return elman.tensor(arr) if m is elman else TORCH.from_numpy(arr)


# (id, call, elman's exception, elman's text, torch's (exception, pattern) or "same")
ERRORS = [
    (
        "shapes-2d",
        lambda m: _lin(m)(_z(m, 4, 5)),
        RuntimeError,
        "mat1 and mat2 shapes cannot be multiplied (4x5 and 3x2)",
        "same",
    ),
    (
        "shapes-1d",
        lambda m: _lin(m)(_z(m, 5)),
        RuntimeError,
        "mat1 and mat2 shapes cannot be multiplied (1x5 and 3x2)",
        "same",
    ),
    (
        "shapes-3d",
        lambda m: _lin(m)(_z(m, 2, 4, 5)),
        RuntimeError,
        "mat1 and mat2 shapes cannot be multiplied (8x5 and 3x2)",
        "same",
    ),
    (
        "input-0d",
        lambda m: _lin(m)(_z(m)),
        RuntimeError,
        "both arguments to linear need to be at least 1D, but they are 0D and 2D",
        "same",
    ),
    (
        "dtype",
        lambda m: _lin(m)(_z(m, 4, 3, dtype="float64")),
        RuntimeError,
        "Linear input dtype (float64) does not match weight dtype (float32). Convert input: "
        "input.to(elman.float32), or convert model: model.to(elman.float64)",
        (RuntimeError, "mat1 and mat2 must have the same dtype, but got Double and Float"),
    ),
    (
        "dtype-before-shapes",
        lambda m: _lin(m)(_z(m, 4, 5, dtype="float64")),
        RuntimeError,
        "Linear input dtype (float64) does not match weight dtype (float32). Convert input: "
        "input.to(elman.float32), or convert model: model.to(elman.float64)",
        (RuntimeError, "mat1 and mat2 must have the same dtype"),
    ),
    (
        "dtype-int",
        lambda m: _lin(m)(_z(m, 4, 3, dtype="int64")),
        RuntimeError,
        "Linear input dtype (int64) does not match weight dtype (float32). Convert input: "
        "input.to(elman.float32)",
        (RuntimeError, "mat1 and mat2 must have the same dtype, but got Long and Float"),
    ),
    (
        "negative-features",
        lambda m: m.nn.Linear(3, -1),
        ValueError,
        "out_features must be zero or greater",
        (RuntimeError, re.escape("Trying to create tensor with negative dimension -1: [-1, 3]")),
    ),
    (
        "float-features",
        lambda m: m.nn.Linear(2.0, 3),
        TypeError,
        "in_features should be of type int, got: float",
        (TypeError, r"empty\(\): argument 'size'"),
    ),
    (
        "bool-features",
        lambda m: m.nn.Linear(3, True),
        TypeError,
        "out_features should be of type int, got: bool",
        (TypeError, r"empty\(\): argument 'size'"),
    ),
    (
        "int-dtype",
        lambda m: _lin(m, dtype=np.int32 if m is elman else TORCH.int32),
        RuntimeError,
        "Only Tensors of floating point and complex dtype can require gradients",
        "same",
    ),
    (
        "device-meta",
        lambda m: _lin(m, device="meta"),
        ValueError,
        "elman runs on the CPU only: device must be None or 'cpu', got 'meta'",
        (None, None),
    ),
    ("numpy-features", lambda m: m.nn.Linear(np.int64(3), np.int64(2)), None, None, "same"),
]


@pytest.mark.parametrize("case", ERRORS, ids=lambda c: c[0])
def test_errors(case: tuple[Any, ...]) -> None:
    _, call, exc, message, torch_does = case
    if exc is None:
        call(elman)
    else:
        with pytest.raises(exc) as info:
            call(elman)
        assert type(info.value) is exc and str(info.value) == message
    if TORCH is None:
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            call(TORCH)
        got = None
    except Exception as error:  # noqa: BLE001 - the oracle's outcome, whatever it is
        got = error
    if torch_does == "same":
        assert type(got) is exc if exc else got is None, repr(got)
        if got is not None:
            assert str(got) == message
    else:
        torch_exc, pattern = torch_does
        assert type(got) is torch_exc if torch_exc else got is None, repr(got)
        if pattern is not None:
            assert re.search(pattern, str(got)), str(got)


def test_zero_features_build_without_warning() -> None:
    """A difference: torch warns "Initializing zero-element tensors is a no-op"."""
    for size in ((0, 2), (3, 0)):
        fc = elman.nn.Linear(*size)  # warnings are errors in this suite
        assert tuple(fc.weight.shape) == size[::-1]
        if TORCH is not None:
            with pytest.warns(UserWarning, match="zero-element tensors is a no-op"):
                TORCH.nn.Linear(*size)


@pytest.mark.parametrize("bias", [True, False])
def test_repr(bias: bool) -> None:
    expected = f"Linear(in_features=3, out_features=2, bias={bias})"
    assert repr(elman.nn.Linear(3, 2, bias=bias)) == expected
    if TORCH is not None:
        assert repr(TORCH.nn.Linear(3, 2, bias=bias)) == expected
