"""Behaviours torch's test/test_nn.py asserts for RNNs that apply on a CPU, checked on elman.

Each test states one behaviour in our own words (the torch test that asserts it is named
in the docstring); where torch is installed the same case runs on torch too, so the test
also proves that torch behaves as stated.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest

import elman
from conftest import TORCH, copy_into_torch, requires_torch


def _libs() -> list[Any]:
    return [elman] + ([TORCH] if TORCH is not None else [])


@pytest.mark.parametrize("lib", _libs(), ids=lambda m: m.__name__)
def test_wrong_shapes_raise_runtime_error(lib: Any) -> None:
    """test_rnn_args_check: a wrong input batch, hidden batch, input size, hidden size or
    number of hidden layers is a RuntimeError."""
    good_x, good_h = (6, 4, 3), (2, 4, 5)
    for x_shape, h_shape in [
        ((6, 7, 3), good_h),
        (good_x, (2, 7, 5)),
        ((6, 4, 7), good_h),
        (good_x, (2, 4, 7)),
        (good_x, (7, 4, 5)),
    ]:
        rnn = lib.nn.RNN(3, 5, 2)
        with pytest.raises(RuntimeError):
            rnn(lib.randn(*x_shape), lib.randn(*h_shape))


@pytest.mark.parametrize("lib", _libs(), ids=lambda m: m.__name__)
def test_zero_initial_hidden_state_equals_none(lib: Any) -> None:
    """test_rnn_initial_hidden_state."""
    rnn = lib.nn.RNN(30, 20, 2)
    x = lib.randn(10, 32, 30)
    out1, h1 = rnn(x, lib.zeros(2, 32, 20))
    out2, h2 = rnn(x)
    assert np.array_equal(out1.detach().numpy(), out2.detach().numpy())
    assert np.array_equal(h1.detach().numpy(), h2.detach().numpy())


@pytest.mark.parametrize("lib", _libs(), ids=lambda m: m.__name__)
def test_proj_size_is_refused(lib: Any) -> None:
    """test_projections_errors_on_gru_and_rnn."""
    with pytest.raises(ValueError, match="proj_size argument is only supported for LSTM"):
        lib.nn.RNN(30, 20, 2, proj_size=10)


@pytest.mark.parametrize("lib", _libs(), ids=lambda m: m.__name__)
def test_empty_batch_runs_forward_and_backward(lib: Any) -> None:
    """test_RNN_input_size_zero: a (5, 0, 3) input gives a (5, 0, 4) output; backward runs."""
    out, _ = lib.nn.RNN(input_size=3, hidden_size=4)(lib.zeros(5, 0, 3))
    assert tuple(out.shape) == (5, 0, 4)
    out.sum().backward()


@pytest.mark.parametrize("lib", _libs(), ids=lambda m: m.__name__)
def test_zero_length_sequence_is_an_error(lib: Any) -> None:
    """test_error_RNN_seq_len_zero (its CPU case)."""
    for bidirectional in (False, True):
        rnn = lib.nn.RNN(5, 6, bidirectional=bidirectional)
        with pytest.raises(RuntimeError, match="Expected sequence length to be larger than 0"):
            rnn(lib.ones(0, 10, 5))


@pytest.mark.parametrize("p", [0, 0.276, 0.731, 1])
@pytest.mark.parametrize("train", [True, False])
def test_dropout_sits_between_layers(p: float, train: bool) -> None:
    """test_RNN_dropout: with all weights 1 and ReLU, layer 2 sums the surviving (scaled)
    units of layer 1, so every output unit is equal: 10000 without dropout, 0 with p=1,
    else a multiple of 10/(1-p) near 10000; h_n of layer 1 is 10."""
    elman.manual_seed(1)
    rnn = elman.nn.RNN(10, 1000, 2, bias=False, dropout=p, nonlinearity="relu", dtype=elman.float64)
    rnn.train(train)
    with elman.no_grad():
        for w in rnn.parameters():
            w.fill_(1)
    out, hy = rnn(
        elman.ones(1, 1, 10, dtype=elman.float64), elman.zeros(2, 1, 1000, dtype=elman.float64)
    )
    o, hy = out.detach().numpy(), hy.detach()
    assert o.min() == o.max()
    value = o[0, 0, 0]
    if p == 0 or not train:
        assert value == 10000
    elif p == 1:
        assert value == 0
    else:
        assert 8000 < value < 12000
        rem = (value * (1 - p)) % 10
        assert min(rem, 10 - rem) < 1e-2
    assert hy.numpy()[0].min() == hy.numpy()[0].max() == 10
    assert hy.numpy()[1, 0, 0] == value


@pytest.mark.parametrize("p", [0, 0.1234])
@pytest.mark.parametrize("train", [True, False])
def test_dropout_state_survives_save_and_load(p: float, train: bool, tmp_path) -> None:
    """test_RNN_dropout_state: two calls (and a copy saved and loaded whole) agree without
    dropout or in eval mode, and differ with dropout in training."""
    rnn = elman.nn.RNN(100, 100, 2, bias=False, dropout=p, nonlinearity="relu")
    rnn.train(train)
    x, h = elman.rand(1, 1, 100), elman.rand(2, 1, 100)
    out1, hy1 = rnn(x, h)
    out2, hy2 = rnn(x, h)
    buf = io.BytesIO()
    elman.save(rnn, buf)
    buf.seek(0)
    with elman.serialization.safe_globals([elman.nn.RNN]):
        rnn2 = elman.load(buf)
    rnn2.flatten_parameters()
    out3, hy3 = rnn2(x, h)
    same = p == 0 or not train
    for a, b in ((out1, out2), (out1, out3), (hy1, hy2), (hy1, hy3)):
        assert np.array_equal(a.detach().numpy(), b.detach().numpy()) == same


@pytest.mark.parametrize("train", [True, False])
def test_changing_dropout_takes_effect(train: bool) -> None:
    """test_RNN_change_dropout: assigning rnn.dropout between calls is honoured."""
    rnn = elman.nn.RNN(100, 100, 2, dropout=0, nonlinearity="relu", dtype=elman.float64)
    rnn.train(train)
    x = elman.rand(3, 2, 100, dtype=elman.float64)
    previous = None
    for p in (0, 0.5, 0, 0.7, 0.2, 1, 0.2, 0):
        rnn.dropout = p
        o1, h1 = rnn(x)
        o2, h2 = rnn(x)
        equal = p in (0, 1) or not train
        assert np.array_equal(o1.detach().numpy(), o2.detach().numpy()) == equal
        assert np.array_equal(h1.detach().numpy(), h2.detach().numpy()) == equal
        if previous is not None:
            assert np.array_equal(o1.detach().numpy(), previous) == (not train)
        previous = o1.detach().numpy()


@requires_torch
@pytest.mark.parametrize("variable_len", [False, True])
@pytest.mark.parametrize(
    "bias,bidirectional,batch_first",
    [
        (True, False, False),
        (False, True, True),
        (True, True, False),
        (False, False, True),
    ],
)
def test_non_contiguous_inputs_and_packed_lengths(
    bias: bool, bidirectional: bool, batch_first: bool, variable_len: bool, torch_or_skip: Any
) -> None:
    """The CPU half of test_RNN_cpu_vs_cudnn: non-contiguous input, hx and output
    gradients, and lengths as a list or a tensor, give torch's outputs and gradients."""
    torch = torch_or_skip
    from torch.nn.utils.rnn import pack_padded_sequence as t_pack

    from elman.nn.utils.rnn import pack_padded_sequence as e_pack

    D = 2 if bidirectional else 1
    e = elman.nn.RNN(
        10,
        6,
        2,
        bias=bias,
        bidirectional=bidirectional,
        batch_first=batch_first,
        dtype=elman.float64,
    )
    t = copy_into_torch(
        e,
        torch.nn.RNN(
            10,
            6,
            2,
            bias=bias,
            bidirectional=bidirectional,
            batch_first=batch_first,
            dtype=torch.float64,
        ),
    )

    def noncontig(a: np.ndarray) -> np.ndarray:
        return np.stack([np.zeros_like(a), a], axis=a.ndim)[..., 1]

    shape = (6, 7, 10) if batch_first else (7, 6, 10)
    x = noncontig(np.random.default_rng(0).standard_normal(shape))
    hx = noncontig(np.random.default_rng(1).standard_normal((2 * D, 6, 6)))
    assert not x.flags.c_contiguous and not hx.flags.c_contiguous
    lengths = [7, 5, 5, 2, 1, 1]
    results = []
    for lib, pack in ((elman, e_pack), (torch, t_pack)):
        module = e if lib is elman else t
        xi = (
            lib.from_numpy(x).requires_grad_(True)
            if lib is torch
            else elman.from_numpy(x).requires_grad_(True)
        )
        hi = (
            lib.from_numpy(hx).requires_grad_(True)
            if lib is torch
            else elman.from_numpy(hx).requires_grad_(True)
        )
        inp = xi
        if variable_len:
            lens = lib.tensor(lengths) if lib is torch else elman.tensor(lengths)
            inp = pack(xi, lens, batch_first=batch_first)
        out, hy = module(inp, hi)
        out = out.data if variable_len else out
        (out.sum() + (hy * hy).sum()).backward()
        results.append(
            [out.detach().numpy(), hy.detach().numpy(), xi.grad.numpy(), hi.grad.numpy()]
        )
    for got, want in zip(*results, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("lib", _libs(), ids=lambda m: m.__name__)
def test_module_to(lib: Any) -> None:
    """test_to: to('cpu') and to('cpu', dtype=float32) return the module itself,
    double() equals to(float64), and to('cpu', copy=True) is an error."""
    m = lib.nn.Linear(3, 5)
    assert m.to("cpu") is m and m.to("cpu", dtype=lib.float32) is m
    w = m.weight.detach().numpy().astype(np.float64)
    assert np.array_equal(m.to(lib.float64).weight.detach().numpy(), w)
    with pytest.raises((RuntimeError, TypeError)):
        m.to("cpu", copy=True)
