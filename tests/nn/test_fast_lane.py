"""The fast lane of RNN.forward (nn/_rnn_fast.py) and the flat weight buffer behind it.

Every result of the lane is compared with the general path (the lane switched off) on the
same module and inputs: outputs, h_n and every gradient. The parity tests against torch and
the golden fixtures run through the lane as well (their shapes are small).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

import elman
from conftest import assert_close
from elman.nn import rnn as rnn_module
from elman.nn._rnn_fast import FusedRNNFunction

pytestmark = pytest.mark.skipif(not elman._kernels.JIT, reason="the lane needs numba")

CASES = {
    "time-major": dict(num_layers=1),
    "2layers-bi": dict(num_layers=2, bidirectional=True),
    "relu-nobias": dict(num_layers=2, nonlinearity="relu", bias=False),
    "batch-first": dict(num_layers=2, batch_first=True),
    "3layers-bi-batch-first": dict(num_layers=3, bidirectional=True, batch_first=True),
}


def _inputs(rnn: Any, L: int, N: int | None, dtype: Any, hx: bool, seed: int) -> tuple:
    rng = np.random.default_rng(seed)
    D = 2 if rnn.bidirectional else 1
    if N is None:
        x = rng.standard_normal((L, rnn.input_size))
        h = rng.standard_normal((rnn.num_layers * D, rnn.hidden_size))
    else:
        shape = (N, L) if rnn.batch_first else (L, N)
        x = rng.standard_normal((*shape, rnn.input_size))
        h = rng.standard_normal((rnn.num_layers * D, N, rnn.hidden_size))
    return x.astype(dtype), (h.astype(dtype) if hx else None)


def _run(rnn: Any, x: np.ndarray, h: np.ndarray | None, seed: int) -> list[np.ndarray]:
    """Forward and backward (through both outputs); returns out, h_n and all gradients."""
    for p in rnn.parameters():
        p.grad = None
    xt = elman.tensor(x, requires_grad=True)
    ht = None if h is None else elman.tensor(h, requires_grad=True)
    out, hn = rnn(xt, ht)
    rng = np.random.default_rng(seed + 1)
    g_out = rng.standard_normal(out.shape).astype(x.dtype)
    g_hn = rng.standard_normal(hn.shape).astype(x.dtype)
    elman.autograd.backward([out, hn], [g_out, g_hn])
    grads = [xt.grad.numpy()] + ([] if ht is None else [ht.grad.numpy()])
    grads += [p.grad.numpy() for p in rnn.parameters()]
    return [out.detach().numpy(), hn.detach().numpy(), *grads]


def _general(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rnn_module, "fast_forward", lambda *args: None)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("hx", [False, True])
@pytest.mark.parametrize("case", list(CASES))
def test_lane_equals_the_general_path(
    case: str, hx: bool, dtype: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    elman.manual_seed(3)
    rnn = elman.nn.RNN(5, 4, dtype=dtype, **CASES[case])
    x, h = _inputs(rnn, 6, 3, dtype, hx, seed=7)
    out, _ = rnn(elman.tensor(x, requires_grad=True), None if h is None else elman.tensor(h))
    assert out._grad_fn.fn is FusedRNNFunction  # the lane ran
    fast = _run(rnn, x, h, seed=7)
    _general(monkeypatch)
    out, _ = rnn(elman.tensor(x, requires_grad=True))
    assert out._grad_fn.fn is not FusedRNNFunction
    for a, b in zip(fast, _run(rnn, x, h, seed=7), strict=True):
        assert_close(a, b, case)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_unbatched_and_long_sequences(bidirectional: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Unbatched input; and 900 steps of 3 layers, where the forward is fused but the
    backward takes the layered path (T * layers * directions > 2048)."""
    elman.manual_seed(4)
    rnn = elman.nn.RNN(3, 4, num_layers=3, bidirectional=bidirectional, dtype="float64")
    runs = [
        (_inputs(rnn, 7, None, "float64", True, 1)),
        (_inputs(rnn, 900, 1, "float64", False, 2)),
    ]
    fast = [_run(rnn, x, h, seed=1) for x, h in runs]
    _general(monkeypatch)
    for got, (x, h) in zip(fast, runs, strict=True):
        for a, b in zip(got, _run(rnn, x, h, seed=1), strict=True):
            assert_close(a, b)


