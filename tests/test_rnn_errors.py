"""RNN and RNNCell: every constructor and forward error of torch, the dropout warning, reprs.

Each row is one bad call, spelled once for both libraries through a small adapter (``m.nn``,
``m.dt("float64")``, ``m.z(*shape, dtype=...)``). elman must raise the row's exception type
with the row's text. When torch is importable, the same call runs in torch too:

* ``SAME`` rows: torch raises the same type; an exact text must equal torch's with torch's
  dtype names mapped to elman's (``torch.float64`` -> ``float64``, ``torch.`` -> ``elman.``),
  a pattern must be found in both texts. Warnings must match too.
* ``TorchDoes(...)`` rows are deliberate differences (docs/differences.md): they pin what
  torch does instead, so the list of differences stays true when torch changes.
"""

from __future__ import annotations

import contextlib
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

import elman
from conftest import TORCH, requires_torch

E = SimpleNamespace(
    nn=elman.nn,
    dt=np.dtype,
    z=lambda *shape, dtype="float32": elman.Tensor(np.zeros(shape, dtype)),
)
T = (
    None
    if TORCH is None
    else SimpleNamespace(
        nn=TORCH.nn,
        dt=lambda name: getattr(TORCH, name),
        z=lambda *shape, dtype="float32": TORCH.from_numpy(np.zeros(shape, dtype)),
    )
)

SAME = "same"


@dataclass(frozen=True)
class TorchDoes:
    """What torch does where elman deliberately differs: raises ``exc`` (None: succeeds)."""

    exc: type[BaseException] | None
    msg: str | None  # a pattern searched in torch's text
    note: str  # the difference, for docs/differences.md


@dataclass(frozen=True)
class Case:
    id: str
    call: Callable[[Any], Any]
    exc: type[BaseException] | None  # None: elman succeeds
    msg: str | re.Pattern[str] | None = None  # exact text, or a pattern searched in it
    warns: str | None = None  # the UserWarning text (issued before the error, if any)
    torch: Any = SAME  # SAME, TorchDoes(...), or None (not comparable on every machine)


def _text_ok(text: str, expected: str | re.Pattern[str] | None) -> bool:
    if expected is None:
        return True
    if isinstance(expected, re.Pattern):
        return expected.search(text) is not None
    return text == expected


def _elman_names(text: str) -> str:
    """torch's message in elman's words: ``dtype (torch.float64)`` -> ``dtype (float64)``,
    ``input.to(torch.float32)`` -> ``input.to(elman.float32)``."""
    return re.sub(r"dtype \(torch\.(\w+)\)", r"dtype (\1)", text).replace("torch.", "elman.")


def _run_elman(case: Case) -> None:
    with contextlib.ExitStack() as stack:
        rec = stack.enter_context(pytest.warns(UserWarning)) if case.warns else None
        info = stack.enter_context(pytest.raises(case.exc)) if case.exc else None
        case.call(E)
    if rec is not None:
        assert [str(w.message) for w in rec] == [case.warns]
    if info is not None:
        assert type(info.value) is case.exc
        assert _text_ok(str(info.value), case.msg), str(info.value)


def _run_torch(call: Callable[[Any], Any]) -> tuple[BaseException | None, list[str]]:
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        try:
            call(T)
        except Exception as exc:  # noqa: BLE001 - the oracle's outcome, whatever it is
            return exc, [str(w.message) for w in rec]
    return None, [str(w.message) for w in rec]


def _compare_torch(case: Case) -> None:
    if TORCH is None or case.torch is None:
        return
    exc, warned = _run_torch(case.call)
    if case.torch == SAME:
        assert type(exc) is case.exc if case.exc else exc is None, repr(exc)
        if exc is not None and isinstance(case.msg, str):
            assert _elman_names(str(exc)) == case.msg
        elif exc is not None:
            assert _text_ok(str(exc), case.msg), str(exc)
        assert warned == ([case.warns] if case.warns else [])
    else:
        expect = case.torch
        assert (type(exc) is expect.exc) if expect.exc else exc is None, repr(exc)
        if exc is not None and expect.msg is not None:
            assert re.search(expect.msg, str(exc)), str(exc)


def _check(case: Case) -> None:
    _run_elman(case)
    _compare_torch(case)


def _pat(text: str) -> re.Pattern[str]:
    return re.compile(re.escape(text))


# ---- the RNN constructor (reference §1.2, torch's order: the first failure wins) --------

DROPOUT_RANGE = (
    "dropout should be a number in range [0, 1] representing the probability of an element "
    "being zeroed"
)


def _dropout_warning(dropout: Any, num_layers: Any = 1) -> str:
    return (
        "dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
        f"expects num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}"
    )


PROJ = "proj_size argument is only supported for LSTM, not RNN or GRU"
BOOL_SIZES = "bool sizes are rejected (torch takes True as 1)"
BIDI = "bidirectional is validated as a bool (torch accepts anything and fails in forward)"
F32_F64 = "elman builds float32 and float64 modules only"
NOT_CPU = "device other than cpu is rejected with a ValueError"
NUM_LAYERS = "num_layers of a non-int type gets a clear TypeError naming num_layers"

