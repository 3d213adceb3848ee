"""The behaviours torch's module_db asserts for nn.RNN and nn.RNNCell, checked on elman.

torch's ``torch/testing/_internal/common_modules.py`` lists, for RNN and RNNCell, sample
inputs (every nonlinearity x bias x batch_first x bidirectional of a 2-layer RNN on an
unbatched input, with and without h0, and packed batches; an RNNCell on an unbatched
input) whose output must equal the batched run squeezed, and error inputs (constructor
argument types and values, forward shape and dtype mismatches) with their exception type
and message. These tests state the same cases (our own tables, run live against torch):
same outputs as torch and as the batched reference, and for every error the exception
type of torch with a message matching torch's pattern.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import numpy as np
import pytest

import elman
from conftest import copy_into_torch, requires_torch

pytestmark = requires_torch

RNN_CASES = list(itertools.product(["relu", "tanh"], [False, True], [False, True], [False, True]))


def _e(x: Any) -> elman.Tensor:
    return elman.from_numpy(x.detach().numpy().copy())


def _both(torch: Any, **kwargs: Any) -> tuple[Any, Any]:
    e = elman.nn.RNN(dtype=elman.float64, **kwargs).eval()
    t = copy_into_torch(e, torch.nn.RNN(dtype=torch.float64, **kwargs)).eval()
    return e, t


@pytest.mark.parametrize("nl,bias,batch_first,bidir", RNN_CASES)
def test_rnn_unbatched_samples(nl, bias, batch_first, bidir, torch_or_skip) -> None:
    torch = torch_or_skip
    D = 2 if bidir else 1
    for hidden, with_h0 in ((2, False), (3, True)):
        e, t = _both(
            torch,
            input_size=2,
            hidden_size=hidden,
            num_layers=2,
            nonlinearity=nl,
            bias=bias,
            batch_first=batch_first,
            bidirectional=bidir,
        )
        x = torch.randn(3, 2, dtype=torch.float64)
        h = torch.randn(2 * D, hidden, dtype=torch.float64) if with_h0 else None
        t_out, t_h = t(x, h)
        e_out, e_h = e(_e(x), None if h is None else _e(h))
        np.testing.assert_allclose(e_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(e_h.detach().numpy(), t_h.detach().numpy(), rtol=1e-12)
        # the no-batch-dim reference: the batched run of one sequence, squeezed
        bdim = 0 if batch_first else 1
        b_out, b_h = e(_e(x).unsqueeze(bdim), None if h is None else _e(h).unsqueeze(1))
        assert np.array_equal(b_out.squeeze(bdim).detach().numpy(), e_out.detach().numpy())
        assert np.array_equal(b_h.squeeze(1).detach().numpy(), e_h.detach().numpy())


@pytest.mark.parametrize("nl,bias,batch_first,bidir", RNN_CASES)
def test_rnn_packed_samples(nl, bias, batch_first, bidir, torch_or_skip) -> None:
    torch = torch_or_skip
    from torch.nn.utils.rnn import pack_padded_sequence as t_pack

    from elman.nn.utils.rnn import pack_padded_sequence as e_pack

    e, t = _both(
        torch,
        input_size=2,
        hidden_size=2,
        num_layers=2,
        nonlinearity=nl,
        bias=bias,
        batch_first=batch_first,
        bidirectional=bidir,
    )
    for shape, lengths in (((5, 2, 2), [5, 3]), ((5, 5, 2), [5, 3, 3, 2, 2])):
        x = torch.randn(*shape, dtype=torch.float64)
        t_out, t_h = t(t_pack(x, torch.tensor(lengths)))  # packed: batch_first does not apply
        e_out, e_h = e(e_pack(_e(x), elman.tensor(lengths)))
        np.testing.assert_allclose(
            e_out.data.detach().numpy(), t_out.data.detach().numpy(), rtol=1e-12
        )
        np.testing.assert_allclose(e_h.detach().numpy(), t_h.detach().numpy(), rtol=1e-12)


@pytest.mark.parametrize("kwargs", [{}, {"bias": True}, {"bias": True, "nonlinearity": "relu"}])
def test_rnn_cell_unbatched_samples(kwargs, torch_or_skip) -> None:
    torch = torch_or_skip
    e = elman.nn.RNNCell(5, 10, dtype=elman.float64, **kwargs)
    t = copy_into_torch(e, torch.nn.RNNCell(5, 10, dtype=torch.float64, **kwargs))
    x, h = torch.randn(5, dtype=torch.float64), torch.randn(10, dtype=torch.float64)
    got = e(_e(x), _e(h)).detach().numpy()
    np.testing.assert_allclose(got, t(x, h).detach().numpy(), rtol=1e-12)
    batched = e(_e(x).unsqueeze(0), _e(h).unsqueeze(0)).squeeze(0).detach().numpy()
    assert np.array_equal(batched, got)


# (constructor args, constructor kwargs, forward input shapes or None, error type, pattern)
RNN_ERRORS = [
    ((10, 0, 1), {}, None, ValueError, "hidden_size must be greater than zero"),
    ((10, 10, 0), {}, None, ValueError, "num_layers must be greater than zero"),
    ((3, 5), {"bias": 0}, None, TypeError, "bias should be of type bool, got: int"),
    ((3, 5), {"bias": 1}, None, TypeError, "bias should be of type bool, got: int"),
    ((3, 5), {"bias": "True"}, None, TypeError, "bias should be of type bool, got: str"),
    ((3, 5), {"batch_first": 0}, None, TypeError, "batch_first should be of type bool, got: int"),
    ((3, 5), {"batch_first": 1}, None, TypeError, "batch_first should be of type bool, got: int"),
    ((3, 5), {"batch_first": "False"}, None, TypeError, "batch_first should be of type bool"),
    ((3.0, 5), {}, None, TypeError, "input_size should be of type int, got: float"),
    (("10", 5), {}, None, TypeError, "input_size should be of type int, got: str"),
    ((0, 5), {}, None, ValueError, "input_size must be greater than zero"),
    ((-1, 5), {}, None, ValueError, "input_size must be greater than zero"),
    ((3, 5.0), {}, None, TypeError, "hidden_size should be of type int, got: float"),
    (
        (3, 5),
        {},
        [(2, 4, 3)],  # a float64 input to a float32 RNN
        ValueError,
        r"RNN input dtype .* does not match weight dtype .* "
        r"Convert input: input\.to\(.*\), or convert model: model\.to\(.*\)",
    ),
]
CELL_ERRORS = [
    (
        (10, 20),
        [(3, 11), (3, 20)],
        RuntimeError,
        "input has inconsistent input_size: got 11 expected 10",
    ),
    (
        (10, 20),
        [(3, 10), (3, 21)],
        RuntimeError,
        "hidden0 has inconsistent hidden_size: got 21, expected 20",
    ),
    (
        (10, 20),
        [(3, 10), (5, 20)],
        RuntimeError,
        "Input batch size 3 doesn't match hidden0 batch size 5",
    ),
    (
        (10, 20),
        [(3, 10), (3, 1, 1, 20)],
        ValueError,
        "Expected hidden to be 1D or 2D, got 4D instead",
    ),
    (
        (10, 20, "relu"),
        [(3, 10), (3, 21)],
        RuntimeError,
        "hidden0 has inconsistent hidden_size: got 21, expected 20",
    ),
    (
        (10, 20, "tanh"),
        [(3, 10), (3, 21)],
        RuntimeError,
        "hidden0 has inconsistent hidden_size: got 21, expected 20",
    ),
]


def _raises(fn: Any) -> BaseException:
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the exception is the result
        return e
    raise AssertionError("no exception")


@pytest.mark.parametrize("args,kwargs,inputs,error,pattern", RNN_ERRORS)
def test_rnn_error_inputs(args, kwargs, inputs, error, pattern, torch_or_skip) -> None:
    torch = torch_or_skip

    def run(lib: Any, dtype: Any) -> None:
        m = lib.nn.RNN(*args, **kwargs)
        if inputs:
            m(*(lib.zeros(*s, dtype=dtype) for s in inputs))

    t_err = _raises(lambda: run(torch, torch.float64))
    e_err = _raises(lambda: run(elman, elman.float64))
    assert type(t_err) is error and re.search(pattern, str(t_err)), t_err
    assert type(e_err) is error and re.search(pattern, str(e_err)), e_err


@pytest.mark.parametrize("args,inputs,error,pattern", CELL_ERRORS)
def test_rnn_cell_error_inputs(args, inputs, error, pattern, torch_or_skip) -> None:
    torch = torch_or_skip

    def run(lib: Any) -> None:
        lib.nn.RNNCell(*args)(*(lib.zeros(*s) for s in inputs))

    t_err, e_err = _raises(lambda: run(torch)), _raises(lambda: run(elman))
    assert type(t_err) is error and re.search(pattern, str(t_err)), t_err
    if len(args) == 3:  # the third positional argument is bias: torch takes 'relu' as True
        # a deliberate difference (docs/differences.md): elman checks bias when building
        error, pattern = TypeError, "bias should be of type bool, got: str"
    assert type(e_err) is error and re.search(pattern, str(e_err)), e_err
