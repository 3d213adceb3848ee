"""RNN constructor errors of torch, one row per bad call (the harness: rnn_error_cases.py), and
the dropout warning.
"""

from __future__ import annotations

import numpy as np
import pytest
from rnn_error_cases import (
    BIDI,
    BOOL_SIZES,
    DROPOUT_RANGE,
    F32_F64,
    NOT_CPU,
    NUM_LAYERS,
    PROJ,
    Case,
    TorchDoes,
    _check,
    _dropout_warning,
    _pat,
)

import elman

# ---- the RNN constructor (reference §1.2, torch's order: the first failure wins) --------


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