CONSTRUCTOR = [
    Case("proj_size", lambda m: m.nn.RNN(3, 4, proj_size=0), ValueError, PROJ),
    Case(
        "proj_size-before-nonlinearity",
        lambda m: m.nn.RNN(3, 4, nonlinearity="sigmoid", proj_size=2),
        ValueError,
        PROJ,
    ),
    Case(
        "nonlinearity",
        lambda m: m.nn.RNN(3, 4, nonlinearity="sigmoid"),
        ValueError,
        "Unknown nonlinearity 'sigmoid'. Select from 'tanh' or 'relu'.",
    ),
    Case(
        "nonlinearity-case-sensitive",
        lambda m: m.nn.RNN(3, 4, nonlinearity="TANH"),
        ValueError,
        "Unknown nonlinearity 'TANH'. Select from 'tanh' or 'relu'.",
    ),
    Case(
        "nonlinearity-none",
        lambda m: m.nn.RNN(3, 4, nonlinearity=None),
        ValueError,
        "Unknown nonlinearity 'None'. Select from 'tanh' or 'relu'.",
    ),
    Case(
        "nonlinearity-positional",
        lambda m: m.nn.RNN(3, 4, 1, "gelu"),
        ValueError,
        "Unknown nonlinearity 'gelu'. Select from 'tanh' or 'relu'.",
    ),
    Case(
        "nonlinearity-before-unknown-keyword",
        lambda m: m.nn.RNN(3, 4, nonlinearity="x", foo=1),
        ValueError,
        "Unknown nonlinearity 'x'. Select from 'tanh' or 'relu'.",
    ),
    Case(
        "nonlinearity-before-dropout",
        lambda m: m.nn.RNN(3, 4, nonlinearity="x", dropout=None),
        ValueError,
        "Unknown nonlinearity 'x'. Select from 'tanh' or 'relu'.",
    ),
    Case(
        "nonlinearity-before-dropout-warning",
        lambda m: m.nn.RNN(3, 4, nonlinearity="x", dropout=0.3),
        ValueError,
        "Unknown nonlinearity 'x'. Select from 'tanh' or 'relu'.",
    ),
    Case(
        "unknown-keyword",
        lambda m: m.nn.RNN(3, 4, foo=1),
        TypeError,
        _pat("__init__() got an unexpected keyword argument 'foo'"),
    ),
    Case(
        "nonlinearity-twice",
        lambda m: m.nn.RNN(3, 4, 2, "relu", nonlinearity="relu"),
        TypeError,
        _pat("argument 'nonlinearity'"),
    ),
    Case(
        "missing-sizes",
        lambda m: m.nn.RNN(),
        TypeError,
        _pat("missing 2 required positional arguments: 'input_size' and 'hidden_size'"),
    ),
    Case(
        "missing-sizes-before-nonlinearity",
        lambda m: m.nn.RNN(nonlinearity="x"),
        TypeError,
        _pat("missing 2 required positional arguments"),
        torch=TorchDoes(
            ValueError,
            "Unknown nonlinearity 'x'",
            "missing sizes are reported before a bad nonlinearity (Python binds the "
            "signature first; torch's *args constructor checks the nonlinearity first)",
        ),
    ),
    Case(
        "dropout-none",
        lambda m: m.nn.RNN(3, 4, dropout=None),
        TypeError,
        "float() argument must be a string or a real number, not 'NoneType'",
    ),
    Case(
        "dropout-list",
        lambda m: m.nn.RNN(3, 4, dropout=[0.1]),
        TypeError,
        "float() argument must be a string or a real number, not 'list'",
    ),
    Case(
        "dropout-bad-string",
        lambda m: m.nn.RNN(3, 4, dropout="abc"),
        ValueError,
        "could not convert string to float: 'abc'",
    ),
    Case("dropout-bool", lambda m: m.nn.RNN(3, 4, 2, dropout=True), ValueError, DROPOUT_RANGE),
    Case("dropout-string", lambda m: m.nn.RNN(3, 4, 2, dropout="0.1"), ValueError, DROPOUT_RANGE),
    Case("dropout-above-1", lambda m: m.nn.RNN(3, 4, 2, dropout=1.5), ValueError, DROPOUT_RANGE),
    Case("dropout-negative", lambda m: m.nn.RNN(3, 4, dropout=-0.1), ValueError, DROPOUT_RANGE),
    Case("dropout-nan", lambda m: m.nn.RNN(3, 4, dropout=float("nan")), ValueError, DROPOUT_RANGE),
    Case(
        "dropout-range-before-warning",
        lambda m: m.nn.RNN(3, 4, dropout=1.5),
        ValueError,
        DROPOUT_RANGE,
    ),
    Case(
        "dropout-warning",
        lambda m: m.nn.RNN(3, 4, dropout=0.3),
        None,
        warns=_dropout_warning(0.3),
    ),
    Case(
        "dropout-warning-prints-int",
        lambda m: m.nn.RNN(3, 4, dropout=1),
        None,
        warns=_dropout_warning(1),
    ),
    Case(
        "dropout-warning-numpy-layers",
        lambda m: m.nn.RNN(3, 4, np.int64(1), dropout=0.5),
        None,
        warns=_dropout_warning(0.5),
    ),
    Case(
        "dropout-warning-then-bias-error",
        lambda m: m.nn.RNN(3, 4, dropout=0.3, bias=1),
        TypeError,
        "bias should be of type bool, got: int",
        warns=_dropout_warning(0.3),
    ),
    Case(
        "dropout-warning-then-size-error",
        lambda m: m.nn.RNN(0, 4, dropout=0.3),
        ValueError,
        "input_size must be greater than zero",
        warns=_dropout_warning(0.3),
    ),
    Case(
        "no-dropout-warning-for-zero-layers",
        lambda m: m.nn.RNN(3, 4, 0, dropout=0.3),
        ValueError,
        "num_layers must be greater than zero",
    ),
    Case(
        "bias-int",
        lambda m: m.nn.RNN(3, 4, bias=1),
        TypeError,
        "bias should be of type bool, got: int",
    ),
    Case(
        "bias-none",
        lambda m: m.nn.RNN(3, 4, bias=None),
        TypeError,
        "bias should be of type bool, got: NoneType",
    ),
    Case(
        "bias-before-batch-first",
        lambda m: m.nn.RNN(3, 4, bias=0, batch_first=0),
        TypeError,
        "bias should be of type bool, got: int",
    ),
    Case(
        "batch-first-int",
        lambda m: m.nn.RNN(3, 4, batch_first=1),
        TypeError,
        "batch_first should be of type bool, got: int",
    ),
    Case(
        "batch-first-before-sizes",
        lambda m: m.nn.RNN(3.0, 4, batch_first="yes"),
        TypeError,
        "batch_first should be of type bool, got: str",
    ),
    Case(
        "input-size-float",
        lambda m: m.nn.RNN(3.0, 4),
        TypeError,
        "input_size should be of type int, got: float",
    ),
    Case(
        "input-size-numpy",
        lambda m: m.nn.RNN(np.int64(3), 4),
        TypeError,
        "input_size should be of type int, got: numpy.int64",
        torch=TorchDoes(TypeError, "got: int64$", "NumPy types are named with their module"),
    ),
    Case(
        "input-size-zero",
        lambda m: m.nn.RNN(0, 4),
        ValueError,
        "input_size must be greater than zero",
    ),
    Case(
        "input-size-negative",
        lambda m: m.nn.RNN(-1, 4),
        ValueError,
        "input_size must be greater than zero",
    ),
    Case(
        "input-size-before-hidden-size",
        lambda m: m.nn.RNN(0, 4.0),
        ValueError,
        "input_size must be greater than zero",
    ),
    Case(
        "input-size-bool",
        lambda m: m.nn.RNN(True, 4),
        TypeError,
        "input_size should be of type int, got: bool",
        torch=TorchDoes(None, None, "input_size=True is rejected (torch builds RNN(True, 4))"),
    ),
    Case(
        "hidden-size-float",
        lambda m: m.nn.RNN(3, 4.0),
        TypeError,
        "hidden_size should be of type int, got: float",
    ),
    Case(
        "hidden-size-zero",
        lambda m: m.nn.RNN(3, 0),
        ValueError,
        "hidden_size must be greater than zero",
    ),
    Case(
        "hidden-size-before-num-layers",
        lambda m: m.nn.RNN(3, -2, 0),
        ValueError,
        "hidden_size must be greater than zero",
    ),
    Case(
        "hidden-size-bool",
        lambda m: m.nn.RNN(3, True),
        TypeError,
        "hidden_size should be of type int, got: bool",
        torch=TorchDoes(TypeError, r"empty\(\): argument 'size'", BOOL_SIZES),
    ),
    Case(
        "num-layers-zero",
        lambda m: m.nn.RNN(3, 4, 0),
        ValueError,
        "num_layers must be greater than zero",
    ),
    Case(
        "num-layers-negative",
        lambda m: m.nn.RNN(3, 4, -1),
        ValueError,
        "num_layers must be greater than zero",
    ),
    Case("num-layers-numpy", lambda m: m.nn.RNN(3, 4, np.int64(2)), None),
    Case(
        "num-layers-float",
        lambda m: m.nn.RNN(3, 4, 2.0),
        TypeError,
        "num_layers should be of type int, got: float",
        torch=TorchDoes(
            TypeError, "'float' object cannot be interpreted as an integer", NUM_LAYERS
        ),
    ),
    Case(
        "num-layers-string",
        lambda m: m.nn.RNN(3, 4, "2"),
        TypeError,
        "num_layers should be of type int, got: str",
        torch=TorchDoes(
            TypeError, "'<=' not supported between instances of 'str' and 'int'", NUM_LAYERS
        ),
    ),
    Case(
        "num-layers-bool",
        lambda m: m.nn.RNN(3, 4, True),
        TypeError,
        "num_layers should be of type int, got: bool",
        torch=TorchDoes(None, None, BOOL_SIZES),
    ),
    Case(
        "bidirectional-int",
        lambda m: m.nn.RNN(3, 4, bidirectional=1),
        TypeError,
        "bidirectional should be of type bool, got: int",
        torch=TorchDoes(None, None, BIDI),
    ),
    Case(
        "bidirectional-string",
        lambda m: m.nn.RNN(3, 4, bidirectional="yes"),
        TypeError,
        "bidirectional should be of type bool, got: str",
        torch=TorchDoes(None, None, BIDI),
    ),
    Case(
        "dtype-int",
        lambda m: m.nn.RNN(3, 4, dtype=m.dt("int32")),
        RuntimeError,
        "Only Tensors of floating point and complex dtype can require gradients",
    ),
    Case(
        "dtype-float16",
        lambda m: m.nn.RNN(3, 4, dtype=m.dt("float16")),
        TypeError,
        "dtype must be float32 or float64, got float16",
        torch=TorchDoes(None, None, F32_F64),
    ),
    Case(
        "dtype-complex",
        lambda m: m.nn.RNN(3, 4, dtype=m.dt("complex64")),
        TypeError,
        "dtype must be float32 or float64, got complex64",
        torch=TorchDoes(None, None, F32_F64),
    ),
    Case("device-cpu", lambda m: m.nn.RNN(3, 4, device="cpu"), None),
    Case("device-cpu0", lambda m: m.nn.RNN(3, 4, device="cpu:0"), None),
    Case(
        "device-meta",
        lambda m: m.nn.RNN(3, 4, device="meta"),
        ValueError,
        "elman runs on the CPU only: device must be None or 'cpu', got 'meta'",
        torch=TorchDoes(None, None, NOT_CPU),
    ),
    Case(
        "device-cuda",
        lambda m: m.nn.RNN(3, 4, device="cuda"),
        ValueError,
        "elman runs on the CPU only: device must be None or 'cpu', got 'cuda'",
        torch=None,  # torch's outcome depends on the machine (AssertionError without CUDA)
    ),
    Case("all-positional", lambda m: m.nn.RNN(3, 4, 2, "relu", True, True, 0.1, True), None),
]