@pytest.mark.parametrize("hidden, layers", [(128, 2), (256, 2), (96, 1)])
def test_single_sequence_steps_through_the_lane(
    hidden: int, layers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Streaming shapes (one sequence, a step or a few) run fused (forward; the backward too
    unless its block is large) and equal the general path; three steps of (256, 2 layers)
    are past the fused threshold (layered)."""
    elman.manual_seed(8)
    rnn = elman.nn.RNN(8, hidden, num_layers=layers, dtype="float64")
    runs = [_inputs(rnn, L, 1, "float64", True, seed=L) for L in (1, 3)]
    fast = [_run(rnn, x, h, seed=2) for x, h in runs]
    assert all(plan.fused for key, plan in rnn._fast_plans.items() if key[0][0] == 1)
    _general(monkeypatch)
    for got, (x, h) in zip(fast, runs, strict=True):
        for a, b in zip(got, _run(rnn, x, h, seed=2), strict=True):
            assert_close(a, b)


def _one_output(rnn: Any, x: np.ndarray, which: int) -> list[np.ndarray]:
    """Backward from one output alone (0: out, 1: h_n): the other gets no gradient."""
    for p in rnn.parameters():
        p.grad = None
    xt = elman.tensor(x, requires_grad=True)
    result = rnn(xt)
    g = np.random.default_rng(which).standard_normal(result[which].shape).astype(x.dtype)
    result[which].backward(g)
    return [xt.grad.numpy(), *[p.grad.numpy() for p in rnn.parameters()]]


@pytest.mark.parametrize("which", [0, 1])
@pytest.mark.parametrize("L, N", [(6, 3), (7, None), (900, 1)])
def test_backward_from_one_output(
    which: int, L: int, N: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lane's backward gets None for the output no gradient reached (it asks so with
    ctx.materialize_grads) and uses zeros of its own; the plan's shared zeros (also the
    default h0) stay zeros. (900, 1): the layered backward."""
    elman.manual_seed(6)
    rnn = elman.nn.RNN(3, 4, num_layers=2, bidirectional=True, dtype="float64")
    x, _ = _inputs(rnn, L, N, "float64", False, seed=which)
    fast = [_one_output(rnn, x, which) for _ in range(2)]  # twice: the zeros were not written
    for plan in rnn._fast_plans.values():
        assert not plan.zeros.any()
    _general(monkeypatch)
    slow = _one_output(rnn, x, which)
    for run in fast:
        for a, b in zip(run, slow, strict=True):
            assert_close(a, b)


def test_no_grad_and_frozen_parameters(monkeypatch: pytest.MonkeyPatch) -> None:
    elman.manual_seed(5)
    rnn = elman.nn.RNN(3, 4, num_layers=2)
    x = np.random.default_rng(0).standard_normal((5, 2, 3)).astype(np.float32)
    with elman.no_grad():
        out, hn = rnn(elman.tensor(x))
    assert out.grad_fn is None and not out.requires_grad
    assert_close(out, rnn(elman.tensor(x))[0].detach())
    for p in rnn.parameters():
        p.requires_grad_(False)
    out, _ = rnn(elman.tensor(x))
    assert not out.requires_grad  # nothing to differentiate: no node
    out, _ = rnn(elman.tensor(x, requires_grad=True))
    out.sum().backward()
    assert all(p.grad is None for p in rnn.parameters())


def test_parameter_gradients_do_not_share_memory() -> None:
    """b_ih and b_hh get the same gradient values, in separate arrays."""
    rnn = elman.nn.RNN(3, 4)
    out, _ = rnn(elman.randn(5, 2, 3))
    out.sum().backward()
    assert_close(rnn.bias_ih_l0.grad, rnn.bias_hh_l0.grad)
    rnn.bias_ih_l0.grad.numpy()[...] = 0
    assert np.abs(rnn.bias_hh_l0.grad.numpy()).sum() > 0
    grads = [p.grad.numpy() for p in rnn.parameters()]
    for i, a in enumerate(grads):
        for b in grads[i + 1 :]:
            assert not np.shares_memory(a, b)
    out, _ = rnn(elman.randn(5, 2, 3))  # a second backward accumulates
    before = rnn.weight_hh_l0.grad.numpy().copy()
    out.sum().backward()
    assert not np.allclose(rnn.weight_hh_l0.grad.numpy(), before)


def _is_flat(rnn: Any) -> bool:
    return rnn._flat_buffer() is not None and all(
        np.shares_memory(p.detach().numpy(), rnn._flat[0]) for p in rnn.parameters()
    )


def test_parameters_live_in_one_buffer_and_replacements_are_honoured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    elman.manual_seed(6)
    rnn = elman.nn.RNN(3, 4, num_layers=2)
    assert _is_flat(rnn)
    x = elman.randn(5, 2, 3)
    # .data replaced: the lane must not read the stale buffer
    eye = np.eye(4, dtype=np.float32)
    rnn.weight_hh_l1.data = eye
    assert rnn._flat_buffer() is None
    out_replaced = rnn(x)[0].detach().numpy()
    rnn.flatten_parameters()
    assert _is_flat(rnn)
    np.testing.assert_array_equal(rnn.weight_hh_l1.detach().numpy(), eye)
    np.testing.assert_array_equal(rnn(x)[0].detach().numpy(), out_replaced)
    # a Parameter replaced by assignment
    rnn.weight_ih_l0 = elman.nn.Parameter(np.zeros((4, 3), np.float32))
    assert rnn._flat_buffer() is None
    assert np.abs(rnn(x)[0].detach().numpy() - out_replaced).max() > 1e-3
    rnn.flatten_parameters()
    assert _is_flat(rnn)
    # in-place updates keep the buffer: optimizer steps, load_state_dict, init
    opt = elman.optim.SGD(rnn.parameters(), lr=0.1)
    rnn(x)[0].sum().backward()
    opt.step()
    rnn.load_state_dict(copy.deepcopy(rnn.state_dict()))
    elman.nn.init.eye_(rnn.weight_hh_l0)
    assert _is_flat(rnn)
    fast = rnn(x)[0].detach().numpy()
    _general(monkeypatch)
    np.testing.assert_array_equal(rnn(x)[0].detach().numpy(), fast)


def test_dtype_changes_and_copies_keep_a_flat_buffer() -> None:
    rnn = elman.nn.RNN(3, 4, num_layers=2, bidirectional=True)
    x = np.random.default_rng(1).standard_normal((4, 2, 3))
    expected = rnn.double()(elman.tensor(x))[0].detach().numpy()
    assert _is_flat(rnn) and rnn._flat[0].dtype == np.float64
    twin = copy.deepcopy(rnn)
    assert _is_flat(twin) and not np.shares_memory(twin._flat[0], rnn._flat[0])
    np.testing.assert_array_equal(twin(elman.tensor(x))[0].detach().numpy(), expected)
    with pytest.raises(ValueError, match="float64"):
        rnn.float()(elman.tensor(x))  # float32 weights, float64 input: the general error
    assert _is_flat(rnn) and rnn._flat[0].dtype == np.float32


def test_errors_are_raised_on_every_call_not_only_the_first() -> None:
    rnn = elman.nn.RNN(3, 4)
    good = elman.randn(5, 2, 3)
    rnn(good)
    for _ in range(2):
        with pytest.raises(RuntimeError, match="input.size\\(-1\\) must be equal to input_size"):
            rnn(elman.randn(5, 2, 4))
        with pytest.raises(RuntimeError, match="Expected hidden size"):
            rnn(good, elman.randn(1, 3, 4))
    rnn(good, elman.randn(1, 2, 4))  # the cached plans stay usable


@pytest.mark.parametrize(
    "L, N, hidden, bidirectional",
    [(5, 2, 4, False), (6, 3, 5, True), (900, 1, 4, False), (40, 16, 64, True)],
    ids=["fused", "fused-bi", "fused-forward-layered-backward", "layered"],
)
def test_dropout_in_training_through_the_lane(
    L: int, N: int, hidden: int, bidirectional: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dropout between layers in training runs in the lane: the same masks (drawn from the
    same stream position) and the same outputs and gradients as the general path."""
    elman.manual_seed(9)
    rnn = elman.nn.RNN(3, hidden, num_layers=3, dropout=0.4, bidirectional=bidirectional)
    rnn = rnn.double()
    x, h = _inputs(rnn, L, N, "float64", True, seed=4)
    elman.manual_seed(21)
    fast = _run(rnn, x, h, seed=4)
    out, _ = rnn(elman.tensor(x, requires_grad=True))
    assert out._grad_fn.fn is FusedRNNFunction
    after_fast = elman.random.default_generator.get_state()
    _general(monkeypatch)
    elman.manual_seed(21)
    slow = _run(rnn, x, h, seed=4)
    out, _ = rnn(elman.tensor(x, requires_grad=True))
    assert out._grad_fn.fn is not FusedRNNFunction
    np.testing.assert_array_equal(after_fast, elman.random.default_generator.get_state())
    for a, b in zip(fast, slow, strict=True):
        assert_close(a, b)
    rnn.eval()  # no masks: outputs no longer depend on the stream
    with elman.no_grad():
        assert_close(rnn(elman.tensor(x))[0], rnn(elman.tensor(x))[0])


@pytest.mark.parametrize(
    "shape",
    [(6, 48, 2, True, 3), (4, 64, 1, False, 1), (5, 260, 2, False, 2), (3, 130, 1, True, 16)],
    ids=["layered-bi", "layered-axpy", "layered-split", "layered-gemm"],
)
def test_layered_variants_through_the_lane(shape: tuple, monkeypatch: pytest.MonkeyPatch) -> None:
    I, H, layers, bi, N = shape
    elman.manual_seed(8)
    rnn = elman.nn.RNN(I, H, num_layers=layers, bidirectional=bi, dtype="float64")
    x, h = _inputs(rnn, 7, N, "float64", True, seed=3)
    out, _ = rnn(elman.tensor(x, requires_grad=True))
    assert out._grad_fn.fn is FusedRNNFunction
    fast = _run(rnn, x, h, seed=3)
    _general(monkeypatch)
    for a, b in zip(fast, _run(rnn, x, h, seed=3), strict=True):
        assert_close(a, b)


@pytest.mark.parametrize("sorted_", [True, False])
@pytest.mark.parametrize("hx", [False, True])
@pytest.mark.parametrize("hidden", [4, 40])
def test_packed_input_through_the_lane(
    sorted_: bool, hx: bool, hidden: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PackedSequence input: the lane (fused and layered) equals the general path, outputs
    and gradients, in the original batch order."""
    from elman.nn import _rnn_packed
    from elman.nn.utils.rnn import pack_padded_sequence

    elman.manual_seed(9)
    rnn = elman.nn.RNN(3, hidden, num_layers=2, bidirectional=True, dtype="float64")
    rng = np.random.default_rng(4)
    x = rng.standard_normal((6, 4, 3))
    lengths = [6, 5, 3, 1] if sorted_ else [3, 6, 1, 5]
    h = rng.standard_normal((4, 4, hidden)) if hx else None

    def run() -> list[np.ndarray]:
        for p in rnn.parameters():
            p.grad = None
        xt = elman.tensor(x, requires_grad=True)
        ht = None if h is None else elman.tensor(h, requires_grad=True)
        packed = pack_padded_sequence(xt, lengths, enforce_sorted=sorted_)
        out, hn = rnn(packed, ht)
        g = np.random.default_rng(5)
        g_out = g.standard_normal(out.data.shape)
        g_hn = g.standard_normal(hn.shape)
        elman.autograd.backward([out.data, hn], [g_out, g_hn])
        grads = [xt.grad.numpy()] + ([] if ht is None else [ht.grad.numpy()])
        return (
            [out.data.detach().numpy(), hn.detach().numpy()]
            + grads
            + [p.grad.numpy() for p in rnn.parameters()]
        )

    fast = run()
    monkeypatch.setattr(_rnn_packed, "fast_forward_packed", lambda *args: None)
    for a, b in zip(fast, run(), strict=True):
        assert_close(a, b)


def test_hand_built_packed_sequences_are_still_checked() -> None:
    from elman.nn.utils.rnn import PackedSequence, pack_padded_sequence

    rnn = elman.nn.RNN(3, 4)
    good = pack_padded_sequence(elman.randn(4, 2, 3), [4, 2])
    assert good._checked
    rnn(good)
    bad = PackedSequence(good.data, [2, 2, 1, 2])
    assert not bad._checked
    with pytest.raises(RuntimeError, match="non-increasing"):
        rnn(bad)
    out, _ = rnn(good)
    assert out._checked and out.batch_sizes is good.batch_sizes
