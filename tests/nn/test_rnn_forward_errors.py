"""RNN.forward errors of torch, in torch's order of checks, one row per bad call (the harness:
rnn_error_cases.py).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
from rnn_error_cases import (
    ARRAYS,
    F32_F64,
    HX_DTYPE,
    UNBATCHED_HX,
    Case,
    TorchDoes,
    _check,
    _input_dtype,
    _mat_dtypes,
)

# ---- RNN.forward (reference §2.3, torch's order) ------------------------------------------


def _rnn(m: Any, **kw: Any) -> Any:
    return m.nn.RNN(3, 4, 2, **kw)


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