@pytest.mark.parametrize("case", CONSTRUCTOR, ids=lambda c: c.id)
def test_rnn_constructor(case: Case) -> None:
    _check(case)


def test_dropout_warning_points_at_the_callers_line() -> None:
    with pytest.warns(UserWarning) as rec:
        elman.nn.RNN(3, 4, dropout=0.5)
    assert rec[0].filename == __file__  # torch's points into torch/nn/modules/rnn.py


# ---- RNN.forward (reference §2.3, torch's order) ------------------------------------------


def _rnn(m: Any, **kw: Any) -> Any:
    return m.nn.RNN(3, 4, 2, **kw)


HX_DTYPE = "hx of another dtype than the weights gets a clear message"
ARRAYS = "ndarrays and lists are accepted as input and hx"
UNBATCHED_HX = "unbatched hx shape errors state shapes as the user gave them"


def _mat_dtypes(got: str, want: str) -> str:
    return f"mat1 and mat2 must have the same dtype, but got {got} and {want}"


def _input_dtype(got: str, want: str, model: bool = True) -> str:
    text = (
        f"RNN input dtype ({got}) does not match weight dtype ({want}). "
        f"Convert input: input.to(elman.{want})"
    )
    return text + (f", or convert model: model.to(elman.{got})" if model else "")


