"""RNNCell constructor and forward errors of torch, one row per bad call (the harness:
rnn_error_cases.py).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from rnn_error_cases import (
    ARRAYS,
    BOOL_SIZES,
    NOT_CPU,
    Case,
    TorchDoes,
    _check,
    _mat_dtypes,
)

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
