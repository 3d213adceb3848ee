"""Float64 gradcheck of the RNN and RNNCell kernels (and a check that gradcheck can
fail), and the ReLU derivative at zero: 0, as torch's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import elman
from conftest import TORCH, assert_close, requires_torch, to_numpy, torch_rnn_like


def rnd(rng: np.random.Generator, *shape: int, dtype: str = "float64") -> np.ndarray:
    return rng.standard_normal(shape).astype(dtype)


GRADCHECK = {
    "uni-tanh-hx": ({}, (3, 2), True),
    "uni-relu-nobias": ({"nonlinearity": "relu", "bias": False}, (3, 2), True),
    "bi-tanh-2layers-hx": ({"num_layers": 2, "bidirectional": True}, (3, 2), True),
    "bi-relu-2layers-batch_first": (
        {"num_layers": 2, "bidirectional": True, "nonlinearity": "relu", "batch_first": True},
        (2, 3),
        True,
    ),
    "2layers-tanh-nobias-unbatched": ({"num_layers": 2, "bias": False}, (4,), False),
    "bi-relu-unbatched-hx": ({"bidirectional": True, "nonlinearity": "relu"}, (4,), True),
    "train-dropout-2layers": (
        {"num_layers": 2, "dropout": 0.5, "bidirectional": True},
        (3, 2),
        True,
    ),
}


@pytest.mark.parametrize("name", list(GRADCHECK))
def test_rnn_gradcheck(name: str) -> None:
    kwargs, batch, with_hx = GRADCHECK[name]
    rnn = elman.nn.RNN(2, 3, dtype="float64", **kwargs)
    rng = np.random.default_rng(17)
    x_shape = (batch[0], batch[1], 2) if len(batch) == 2 else (batch[0], 2)
    D = 2 if rnn.bidirectional else 1
    h_shape = (rnn.num_layers * D, *(batch[1:] if not rnn.batch_first else batch[:1]), 3)
    x = elman.tensor(rnd(rng, *x_shape), requires_grad=True)
    hx = elman.tensor(rnd(rng, *h_shape), requires_grad=True) if with_hx else None

    def fn(x: Any, hx: Any, *params: Any) -> Any:
        elman.manual_seed(0)  # the same dropout masks at every evaluation
        return rnn(x, hx)

    assert elman.autograd.gradcheck(fn, [x, hx, *rnn.parameters()])


@pytest.mark.parametrize("variant", ["fused-forward-gemm", "fused-gemm"])
@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_gradcheck_wide_input_blas_products(
    nonlinearity: str, variant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fused variants with BLAS products (each layer's input projection one BLAS call
    inside the fused forward; fused-gemm's backward also dW_ih and dX): a short stack of
    wide inputs, float64, packed too."""
    from elman._kernels import dispatch

    if not elman._kernels.JIT or not dispatch.gemm_pointers()[0]:
        pytest.skip("needs compiled kernels and NumPy's BLAS")
    monkeypatch.setattr(dispatch, "FORCED", variant)
    rnn = elman.nn.RNN(40, 3, num_layers=2, nonlinearity=nonlinearity, dtype="float64")
    assert dispatch.choose(6, 2, 40, 3, 2, 1).name == variant
    rng = np.random.default_rng(5)
    x = elman.tensor(rnd(rng, 3, 2, 40), requires_grad=True)
    hx = elman.tensor(rnd(rng, 2, 2, 3), requires_grad=True)
    assert elman.autograd.gradcheck(lambda x, hx, *p: rnn(x, hx), [x, hx, *rnn.parameters()])
    pack = elman.nn.utils.rnn.pack_padded_sequence

    def packed(x: Any, hx: Any, *params: Any) -> Any:
        out, hn = rnn(pack(x, [3, 2]), hx)
        return out.data, hn

    assert elman.autograd.gradcheck(packed, [x, hx, *rnn.parameters()])


@pytest.mark.parametrize("nl", ["tanh", "relu"])
def test_rnn_cell_gradcheck(nl: str) -> None:
    cell = elman.nn.RNNCell(3, 4, nonlinearity=nl, dtype="float64")
    rng = np.random.default_rng(4)
    x = elman.tensor(rnd(rng, 2, 3), requires_grad=True)
    h = elman.tensor(rnd(rng, 2, 4), requires_grad=True)
    assert elman.autograd.gradcheck(lambda x, h, *p: cell(x, h), [x, h, *cell.parameters()])


def test_gradcheck_can_fail() -> None:
    """The checker itself catches a wrong backward (here: relu' taken as 1 everywhere)."""

    class BadRelu(elman.autograd.Function):
        @staticmethod
        def forward(ctx: Any, a: np.ndarray) -> np.ndarray:
            return np.maximum(a, 0)

        @staticmethod
        def backward(ctx: Any, g: np.ndarray) -> np.ndarray:
            return g

    x = elman.tensor(np.array([-0.5, 0.7]), requires_grad=True)
    with pytest.raises(elman.autograd.GradcheckError):
        elman.autograd.gradcheck(BadRelu.apply, [x])


def relu_with_dead_unit() -> tuple[elman.nn.RNN, np.ndarray, np.ndarray]:
    """Unit 0 of every step has a pre-activation of exactly 0; the others are alive."""
    rnn = elman.nn.RNN(3, 4, nonlinearity="relu", dtype="float64")
    with elman.no_grad():
        rnn.weight_ih_l0[0] = 0.0
        rnn.weight_hh_l0[0] = 0.0
        rnn.bias_hh_l0[0] = -rnn.bias_ih_l0[0].item()
    rng = np.random.default_rng(2)
    return rnn, rnd(rng, 5, 2, 3), np.abs(rnd(rng, 1, 2, 4))


def test_relu_derivative_at_zero_is_zero() -> None:
    rnn, x, h0 = relu_with_dead_unit()
    xt, ht = elman.tensor(x, requires_grad=True), elman.tensor(h0, requires_grad=True)
    out, hn = rnn(xt, ht)
    assert np.all(to_numpy(out)[:, :, 0] == 0) and np.any(to_numpy(out)[:, :, 1:] > 0)
    (out.sum() + hn.sum()).backward()
    for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
        grad = to_numpy(getattr(rnn, name).grad)
        assert np.all(grad[0] == 0), name  # no gradient through the dead unit
        assert np.any(grad[1:] != 0), name
    assert np.any(to_numpy(xt.grad) != 0)


@requires_torch
def test_relu_derivative_at_zero_matches_torch() -> None:
    rnn, x, h0 = relu_with_dead_unit()
    module = torch_rnn_like(rnn, "float64")
    results = []
    for lib, m in ((elman, rnn), (TORCH, module)):
        xt, ht = lib.tensor(x, requires_grad=True), lib.tensor(h0, requires_grad=True)
        out, hn = m(xt, ht)
        (out.sum() + hn.sum()).backward()
        results.append([to_numpy(t.grad) for t in (xt, ht, *m.parameters())])
    for k, (a, e) in enumerate(zip(*results, strict=True)):
        assert_close(a, e, f"grad {k}")
        np.testing.assert_array_equal(a == 0, e == 0, err_msg=f"zero pattern of grad {k}")
