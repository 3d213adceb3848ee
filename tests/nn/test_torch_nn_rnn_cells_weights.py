"""More of torch's ``test_nn.py`` ``TestNN`` RNN tests on a CPU: cells, forward errors, and
weights that are tied, replaced, deleted or None.

test_torch_nn_rnn_behaviours.py holds the first part of the ``TestNN`` RNN block; these are
the tests it left out. Several of them are marked for cuDNN or CUDA in torch but assert
something a CPU module does too; that part is stated here (run on elman, and on torch when
installed). The whole ``TestNN`` RNN block and what became of each test:

==========================================  ===============================================
torch test (TestNN)                         here or elsewhere
==========================================  ===============================================
test_RNN_cell                               test_cell_steps_and_backward (numbers vs torch)
test_RNN_cell_forward_zero_hidden_size      deliberate difference: elman refuses
                                            RNNCell(10, 0) at construction (as nn.RNN does
                                            in both); test_cell_zero_hidden_size
test_RNN_cell_no_broadcasting               test_cell_does_not_broadcast
test_cudnn_forward_exception (runs on CPU)  test_forward_errors_name_the_sizes
test_cudnn_weight_tying (CUDA)              CPU part: test_tied_weights_train_as_torch
test_cudnn_weight_format (CUDA)             CPU part: test_replaced_weight_data_changes_...
test_partial_flat_weights (CUDA, LSTM)      CPU part for RNN: test_deleted_weight_...
test_rnn_args_check, test_rnn_initial_      test_torch_nn_rnn_behaviours.py
hidden_state, test_projections_errors_on_
gru_and_rnn, test_RNN_input_size_zero,
test_error_RNN_seq_len_zero, test_RNN_
dropout, test_RNN_dropout_state, test_RNN_
change_dropout, test_RNN_cpu_vs_cudnn_*,
test_to
test_rnn_check_device, test_cudnn_rnn_      not applicable: several GPUs
dropout_states_device
test_rnn_weight_norm, test_RNN_cudnn_       not applicable: elman has no weight_norm (and
weight_norm                                 torch's test reparametrizes an LSTM)
test_LSTM_cell*, test_projections_lstm_*,   not applicable: LSTM only
test_pack_sequence_batch_sizes_throw
==========================================  ===============================================
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

import elman
from conftest import copy_into_torch, requires_torch

LIBS = ["elman", "torch"]


def _lib(name: str, request: pytest.FixtureRequest) -> Any:
    return elman if name == "elman" else request.getfixturevalue("torch_or_skip")


def _np(t: Any) -> np.ndarray:
    return np.array(t.detach().numpy(), copy=True)


@requires_torch
@pytest.mark.parametrize("bias", [True, False])
def test_cell_steps_and_backward(bias: bool, torch_or_skip: Any) -> None:
    """test_RNN_cell: six steps of an RNNCell from a given hx, then backward; the final
    state and every gradient are torch's."""
    torch = torch_or_skip
    e = elman.nn.RNNCell(10, 20, bias=bias, dtype=elman.float64)
    t = copy_into_torch(e, torch.nn.RNNCell(10, 20, bias=bias, dtype=torch.float64))
    rng = np.random.default_rng(11)
    x, h0 = rng.standard_normal((3, 10)), rng.standard_normal((3, 20))
    got = []
    for lib, cell in ((elman, e), (torch, t)):
        xi, hi = lib.tensor(x, requires_grad=True), lib.tensor(h0, requires_grad=True)
        h = hi
        for _ in range(6):
            h = cell(xi, h)
        h.sum().backward()
        got.append([_np(h), _np(xi.grad), _np(hi.grad)] + [_np(p.grad) for p in cell.parameters()])
    for a, b in zip(*got, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "x_shape,h_shape",
    [((3, 10), (1, 20)), ((3, 10), (3, 1)), ((3, 1), (3, 20))],
    ids=["batch", "hidden size", "input size"],
)
@pytest.mark.parametrize("libname", LIBS)
def test_cell_does_not_broadcast(libname, x_shape, h_shape, request) -> None:
    """test_RNN_cell_no_broadcasting: an hx batch of 1, an hx of 1 feature or an input of
    1 feature is a RuntimeError, never broadcast."""
    lib = _lib(libname, request)
    cell = lib.nn.RNNCell(10, 20)
    with pytest.raises(RuntimeError):
        cell(lib.randn(*x_shape), lib.randn(*h_shape))


@pytest.mark.parametrize("libname", LIBS)
def test_cell_zero_hidden_size(libname, request) -> None:
    """test_RNN_cell_forward_zero_hidden_size asserts torch's RNNCell(10, 0) returns a
    (3, 0) state; elman refuses the size when the cell is built, as both refuse
    nn.RNN(10, 0) (docs/differences.md, RNNCell)."""
    lib = _lib(libname, request)
    for nl in ("relu", "tanh"):
        if lib is elman:
            with pytest.raises(ValueError, match="hidden_size must be greater than zero"):
                lib.nn.RNNCell(10, 0, nonlinearity=nl)
        else:
            out = lib.nn.RNNCell(10, 0, nonlinearity=nl)(lib.randn(3, 10), lib.randn(3, 0))
            assert tuple(out.shape) == (3, 0)
        with pytest.raises(ValueError, match="hidden_size must be greater than zero"):
            lib.nn.RNN(10, 0, nonlinearity=nl)


