"""The RNN behaviours of torch's ``test/test_nn.py`` class ``TestNNDeviceType``, on a CPU.

``TestNNDeviceType`` holds the per-device tests (instantiated for the CPU, CUDA, MPS...).
Every test in it that builds an RNN, an RNN cell or a packed sequence is listed here with
what became of it; the behaviour is stated in our own tests (run on elman, and on torch when
installed, so each test also proves that torch behaves as stated), or the reason it does not
apply is given. The class's other tests (convolutions, norms, losses, upsampling,
transformers, ...) build no recurrent module.

=============================================  ============================================
torch test                                     here
=============================================  ============================================
test_rnn_retain_variables                      ported (its nn.RNN case; LSTM and GRU are not
(and ``_test_rnn_retain_variables``)           in elman): test_retained_graph_backward_...
test_variable_sequence                         ported for nn.RNN: test_packed_batch_equals_...
                                               (torch's runs an LSTM, also with proj_size,
                                               which RNN refuses)
test_save_lstm_compatibility                   ported for nn.RNN: test_state_without_proj_...
                                               (torch's RNNBase.__setstate__, shared by RNN,
                                               restores ``proj_size`` missing from pre-1.8
                                               pickles)
test_LSTM_grad_and_gradgrad,                   first-order half ported for nn.RNN:
test_GRU_grad_and_gradgrad                     test_module_gradcheck; second order does not
                                               apply: elman has no higher-order gradients
                                               (docs/differences.md, "Autograd")
test_LSTM_differentiable_backward_using_oneDNN not applicable: LSTM, oneDNN, and a backward
                                               with ``create_graph=True`` (second order)
test_rnn_fused                                 not applicable: CUDA only, GRU and LSTM
                                               (CPU against the device without cuDNN); the
                                               RNN case of TestNN's CPU-vs-cuDNN test is in
                                               test_torch_nn_rnn_behaviours.py
test_lstmcell_backward_only_one_output_grad    not applicable: CUDA only; an LSTMCell has two
                                               outputs, an RNNCell one
test_device_mask                               not applicable: CUDA only (a PackedSequence
                                               moved to the GPU); ``PackedSequence.to`` on the
                                               CPU is in test_to_and_packing_order.py
test_overwrite_module_params_on_conversion_    not applicable: CUDA only, and a Linear
cpu_device
=============================================  ============================================

The ``TestNN`` RNN tests (the same file's device-less class) are in
test_torch_nn_rnn_behaviours.py, the ``module_db`` entries in test_torch_module_db.py.
"""

from __future__ import annotations

import copy
import io
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


@pytest.mark.parametrize("libname", LIBS)
def test_retained_graph_backward_repeats_exactly(libname, request) -> None:
    """test_rnn_retain_variables: backward through a retained graph five times gives the
    same input and parameter gradients each time (bit for bit)."""
    lib = _lib(libname, request)
    rnn = lib.nn.RNN(10, 20, num_layers=2).to(lib.float64)
    x = lib.randn(5, 6, 10, dtype=lib.float64, requires_grad=True)
    out = rnn(x)
    out[0].sum().backward(retain_graph=True)
    first = [_np(x.grad)] + [_np(p.grad) for p in rnn.parameters()]
    for _ in range(4):
        rnn.zero_grad()
        x.grad = None
        out[0].sum().backward(retain_graph=True)
        again = [_np(x.grad)] + [_np(p.grad) for p in rnn.parameters()]
        for a, b in zip(first, again, strict=True):
            np.testing.assert_array_equal(a, b)