FORWARD = [
    Case(
        "input-1d",
        lambda m: _rnn(m)(m.z(3)),
        ValueError,
        "RNN: Expected input to be 2D or 3D, got 1D tensor instead",
    ),
    Case(
        "input-0d",
        lambda m: _rnn(m)(m.z()),
        ValueError,
        "RNN: Expected input to be 2D or 3D, got 0D tensor instead",
    ),
    Case(
        "input-4d-before-hx",
        lambda m: _rnn(m)(m.z(1, 2, 3, 3), m.z(5)),
        ValueError,
        "RNN: Expected input to be 2D or 3D, got 4D tensor instead",
    ),
    Case(
        "unbatched-input-3d-hx",
        lambda m: _rnn(m)(m.z(5, 3), m.z(2, 1, 4)),
        RuntimeError,
        "For unbatched 2-D input, hx should also be 2-D but got 3-D tensor",
    ),
    Case(
        "batched-input-2d-hx-before-dtype",
        lambda m: _rnn(m)(m.z(5, 2, 3, dtype="float64"), m.z(2, 4)),
        RuntimeError,
        "For batched 3-D input, hx should also be 3-D but got 2-D tensor",
    ),
    Case(
        "input-dtype",
        lambda m: _rnn(m)(m.z(5, 2, 3, dtype="float64")),
        ValueError,
        _input_dtype("float64", "float32"),
    ),
    Case(
        "input-dtype-float32-on-float64",
        lambda m: _rnn(m, dtype=m.dt("float64"))(m.z(5, 2, 3)),
        ValueError,
        _input_dtype("float32", "float64"),
    ),
    Case(
        "input-dtype-before-features",
        lambda m: _rnn(m)(m.z(5, 2, 7, dtype="float64")),
        ValueError,
        _input_dtype("float64", "float32"),
    ),
    Case(
        "input-dtype-int",
        lambda m: _rnn(m)(m.z(5, 2, 3, dtype="int64")),
        ValueError,
        _input_dtype("int64", "float32", model=False),
        torch=TorchDoes(
            ValueError,
            re.escape("or convert model: model.to(torch.int64)"),
            "an input dtype a model cannot take (int, bool, float16) is not suggested as the "
            "model's dtype",
        ),
    ),
    Case(
        "input-dtype-float16",
        lambda m: _rnn(m)(m.z(5, 2, 3, dtype="float16")),
        ValueError,
        _input_dtype("float16", "float32", model=False),
        torch=TorchDoes(ValueError, re.escape("model.to(torch.float16)"), F32_F64),
    ),
    Case(
        "input-dtype-bool",
        lambda m: _rnn(m)(m.z(5, 2, 3, dtype="bool")),
        ValueError,
        _input_dtype("bool", "float32", model=False),
        torch=TorchDoes(ValueError, re.escape("model.to(torch.bool)"), F32_F64),
    ),
    Case(
        "features",
        lambda m: _rnn(m)(m.z(5, 2, 7)),
        RuntimeError,
        "input.size(-1) must be equal to input_size. Expected 3, got 7",
    ),
    Case(
        "features-unbatched",
        lambda m: _rnn(m)(m.z(5, 7)),
        RuntimeError,
        "input.size(-1) must be equal to input_size. Expected 3, got 7",
    ),
    Case(
        "features-before-hx-shape",
        lambda m: _rnn(m)(m.z(5, 2, 7), m.z(2, 3, 4)),
        RuntimeError,
        "input.size(-1) must be equal to input_size. Expected 3, got 7",
    ),
    Case(
        "hx-shape",
        lambda m: _rnn(m)(m.z(5, 2, 3), m.z(2, 3, 4)),
        RuntimeError,
        "Expected hidden size (2, 2, 4), got [2, 3, 4]",
    ),
    Case(
        "hx-shape-batch-first",
        lambda m: _rnn(m, batch_first=True)(m.z(2, 5, 3), m.z(2, 5, 4)),
        RuntimeError,
        "Expected hidden size (2, 2, 4), got [2, 5, 4]",
    ),
    Case(
        "hx-shape-bidirectional",
        lambda m: _rnn(m, bidirectional=True)(m.z(5, 2, 3), m.z(2, 2, 4)),
        RuntimeError,
        "Expected hidden size (4, 2, 4), got [2, 2, 4]",
    ),
    Case(
        "hx-shape-unbatched",
        lambda m: _rnn(m)(m.z(5, 3), m.z(3, 4)),
        RuntimeError,
        "Expected hidden size (2, 4), got [3, 4]",
        torch=TorchDoes(RuntimeError, re.escape("(2, 1, 4), got [3, 1, 4]"), UNBATCHED_HX),
    ),
    Case(
        "hx-shape-unbatched-hidden",
        lambda m: _rnn(m, bidirectional=True)(m.z(5, 3), m.z(4, 5)),
        RuntimeError,
        "Expected hidden size (4, 4), got [4, 5]",
        torch=TorchDoes(RuntimeError, re.escape("(4, 1, 4), got [4, 1, 5]"), UNBATCHED_HX),
    ),
    Case(
        "empty-sequence",
        lambda m: _rnn(m)(m.z(0, 2, 3)),
        RuntimeError,
        "Expected sequence length to be larger than 0 in RNN",
    ),
    Case(
        "empty-sequence-unbatched",
        lambda m: _rnn(m)(m.z(0, 3)),
        RuntimeError,
        "Expected sequence length to be larger than 0 in RNN",
    ),
    Case(
        "empty-sequence-batch-first",
        lambda m: _rnn(m, batch_first=True)(m.z(2, 0, 3)),
        RuntimeError,
        "Expected sequence length to be larger than 0 in RNN",
    ),
    Case(
        "hx-shape-before-empty-sequence",
        lambda m: _rnn(m)(m.z(0, 2, 3), m.z(2, 3, 4)),
        RuntimeError,
        "Expected hidden size (2, 2, 4), got [2, 3, 4]",
    ),
    Case(
        "empty-sequence-before-hx-dtype",
        lambda m: _rnn(m)(m.z(0, 2, 3), m.z(2, 2, 4, dtype="float64")),
        RuntimeError,
        "Expected sequence length to be larger than 0 in RNN",
    ),
    Case(
        "hx-shape-before-hx-dtype",
        lambda m: _rnn(m)(m.z(5, 2, 3), m.z(2, 3, 4, dtype="float64")),
        RuntimeError,
        "Expected hidden size (2, 2, 4), got [2, 3, 4]",
    ),
    Case(
        "hx-dtype",
        lambda m: _rnn(m)(m.z(5, 2, 3), m.z(2, 2, 4, dtype="float64")),
        RuntimeError,
        "RNN hx dtype (float64) does not match weight dtype (float32). "
        "Convert hx: hx.to(elman.float32)",
        torch=TorchDoes(RuntimeError, _mat_dtypes("Double", "Float"), HX_DTYPE),
    ),
    Case(
        "hx-dtype-int",
        lambda m: _rnn(m)(m.z(5, 2, 3), m.z(2, 2, 4, dtype="int64")),
        RuntimeError,
        "RNN hx dtype (int64) does not match weight dtype (float32). "
        "Convert hx: hx.to(elman.float32)",
        torch=TorchDoes(RuntimeError, _mat_dtypes("Long", "Float"), HX_DTYPE),
    ),
    Case(
        "hx-dtype-unbatched",
        lambda m: _rnn(m, dtype=m.dt("float64"))(m.z(5, 3, dtype="float64"), m.z(2, 4)),
        RuntimeError,
        "RNN hx dtype (float32) does not match weight dtype (float64). "
        "Convert hx: hx.to(elman.float64)",
        torch=TorchDoes(RuntimeError, _mat_dtypes("Float", "Double"), HX_DTYPE),
    ),
    Case(
        "input-list",
        lambda m: _rnn(m)([[[1.0, 2.0, 3.0]]]),
        None,
        torch=TorchDoes(AttributeError, "'list' object has no attribute 'dim'", ARRAYS),
    ),
    Case(
        "input-ndarray",
        lambda m: _rnn(m)(np.zeros((5, 2, 3), np.float32)),
        None,
        torch=TorchDoes(AttributeError, "'numpy.ndarray' object has no attribute 'dim'", ARRAYS),
    ),
    Case(
        "hx-list",
        lambda m: _rnn(m)(m.z(5, 2, 3), [[[0.0] * 4] * 2] * 2),
        None,
        torch=TorchDoes(AttributeError, "'list' object has no attribute 'dim'", ARRAYS),
    ),
    Case(
        "input-string",
        lambda m: _rnn(m)("abc"),
        TypeError,
        "expected a Tensor, ndarray or list, got str",
        torch=TorchDoes(
            AttributeError,
            "'str' object has no attribute 'dim'",
            "input of an unusable type raises TypeError (torch: AttributeError)",
        ),
    ),
    Case(
        "extra-positional",
        lambda m: _rnn(m)(m.z(5, 2, 3), None, 1),
        TypeError,
        "RNN.forward() takes from 2 to 3 positional arguments but 4 were given",
    ),
    Case("empty-batch", lambda m: _rnn(m)(m.z(5, 0, 3)), None),
    Case("empty-batch-batch-first", lambda m: _rnn(m, batch_first=True)(m.z(0, 5, 3)), None),
]


