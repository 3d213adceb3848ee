"""Anomaly mode: ``elman.autograd.detect_anomaly`` / ``set_detect_anomaly`` against torch's,
the graph nodes' torch names, and elman's extensions (inf, the first op producing NaN/inf)."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import elman
from conftest import requires_torch
from elman.autograd import anomaly_mode

ENTER = (
    "Anomaly Detection has been enabled. This mode will increase the runtime and should only "
    "be enabled for debugging."
)


@pytest.fixture(autouse=True)
def _restore_and_ieee() -> Any:
    """NaN is the subject (no FP errors); anomaly mode is process-wide: restore it."""
    before = (elman.is_anomaly_enabled(), elman.is_anomaly_check_nan_enabled())
    with np.errstate(all="ignore"):
        yield
    elman.autograd.set_detect_anomaly(*before)


def _backward_in_anomaly_mode(lib: Any, forward: Callable[[Any], Any], **kw: Any) -> Any:
    """Run ``forward(lib)`` and its backward inside ``detect_anomaly``: (error text or
    None, the warnings' texts, the leaf gradients)."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with lib.autograd.detect_anomaly(**kw):
            leaves, loss = forward(lib)
            try:
                loss.backward()
                error = None
            except RuntimeError as e:
                error = str(e)
    texts = [str(w.message) for w in seen if str(w.message) != ENTER]
    return error, texts, [None if t.grad is None else t.grad.numpy() for t in leaves]


def _sqrt_times_zero(lib: Any) -> Any:
    x = lib.tensor(np.array([0.0, 4.0], np.float32), requires_grad=True)
    y = x.sqrt()  # d/dx at 0 is inf; times the 0 coming back: NaN
    return [x], (y * 0).sum()


def test_api_switches_as_torchs() -> None:
    assert not elman.is_anomaly_enabled() and elman.is_anomaly_check_nan_enabled()
    with pytest.warns(UserWarning, match=re.escape(ENTER)):
        mode = elman.autograd.detect_anomaly(check_nan=False)
    assert not elman.is_anomaly_enabled()  # only on entering
    with mode:
        assert elman.is_anomaly_enabled() and not elman.is_anomaly_check_nan_enabled()
        with elman.autograd.set_detect_anomaly(False):
            assert not elman.is_anomaly_enabled()
        assert elman.is_anomaly_enabled()
    assert not elman.is_anomaly_enabled() and elman.is_anomaly_check_nan_enabled()
    elman.autograd.set_detect_anomaly(True)  # as a plain call: stays on
    assert elman.autograd.is_anomaly_enabled()
    elman.autograd.set_detect_anomaly(False)
    assert not elman.autograd.is_anomaly_enabled()


def test_nan_in_backward_raises_torchs_error_with_the_forward_traceback() -> None:
    error, texts, _ = _backward_in_anomaly_mode(elman, _sqrt_times_zero)
    assert error == "Function 'SqrtBackward0' returned nan values in its 0th output."
    assert len(texts) == 1 and texts[0].startswith(
        "Error detected in SqrtBackward0. Traceback of forward call that caused the error:\n"
    )
    assert __file__ in texts[0] and "y = x.sqrt()" in texts[0]
    assert "elman/autograd" not in texts[0]  # the op's own frames are left out


@requires_torch
def test_error_and_warning_equal_torchs(torch_or_skip: Any) -> None:
    mine = _backward_in_anomaly_mode(elman, _sqrt_times_zero)
    theirs = _backward_in_anomaly_mode(torch_or_skip, _sqrt_times_zero)
    assert mine[0] == theirs[0]
    # the same text and frames from the helper in (the callers' lines differ); torch adds
    # " (Triggered internally at ...)"
    head, tail = mine[1][0].split("\n", 1)
    assert theirs[1][0].startswith(head)
    at = tail.index(", in _backward_in_anomaly_mode")
    inner = tail[tail.rindex("  File ", 0, at) :]
    assert (
        inner in theirs[1][0] and theirs[1][0].index(inner) + len(inner) >= len(theirs[1][0]) - 99
    )
    np.testing.assert_array_equal(mine[2][0], theirs[2][0])
    with warnings.catch_warnings(record=True) as a:
        warnings.simplefilter("always")
        elman.autograd.detect_anomaly()
        torch_or_skip.autograd.detect_anomaly()
    assert [str(w.message) for w in a] == [ENTER, ENTER]


def test_without_the_check_or_the_mode_nan_goes_through() -> None:
    error, texts, grads = _backward_in_anomaly_mode(elman, _sqrt_times_zero, check_nan=False)
    assert error is None and texts == [] and np.isnan(grads[0][0])
    leaves, loss = _sqrt_times_zero(elman)
    loss.backward()
    assert np.isnan(leaves[0].grad.numpy()[0])


def test_inf_in_backward_raises_too() -> None:
    """An elman extension (torch checks NaN only): a diverging run overflows first."""

    def log_of_zero(lib: Any) -> Any:
        x = lib.tensor(np.array([0.0, 1.0]), requires_grad=True)
        return [x], x.log().sum()

    error, texts, _ = _backward_in_anomaly_mode(elman, log_of_zero)
    assert error is not None
    assert error.startswith("Function 'LogBackward0' returned inf values in its 0th output.")
    assert "x.log().sum()" in texts[0]


def test_the_error_names_the_op_that_first_produced_nonfinite_values() -> None:
    """The RNN's gradients overflow because the loss squared its large outputs: the error
    at the RNN names the multiplication that first made inf from finite inputs."""

    def overflow(lib: Any) -> Any:
        lib.manual_seed(0)
        rnn = lib.nn.RNN(3, 4, nonlinearity="relu")
        x = lib.tensor(np.random.default_rng(0).standard_normal((5, 2, 3)).astype(np.float32))
        out, _ = rnn(x * 1e30)
        loss = (out * out).mean()  # the first inf: the product
        return [rnn.weight_ih_l0], loss

    error, texts, _ = _backward_in_anomaly_mode(elman, overflow)
    assert error is not None and error.startswith("Function 'RnnReluBackward0' returned inf")
    assert "first produced inf in 'MulBackward0'" in error and f"{__file__}:" in error
    assert "Error detected in RnnReluBackward0" in texts[0]
    assert "loss = (out * out).mean()" in texts[0]  # the origin's forward traceback


def test_the_error_says_when_nan_came_in_with_the_data() -> None:
    def nan_input(lib: Any) -> Any:
        w = lib.tensor(np.ones(3), requires_grad=True)
        x = lib.tensor(np.array([1.0, np.nan, 2.0]))
        return [w], ((w * x).sum() * 0).sqrt()  # sqrt(nan * 0): NaN gradients

    error, _, _ = _backward_in_anomaly_mode(elman, nan_input)
    assert error is not None and "returned nan values" in error
    assert "(elman: a tensor of shape (3,) held nan when it entered the graph.)" in error


def test_an_error_inside_backward_is_reported_with_the_forward_traceback() -> None:
    class Broken(elman.autograd.Function):
        @staticmethod
        def forward(ctx: Any, a: np.ndarray) -> np.ndarray:
            return a.copy()

        @staticmethod
        def backward(ctx: Any, g: np.ndarray) -> np.ndarray:
            raise ValueError("broken backward")

    def forward(lib: Any) -> Any:
        x = lib.tensor(np.ones(2), requires_grad=True)
        return [x], Broken.apply(x).sum()

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with elman.autograd.detect_anomaly(), pytest.raises(ValueError, match="broken"):
            forward(elman)[1].backward()
    messages = [str(w.message) for w in seen]
    assert any(m.startswith("Error detected in BrokenBackward0.") for m in messages)


def test_outside_anomaly_mode_nothing_is_recorded() -> None:
    x = elman.tensor([1.0], requires_grad=True)
    y = x * 2
    assert getattr(y.grad_fn, "anomaly", None) is None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with elman.autograd.detect_anomaly():
            z = x * 2
    assert isinstance(getattr(z.grad_fn, "anomaly", None), anomaly_mode.Record)


# ---- node names -----------------------------------------------------------------------------

NAMED: dict[str, Callable[[Any, Any], Any]] = {
    "mul": lambda m, x: x * 2,
    "add": lambda m, x: x + 1,
    "div": lambda m, x: x / 2,
    "pow": lambda m, x: x**2,
    "neg": lambda m, x: -x,
    "tanh": lambda m, x: x.tanh(),
    "relu": lambda m, x: x.relu(),
    "sigmoid": lambda m, x: x.sigmoid(),
    "exp": lambda m, x: x.exp(),
    "log": lambda m, x: x.log(),
    "abs": lambda m, x: x.abs(),
    "sqrt": lambda m, x: x.sqrt(),
    "sum": lambda m, x: x.sum(),
    "sum_dim": lambda m, x: x.sum(1),
    "mean": lambda m, x: x.mean(),
    "mean_dim": lambda m, x: x.mean(0),
    "max": lambda m, x: x.max(),
    "max_dim": lambda m, x: x.max(1)[0],
    "mm": lambda m, x: x @ x.T,
    "mv": lambda m, x: x @ x[0],
    "dot": lambda m, x: x[0] @ x[0],
    "reshape": lambda m, x: x.reshape(6, 2),
    "permute": lambda m, x: x.permute(1, 0),
    "slice": lambda m, x: x[1:],
    "index": lambda m, x: x[[0, 2]],
    "cat": lambda m, x: m.cat([x, x]),
    "stack": lambda m, x: m.stack([x, x]),
    "to": lambda m, x: x.double(),
    "clone": lambda m, x: x.clone(),
    "maximum": lambda m, x: m.maximum(x, x * 1),
    "softmax": lambda m, x: m.nn.functional.softmax(x, dim=1),
    "log_softmax": lambda m, x: m.nn.functional.log_softmax(x, dim=1),
    "mse": lambda m, x: m.nn.functional.mse_loss(x, x.detach() + 1),
    "cross_entropy": lambda m, x: m.nn.functional.cross_entropy(x, m.tensor([0, 1, 2])),
    "linear": lambda m, x: m.nn.functional.linear(x, x.detach()[:2], x.detach()[0, :2]),
    "linear_nobias": lambda m, x: m.nn.functional.linear(x, x.detach()[:2]),
}


@requires_torch
@pytest.mark.parametrize("op", sorted(NAMED))
def test_node_names_are_torchs(op: str, torch_or_skip: Any) -> None:
    data = np.arange(1.0, 13.0, dtype=np.float32).reshape(3, 4) / 10
    names = []
    for lib in (elman, torch_or_skip):
        x = lib.tensor(data, requires_grad=True)
        names.append(NAMED[op](lib, x).grad_fn.name())
    assert names[0] == names[1]


@pytest.mark.parametrize("relu", [False, True])
def test_rnn_and_cell_nodes_are_named(relu: bool) -> None:
    act = "relu" if relu else "tanh"
    rnn = elman.nn.RNN(3, 4, nonlinearity=act)
    x = elman.tensor(np.ones((2, 1, 3), np.float32))
    want = "RnnReluBackward0" if relu else "RnnTanhBackward0"
    assert rnn(x)[0].grad_fn.name() == want  # the fast lane
    rnn.weight_hh_l0 = elman.nn.Parameter(rnn.weight_hh_l0.detach().clone())
    assert rnn(x)[0].grad_fn.name() == want  # the general lane
    cell = elman.nn.RNNCell(3, 4, nonlinearity=act)
    assert cell(x[0]).grad_fn.name() == ("ReluBackward0" if relu else "TanhBackward0")
    assert repr(rnn(x)[1].grad_fn) == f"<{want}>"