@requires_torch
def test_retained_graph_gradients_are_torchs(torch_or_skip) -> None:
    """The gradients of that retained-graph backward, elman against torch."""
    torch = torch_or_skip
    e = elman.nn.RNN(10, 20, num_layers=2, dtype=elman.float64)
    t = copy_into_torch(e, torch.nn.RNN(10, 20, num_layers=2, dtype=torch.float64))
    x = np.random.default_rng(3).standard_normal((5, 6, 10))
    grads = []
    for lib, m in ((elman, e), (torch, t)):
        xi = lib.tensor(x, requires_grad=True)
        out = m(xi)
        for _ in range(2):
            out[0].sum().backward(retain_graph=True)  # accumulates: twice the gradient
        grads.append([_np(xi.grad)] + [_np(p.grad) for p in m.parameters()])
    for a, b in zip(*grads, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def _sequences_alone(lib: Any, rnn: Any, x: Any, lengths: list[int], h0: Any) -> tuple:
    """Each sequence run by itself: (padded outputs, h_n, and the sum of every output)."""
    T, D = max(lengths), 2 if rnn.bidirectional else 1
    outs = np.zeros((T, len(lengths), D * rnn.hidden_size))
    hids, total = [], 0
    for i, n in enumerate(lengths):
        hi = None if h0 is None else h0[:, i : i + 1, :]
        out, h = rnn(x[:n, i : i + 1], hi)
        outs[:n, i] = _np(out)[:, 0]
        hids.append(_np(h))
        total = total + out.sum()
    return outs, np.concatenate(hids, axis=1), total


VARIABLE_LENGTHS = [
    (True, [5]),
    (False, [5]),
    (True, [10, 10, 6, 2, 2, 1, 1]),
    (False, [10, 10, 6, 2, 2, 1, 1]),
    (False, [2, 1, 3, 2, 10, 5, 3]),
]


# forward, input-gradient and parameter-gradient tolerances (torch's test uses float32
# with 1e-5 absolute for values and 2e-4 for parameter gradients)
_TOL = {"float64": (1e-12, 1e-11, 1e-11), "float32": (1e-5, 1e-5, 2e-4)}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("default_h0", [True, False])
@pytest.mark.parametrize("enforce_sorted,lengths", VARIABLE_LENGTHS)
@pytest.mark.parametrize("libname", LIBS)
def test_packed_batch_equals_one_sequence_at_a_time(
    libname, enforce_sorted, lengths, default_h0, dtype, request
) -> None:
    """test_variable_sequence: a packed batch (sorted or not, with or without h0) gives each
    sequence's own outputs (zeros past its end), its own h_n, the lengths back, and the
    same input and parameter gradients as running the sequences one by one."""
    lib = _lib(libname, request)
    dt = getattr(lib, dtype)
    fwd, gin, gpar = _TOL[dtype]
    rnn_utils = lib.nn.utils.rnn
    lib.manual_seed(5)
    packed_rnn = lib.nn.RNN(3, 4, num_layers=2, bidirectional=True).to(dt)
    alone_rnn = copy.deepcopy(packed_rnn)
    x = lib.randn(max(lengths), len(lengths), 3, dtype=dt, requires_grad=True)
    h0 = None if default_h0 else lib.randn(4, len(lengths), 4, dtype=dt)

    want_out, want_h, total = _sequences_alone(lib, alone_rnn, x, lengths, h0)
    packed = rnn_utils.pack_padded_sequence(x, lengths, enforce_sorted=enforce_sorted)
    packed_out, packed_h = packed_rnn(packed, h0)
    unpacked, unpacked_len = rnn_utils.pad_packed_sequence(packed_out)
    np.testing.assert_allclose(_np(packed_h), want_h, rtol=fwd, atol=fwd)
    np.testing.assert_allclose(_np(unpacked), want_out, rtol=fwd, atol=fwd)
    assert [int(n) for n in unpacked_len] == lengths

    total.backward()
    grad_x = _np(x.grad)
    x.grad = None
    unpacked.sum().backward()
    np.testing.assert_allclose(_np(x.grad), grad_x, rtol=gin, atol=gin)
    for p1, p2 in zip(packed_rnn.parameters(), alone_rnn.parameters(), strict=True):
        np.testing.assert_allclose(_np(p1.grad), _np(p2.grad), rtol=gpar, atol=gpar)


@requires_torch
@pytest.mark.parametrize("enforce_sorted,lengths", VARIABLE_LENGTHS[2:])
def test_packed_batch_numbers_are_torchs(enforce_sorted, lengths, torch_or_skip) -> None:
    """The packed run of test_variable_sequence, elman against torch: outputs, h_n and
    the gradients of the input, h0 and every parameter."""
    torch = torch_or_skip
    kw = {"num_layers": 2, "bidirectional": True}
    e = elman.nn.RNN(3, 4, dtype=elman.float64, **kw)
    t = copy_into_torch(e, torch.nn.RNN(3, 4, dtype=torch.float64, **kw))
    rng = np.random.default_rng(8)
    x = rng.standard_normal((max(lengths), len(lengths), 3))
    h = rng.standard_normal((4, len(lengths), 4))
    got = []
    for lib, m in ((elman, e), (torch, t)):
        xi, hi = lib.tensor(x, requires_grad=True), lib.tensor(h, requires_grad=True)
        packed = lib.nn.utils.rnn.pack_padded_sequence(xi, lengths, enforce_sorted=enforce_sorted)
        out, hn = m(packed, hi)
        unpacked, _ = lib.nn.utils.rnn.pad_packed_sequence(out)
        (unpacked.sum() + (hn * hn).sum()).backward()
        got.append([_np(unpacked), _np(hn), _np(xi.grad), _np(hi.grad)])
        got[-1] += [_np(p.grad) for p in m.parameters()]
    for a, b in zip(*got, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("libname", LIBS)
def test_state_without_proj_size_loads(libname, request) -> None:
    """test_save_lstm_compatibility, for RNN: a module state pickled before torch 1.8 has
    no ``proj_size``; restoring it sets ``proj_size = 0`` and the module computes as before."""
    lib = _lib(libname, request)
    model = lib.nn.RNN(2, 3)
    x = lib.randn(32, 5, 2)
    expected = model(x)
    state = dict(model.__dict__)
    del state["proj_size"]
    loaded = lib.nn.RNN.__new__(lib.nn.RNN)  # as unpickling builds it: no __init__
    loaded.__setstate__(state)
    assert loaded.proj_size == 0
    result = loaded(x)
    np.testing.assert_array_equal(_np(result[0]), _np(expected[0]))
    np.testing.assert_array_equal(_np(result[1]), _np(expected[1]))


@requires_torch
def test_torch_pickle_without_proj_size_loads(torch_or_skip) -> None:
    """The same through a file: ``torch.save(model)`` of an RNN whose state lacks
    ``proj_size`` (as torch < 1.8 wrote it) opens with ``elman.load`` and gives torch's
    outputs."""
    torch = torch_or_skip
    t = torch.nn.RNN(2, 3, dtype=torch.float64)
    del t.__dict__["proj_size"]
    buf = io.BytesIO()
    torch.save(t, buf)
    buf.seek(0)
    with elman.serialization.safe_globals([elman.nn.RNN]):
        e = elman.load(buf)
    assert e.proj_size == 0
    x = np.random.default_rng(2).standard_normal((7, 5, 2))
    t.proj_size = 0  # torch's own module needs it back to run
    want = t(torch.from_numpy(x))
    got = e(elman.from_numpy(x))
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(_np(a), _np(b), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("bias", [True, False])
def test_module_gradcheck(bias: bool) -> None:
    """The first-order half of test_LSTM_grad_and_gradgrad / test_GRU_grad_and_gradgrad,
    for RNN: float64 finite differences agree with the backward of the whole module (both
    outputs, with respect to the input and every parameter)."""
    rnn = elman.nn.RNN(4, 4, bias=bias, dtype=elman.float64)
    x = elman.rand(1, 3, 4, dtype=elman.float64, requires_grad=True)
    assert elman.autograd.gradcheck(lambda x, *p: rnn(x), [x, *rnn.parameters()])