@pytest.mark.parametrize("case", FORWARD, ids=lambda c: c.id)
def test_rnn_forward(case: Case) -> None:
    _check(case)


# ---- RNNCell (reference §4) ----------------------------------------------------------------

CELL_SIZES = "RNNCell validates sizes, bias and nonlinearity at construction as RNN does"


def _cell(m: Any, **kw: Any) -> Any:
    return m.nn.RNNCell(3, 4, **kw)


def _cell_dtype(what: str, got: str, want: str) -> str:
    text = (
        f"RNNCell {what} dtype ({got}) does not match weight dtype ({want}). "
        f"Convert {what}: {what}.to(elman.{want})"
    )
    return text + (f", or convert model: model.to(elman.{got})" if what == "input" else "")


CELL_DTYPE = "RNNCell input/hx of another dtype than the weights gets a clear message"
CELL_RANK = "RNNCell: hx of another rank than the input gets a message saying so"

CELL = [
    Case(
        "hidden-size-zero",
        lambda m: m.nn.RNNCell(3, 0),
        ValueError,
        "hidden_size must be greater than zero",
        torch=TorchDoes(None, None, CELL_SIZES),
    ),
    Case(
        "input-size-zero",
        lambda m: m.nn.RNNCell(0, 4),
        ValueError,
        "input_size must be greater than zero",
        torch=TorchDoes(None, None, CELL_SIZES),
    ),
    Case(
        "hidden-size-negative",
        lambda m: m.nn.RNNCell(3, -1),
        ValueError,
        "hidden_size must be greater than zero",
        torch=TorchDoes(
            RuntimeError,
            re.escape("Trying to create tensor with negative dimension -1: [-1, 3]"),
            CELL_SIZES + " (a negative size is a ValueError; torch: RuntimeError)",
        ),
    ),
    Case(
        "input-size-negative",
        lambda m: m.nn.RNNCell(-1, 4),
        ValueError,
        "input_size must be greater than zero",
        torch=TorchDoes(RuntimeError, "negative dimension -1", CELL_SIZES),
    ),
    Case(
        "hidden-size-float",
        lambda m: m.nn.RNNCell(3, 4.0),
        TypeError,
        "hidden_size should be of type int, got: float",
        torch=TorchDoes(TypeError, r"empty\(\): argument 'size'", CELL_SIZES),
    ),
    Case(
        "input-size-float",
        lambda m: m.nn.RNNCell(3.0, 4),
        TypeError,
        "input_size should be of type int, got: float",
        torch=TorchDoes(TypeError, r"empty\(\): argument 'size'", CELL_SIZES),
    ),
    Case(
        "input-size-bool",
        lambda m: m.nn.RNNCell(True, 4),
        TypeError,
        "input_size should be of type int, got: bool",
        torch=TorchDoes(None, None, BOOL_SIZES),
    ),
    Case(
        "bias-int",
        lambda m: _cell(m, bias=1),
        TypeError,
        "bias should be of type bool, got: int",
        torch=TorchDoes(None, None, CELL_SIZES),
    ),
    Case(
        "nonlinearity",
        lambda m: _cell(m, nonlinearity="gelu"),
        ValueError,
        "Unknown nonlinearity 'gelu'. Select from 'tanh' or 'relu'.",
        torch=TorchDoes(None, None, CELL_SIZES),
    ),
    Case(
        "nonlinearity-at-forward",
        lambda m: _cell(m, nonlinearity="gelu")(m.z(2, 3)),
        ValueError,
        "Unknown nonlinearity 'gelu'. Select from 'tanh' or 'relu'.",
        torch=TorchDoes(RuntimeError, "Unknown nonlinearity: gelu", CELL_SIZES),
    ),
    Case(
        "dtype-int",
        lambda m: _cell(m, dtype=m.dt("int32")),
        RuntimeError,
        "Only Tensors of floating point and complex dtype can require gradients",
    ),
    Case(
        "device-meta",
        lambda m: _cell(m, device="meta"),
        ValueError,
        "elman runs on the CPU only: device must be None or 'cpu', got 'meta'",
        torch=TorchDoes(None, None, NOT_CPU),
    ),
    Case(
        "unknown-keyword",
        lambda m: _cell(m, foo=1),
        TypeError,
        "RNNCell.__init__() got an unexpected keyword argument 'foo'",
    ),
    Case(
        "missing-sizes",
        lambda m: m.nn.RNNCell(),
        TypeError,
        "RNNCell.__init__() missing 2 required positional arguments: 'input_size' and "
        "'hidden_size'",
    ),
    Case(
        "input-3d",
        lambda m: _cell(m)(m.z(2, 2, 3)),
        ValueError,
        "RNNCell: Expected input to be 1D or 2D, got 3D instead",
    ),
    Case(
        "input-0d",
        lambda m: _cell(m)(m.z()),
        ValueError,
        "RNNCell: Expected input to be 1D or 2D, got 0D instead",
    ),
    Case(
        "input-rank-before-hx-rank",
        lambda m: _cell(m)(m.z(2, 2, 3), m.z(1, 2, 4)),
        ValueError,
        "RNNCell: Expected input to be 1D or 2D, got 3D instead",
    ),
    Case(
        "hx-3d",
        lambda m: _cell(m)(m.z(2, 3), m.z(1, 2, 4)),
        ValueError,
        "RNNCell: Expected hidden to be 1D or 2D, got 3D instead",
    ),
    Case(
        "hx-0d",
        lambda m: _cell(m)(m.z(2, 3), m.z()),
        ValueError,
        "RNNCell: Expected hidden to be 1D or 2D, got 0D instead",
    ),
    Case(
        "input-size",
        lambda m: _cell(m)(m.z(2, 5)),
        RuntimeError,
        "input has inconsistent input_size: got 5 expected 3",
    ),
    Case(
        "input-size-unbatched",
        lambda m: _cell(m)(m.z(5)),
        RuntimeError,
        "input has inconsistent input_size: got 5 expected 3",
    ),
    Case(
        "input-size-before-batch",
        lambda m: _cell(m)(m.z(2, 5), m.z(3, 4)),
        RuntimeError,
        "input has inconsistent input_size: got 5 expected 3",
    ),
    Case(
        "input-size-before-dtype",
        lambda m: _cell(m)(m.z(2, 5, dtype="float64")),
        RuntimeError,
        "input has inconsistent input_size: got 5 expected 3",
    ),
    Case(
        "batch",
        lambda m: _cell(m)(m.z(2, 3), m.z(3, 4)),
        RuntimeError,
        "Input batch size 2 doesn't match hidden0 batch size 3",
    ),
    Case(
        "batch-before-hidden-size",
        lambda m: _cell(m)(m.z(2, 3), m.z(3, 5)),
        RuntimeError,
        "Input batch size 2 doesn't match hidden0 batch size 3",
    ),
    Case(
        "batch-before-dtype",
        lambda m: _cell(m)(m.z(2, 3), m.z(3, 4, dtype="float64")),
        RuntimeError,
        "Input batch size 2 doesn't match hidden0 batch size 3",
    ),
    Case(
        "hidden-size",
        lambda m: _cell(m)(m.z(2, 3), m.z(2, 5)),
        RuntimeError,
        "hidden0 has inconsistent hidden_size: got 5, expected 4",
    ),
    Case(
        "hidden-size-unbatched",
        lambda m: _cell(m)(m.z(3), m.z(5)),
        RuntimeError,
        "hidden0 has inconsistent hidden_size: got 5, expected 4",
    ),
    Case(
        "unbatched-input-2d-hx",
        lambda m: _cell(m)(m.z(3), m.z(1, 4)),
        RuntimeError,
        "For unbatched 1-D input, hx should also be 1-D but got 2-D tensor",
        torch=TorchDoes(
            RuntimeError, "hidden0 has inconsistent hidden_size: got 1, expected 4", CELL_RANK
        ),
    ),
    Case(
        "batched-input-1d-hx",
        lambda m: _cell(m)(m.z(2, 3), m.z(4)),
        RuntimeError,
        "For batched 2-D input, hx should also be 2-D but got 1-D tensor",
        torch=TorchDoes(
            RuntimeError, "Input batch size 2 doesn't match hidden0 batch size 4", CELL_RANK
        ),
    ),
    Case(
        "input-dtype",
        lambda m: _cell(m)(m.z(2, 3, dtype="float64")),
        RuntimeError,
        _cell_dtype("input", "float64", "float32"),
        torch=TorchDoes(RuntimeError, _mat_dtypes("Double", "Float"), CELL_DTYPE),
    ),
    Case(
        "input-dtype-int",
        lambda m: _cell(m)(m.z(2, 3, dtype="int64")),
        RuntimeError,
        "RNNCell input dtype (int64) does not match weight dtype (float32). "
        "Convert input: input.to(elman.float32)",
        torch=TorchDoes(RuntimeError, _mat_dtypes("Long", "Float"), CELL_DTYPE),
    ),
    Case(
        "hx-dtype",
        lambda m: _cell(m)(m.z(2, 3), m.z(2, 4, dtype="float64")),
        RuntimeError,
        _cell_dtype("hx", "float64", "float32"),
        torch=TorchDoes(RuntimeError, _mat_dtypes("Double", "Float"), CELL_DTYPE),
    ),
    Case(
        "hx-dtype-unbatched",
        lambda m: _cell(m, dtype=m.dt("float64"))(m.z(3, dtype="float64"), m.z(4)),
        RuntimeError,
        _cell_dtype("hx", "float32", "float64"),
        torch=TorchDoes(RuntimeError, _mat_dtypes("Float", "Double"), CELL_DTYPE),
    ),
    Case(
        "input-list",
        lambda m: _cell(m)([[1.0, 2.0, 3.0]]),
        None,
        torch=TorchDoes(AttributeError, "'list' object has no attribute 'dim'", ARRAYS),
    ),
    Case("empty-batch", lambda m: _cell(m)(m.z(0, 3)), None),
    Case(
        "extra-positional",
        lambda m: _cell(m)(m.z(2, 3), None, 1),
        TypeError,
        "RNNCell.forward() takes from 2 to 3 positional arguments but 4 were given",
    ),
]