@pytest.mark.parametrize("libname", LIBS)
def test_forward_errors_name_the_sizes(libname, request) -> None:
    """test_cudnn_forward_exception (it runs on the CPU too): a wrong hidden size and a
    wrong input size are RuntimeErrors with torch's texts."""
    lib = _lib(libname, request)
    rnn = lib.nn.RNN(10, 20, batch_first=True)
    with pytest.raises(RuntimeError, match=r"Expected hidden.*size.*got"):
        rnn(lib.randn(2, 3, 10), lib.zeros(1, 2, 19))
    with pytest.raises(RuntimeError, match=re.escape("input.size(-1) must be equal to input_size")):
        rnn(lib.randn(2, 3, 3))


@requires_torch
def test_tied_weights_train_as_torch(torch_or_skip: Any) -> None:
    """The CPU half of test_cudnn_weight_tying: one Parameter under two names
    (``bias_ih_l0_reverse = bias_ih_l0``) is listed once, gets both uses' gradient, and an
    SGD step moves both names; outputs before and after the step are torch's."""
    torch = torch_or_skip
    kw = {"batch_first": True, "bidirectional": True}
    e = elman.nn.RNN(10, 20, dtype=elman.float64, **kw)
    t = copy_into_torch(e, torch.nn.RNN(10, 20, dtype=torch.float64, **kw))
    rng = np.random.default_rng(4)
    x, h = rng.standard_normal((5, 4, 10)), rng.standard_normal((2, 5, 20))
    got = []
    for lib, m in ((elman, e), (torch, t)):
        m.bias_ih_l0_reverse = m.bias_ih_l0
        assert len(list(m.parameters())) == 7
        opt = lib.optim.SGD(m.parameters(), lr=0.1)
        xi, hi = lib.tensor(x, requires_grad=True), lib.tensor(h, requires_grad=True)
        out = m(xi, hi)
        out[0].sum().backward()
        opt.step()
        assert m.bias_ih_l0_reverse is m.bias_ih_l0
        got.append([_np(out[0]), _np(m(xi, hi)[0]), _np(m.bias_ih_l0), _np(xi.grad)])
    for a, b in zip(*got, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("libname", LIBS)
def test_replaced_weight_data_changes_nothing(libname, request) -> None:
    """The CPU half of test_cudnn_weight_format: a weight whose data is replaced by a copy
    (so it is no longer part of one flat buffer) gives the same outputs and gradients, and
    the parameter keeps sharing the new data."""
    lib = _lib(libname, request)
    rnn = lib.nn.RNN(10, 20, batch_first=True).to(lib.float64)
    x = lib.randn(5, 4, 10, dtype=lib.float64, requires_grad=True)
    hx = lib.randn(1, 5, 20, dtype=lib.float64, requires_grad=True)
    tensors = [x, hx, *rnn.parameters()]

    def run() -> list[np.ndarray]:
        for v in tensors:
            v.grad = None
        out = rnn(x, hx)
        out[0].sum().backward()
        return [_np(out[0]), _np(out[1])] + [_np(v.grad) for v in tensors]

    before = run()
    weight = tensors[4]  # bias_ih_l0
    with lib.no_grad():
        new_data = weight.data.clone()
        weight.data = new_data
    for _ in range(2):
        for a, b in zip(before, run(), strict=True):
            np.testing.assert_array_equal(a, b)
    with lib.no_grad():
        new_data.fill_(4)
    np.testing.assert_array_equal(_np(weight), np.full(20, 4.0))


@pytest.mark.parametrize("libname", LIBS)
def test_deleted_weight_can_be_restored(libname, request) -> None:
    """The CPU part of test_partial_flat_weights, for RNN: a module with a weight deleted
    still converts (``double()``), and assigning the weight back gives the old outputs."""
    lib = _lib(libname, request)
    m = lib.nn.RNN(10, 6, 2)
    x = lib.randn(3, 2, 10)
    expected = _np(m(x)[0]).astype(np.float64)
    weight = m.weight_hh_l0
    del m.weight_hh_l0
    assert not hasattr(m, "weight_hh_l0")
    m.double()
    m.weight_hh_l0 = lib.nn.Parameter(weight.detach().double())
    np.testing.assert_allclose(_np(m(x.double())[0]), expected, rtol=1e-5, atol=1e-6)


def test_missing_or_none_weight_is_named() -> None:
    """Calling an RNN with a weight deleted or set to None names the weight (elman used to
    fail inside with ``KeyError`` or ``'NoneType' object has no attribute 'ravel'``; torch
    runs a deleted weight's stale copy, and for None says "expected Tensor as element 1 in
    argument 2, but got NoneType")."""
    from elman.nn.utils.rnn import pack_padded_sequence

    m = elman.nn.RNN(3, 4, 2)
    x = elman.randn(5, 2, 3)
    del m.weight_hh_l1
    for call in (
        lambda: m(x),
        lambda: m(pack_padded_sequence(x, [5, 3])),
        lambda: m(x, lengths=[5, 3]),
    ):
        with pytest.raises(AttributeError, match="RNN has no weight_hh_l1 .it was deleted."):
            call()
    m = elman.nn.RNN(3, 4, 2)
    m.weight_hh_l1 = None  # a registered parameter set to None stays registered
    for call in (lambda: m(x), lambda: m(pack_padded_sequence(x, [5, 3]))):
        with pytest.raises(TypeError, match="RNN weight_hh_l1 is None"):
            call()


@requires_torch
def test_none_weight_is_a_type_error_in_torch_too(torch_or_skip: Any) -> None:
    torch = torch_or_skip
    m = torch.nn.RNN(3, 4, 2)
    m.weight_hh_l1 = None
    with pytest.raises(TypeError):
        m(torch.randn(5, 2, 3))