@pytest.mark.parametrize("case", CELL, ids=lambda c: c.id)
def test_rnn_cell(case: Case) -> None:
    _check(case)


def test_every_difference_has_a_note() -> None:
    """The notes of the TorchDoes rows are the list for docs/differences.md."""
    notes = {c.torch.note for c in CONSTRUCTOR + FORWARD + CELL if isinstance(c.torch, TorchDoes)}
    assert all(note.strip() for note in notes)
    assert len(notes) >= 10


# ---- construction succeeds with torch's attributes -----------------------------------------

ATTRS = (
    "mode",
    "input_size",
    "hidden_size",
    "num_layers",
    "nonlinearity",
    "bias",
    "batch_first",
    "dropout",
    "bidirectional",
    "proj_size",
    "training",
)


@pytest.mark.parametrize(
    "args, kwargs",
    [
        ((3, 4), {}),
        ((3, 4, 2, "relu", False, True, 0.1, True), {}),
        ((3, 4), {"num_layers": 3, "nonlinearity": "relu", "dropout": 1}),
        ((3, 4, np.int64(2)), {"dropout": 0}),
    ],
)
def test_rnn_attributes(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    rnn = elman.nn.RNN(*args, **kwargs)
    got = {name: getattr(rnn, name) for name in ATTRS}
    assert type(got["dropout"]) is float and type(got["num_layers"]) is int
    expected = {
        "mode": "RNN_RELU"
        if "relu" in args or kwargs.get("nonlinearity") == "relu"
        else "RNN_TANH",
        "input_size": 3,
        "hidden_size": 4,
        "proj_size": 0,
        "training": True,
    }
    assert {k: got[k] for k in expected} == expected
    if TORCH is not None:
        theirs = TORCH.nn.RNN(*args, **kwargs)
        assert got == {name: getattr(theirs, name) for name in ATTRS}


# ---- repr (reference §1.5), plus elman's nonlinearity='relu' --------------------------------

RNN_REPRS = [
    ((10, 20), {}, "RNN(10, 20)"),
    ((10, 20), {"num_layers": 2}, "RNN(10, 20, num_layers=2)"),
    ((10, 20, 2), {"nonlinearity": "relu"}, "RNN(10, 20, num_layers=2, nonlinearity='relu')"),
    ((7, 9), {"nonlinearity": "relu"}, "RNN(7, 9, nonlinearity='relu')"),
    ((7, 9), {"bias": False}, "RNN(7, 9, bias=False)"),
    ((7, 9), {"batch_first": True}, "RNN(7, 9, batch_first=True)"),
    ((7, 9), {"num_layers": 2, "dropout": 0.25}, "RNN(7, 9, num_layers=2, dropout=0.25)"),
    ((7, 9), {"bidirectional": True}, "RNN(7, 9, bidirectional=True)"),
    ((10, 20), {"dropout": 1}, "RNN(10, 20, dropout=1.0)"),
    ((10, 20), {"dropout": 0}, "RNN(10, 20)"),
    (
        (10, 20, 3),
        {"bias": False, "batch_first": True, "dropout": 0.5, "bidirectional": True},
        "RNN(10, 20, num_layers=3, bias=False, batch_first=True, dropout=0.5, bidirectional=True)",
    ),
    (
        (10, 20, 3, "relu", False, True, 0.5, True),
        {},
        "RNN(10, 20, num_layers=3, nonlinearity='relu', bias=False, batch_first=True, "
        "dropout=0.5, bidirectional=True)",
    ),
]


def _quiet(build: Callable[[], Any]) -> Any:
    """Build, accepting only the single-layer dropout warning."""
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        module = build()
    assert all("non-zero dropout expects" in str(w.message) for w in rec)
    return module


@pytest.mark.parametrize("args, kwargs, expected", RNN_REPRS, ids=lambda v: str(v))
def test_rnn_repr(args: tuple[Any, ...], kwargs: dict[str, Any], expected: str) -> None:
    assert repr(_quiet(lambda: elman.nn.RNN(*args, **kwargs))) == expected
    if TORCH is not None:  # torch never shows the nonlinearity
        theirs = repr(_quiet(lambda: TORCH.nn.RNN(*args, **kwargs)))
        assert theirs == expected.replace(", nonlinearity='relu'", "")


CELL_REPRS = [
    ({}, "RNNCell(3, 4)"),
    ({"nonlinearity": "relu"}, "RNNCell(3, 4, nonlinearity=relu)"),
    ({"bias": False}, "RNNCell(3, 4, bias=False)"),
    ({"bias": False, "nonlinearity": "relu"}, "RNNCell(3, 4, bias=False, nonlinearity=relu)"),
]


@pytest.mark.parametrize("kwargs, expected", CELL_REPRS, ids=lambda v: str(v))
def test_rnn_cell_repr(kwargs: dict[str, Any], expected: str) -> None:
    assert repr(elman.nn.RNNCell(3, 4, **kwargs)) == expected
    if TORCH is not None:
        assert repr(TORCH.nn.RNNCell(3, 4, **kwargs)) == expected


@requires_torch
def test_torch_oracle_sees_the_same_first_failure() -> None:
    """A guard on the harness: a SAME row whose call torch accepts would fail loudly."""
    exc, _ = _run_torch(lambda m: m.nn.RNN(3, 4, bias=1))
    assert isinstance(exc, TypeError)
    exc, _ = _run_torch(lambda m: m.nn.RNN(3, 4))
    assert exc is None
