"""Where elman's packing deliberately does better than torch (docs/differences.md): one row
per case, each pinning what torch does instead so the list stays true; the ``lengths=``
keyword's errors.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from packed_cases import (
    LEN0_MSG,
    TU,
    _fixed_weights,  # noqa: F401  (an autouse fixture)
    _hand_packed,
    _packed_input,
    _rnn,
    _zeros,
)

import elman
from conftest import (
    TORCH,
    requires_torch,
)
from elman.nn.utils import rnn as U

# Where elman deliberately differs: (id, call(lib, utils), elman's exception type and message,
# torch's outcome: None (no error) or (exception type, message)).
BETTER: list[tuple[str, Callable[[Any, Any], Any], type, str, tuple[type, str] | None]] = [
    (
        "pack-length-above-T",
        lambda lib, u: u.pack_padded_sequence(_zeros(lib, 4, 3, 2), [5, 2, 1]),
        RuntimeError,
        "Length of all samples has to be at most the padded length 4, but found an "
        "element in 'lengths' that is 5",
        None,
    ),
    (
        "pack-length-above-T-rnn",
        lambda lib, u: lib.nn.RNN(2, 3)(u.pack_padded_sequence(_zeros(lib, 4, 3, 2), [5, 2, 1])),
        RuntimeError,
        "Length of all samples has to be at most the padded length 4, but found an element in "
        "'lengths' that is 5",
        (RuntimeError, "start (7) + length (1) exceeds dimension size (7)."),
    ),
    (
        "rnn-packed-hx-small-batch",
        lambda lib, u: _rnn(lib)(_packed_input(lib), _zeros(lib, 4, 2, 4)),
        RuntimeError,
        "Expected hidden size (4, 3, 4), got [4, 2, 4]",
        (RuntimeError, "INDICES element is out of DATA bounds, id=2 axis_dim=2"),
    ),
    (
        "rnn-packed-hx-large-batch",
        lambda lib, u: _rnn(lib)(_packed_input(lib), _zeros(lib, 4, 5, 4)),
        RuntimeError,
        "Expected hidden size (4, 3, 4), got [4, 5, 4]",
        None,
    ),
    (
        "unpad-length-above-T",
        lambda lib, u: u.unpad_sequence(_zeros(lib, 3, 2), lib.tensor([4, 2])),
        RuntimeError,
        "unpad_sequence: lengths must be in [0, 3] (the padded length), got [4, 2]",
        None,
    ),
    (
        "unpad-negative-length",
        lambda lib, u: u.unpad_sequence(_zeros(lib, 3, 2), lib.tensor([-1, 2])),
        RuntimeError,
        "unpad_sequence: lengths must be in [0, 3] (the padded length), got [-1, 2]",
        None,
    ),
    (
        "hand-packed-too-few-rows",
        lambda lib, u: lib.nn.RNN(3, 4)(_hand_packed(lib, [2, 2, 1])),
        RuntimeError,
        "PackedSequence batch_sizes add up to 5 steps, but data has 4 rows",
        (RuntimeError, "start (4) + length (1) exceeds dimension size (4)."),
    ),
    (
        "hand-packed-too-many-rows",
        lambda lib, u: lib.nn.RNN(3, 4)(_hand_packed(lib, [2, 1])),
        RuntimeError,
        "PackedSequence batch_sizes add up to 3 steps, but data has 4 rows",
        None,
    ),
    (
        "hand-packed-growing",
        lambda lib, u: lib.nn.RNN(3, 4)(_hand_packed(lib, [1, 3])),
        RuntimeError,
        "PackedSequence batch_sizes must be a non-empty 1-D sequence of positive, "
        "non-increasing counts, got [1, 3]",
        (RuntimeError, "output with shape [1, 4] doesn't match the broadcast shape [3, 4]"),
    ),
    (
        "hand-packed-zero",
        lambda lib, u: lib.nn.RNN(3, 4)(_hand_packed(lib, [4, 0])),
        RuntimeError,
        "PackedSequence batch_sizes must be a non-empty 1-D sequence of positive, "
        "non-increasing counts, got [4, 0]",
        None,
    ),
    (
        "hand-packed-bad-unsorted",
        lambda lib, u: lib.nn.RNN(3, 4)(_hand_packed(lib, [3, 1], [2, 0, 1], [0, 1, 2])),
        RuntimeError,
        "PackedSequence unsorted_indices must invert sorted_indices",
        None,
    ),
    (
        "hand-packed-not-a-permutation",
        lambda lib, u: lib.nn.RNN(3, 4)(_hand_packed(lib, [2, 1, 1], [0, 2])),
        RuntimeError,
        "invert_permutation: expected a permutation of 0..N-1, got [0, 2]",
        (RuntimeError, "index 2 is out of bounds for dimension 0 with size 2"),
    ),
    (
        "hand-packed-wrong-size-unsorted",
        lambda lib, u: lib.nn.RNN(3, 4)(_hand_packed(lib, [2, 1, 1], [1, 0], [1, 0, 2])),
        RuntimeError,
        "PackedSequence unsorted_indices must be a permutation of the 2 sequences, got [1, 0, 2]",
        (RuntimeError, "INDICES element is out of DATA bounds, id=2 axis_dim=2"),
    ),
]


@pytest.mark.parametrize("row", BETTER, ids=[r[0] for r in BETTER])
def test_better_than_torch(row: tuple[Any, ...]) -> None:
    _, call, exc, message, _ = row
    with pytest.raises(exc) as info:
        call(elman, U)
    assert type(info.value) is exc and str(info.value) == message


@requires_torch
@pytest.mark.parametrize("row", BETTER, ids=[r[0] for r in BETTER])
def test_torch_still_behaves_as_documented(row: tuple[Any, ...]) -> None:
    _, call, _, _, outcome = row
    if outcome is None:
        call(TORCH, TU)
        return
    with pytest.raises(outcome[0]) as info:
        call(TORCH, TU)
    assert str(info.value) == outcome[1]


def test_elman_accepts_what_torch_rejects() -> None:
    """Lists where torch raises AttributeError/TypeError; float batch_sizes become int64."""
    assert [p.tolist() for p in U.unpad_sequence(elman.tensor([[1, 2], [3, 0]]), [2, 1])] == [
        [1, 3],
        [2],
    ]
    assert U.invert_permutation([1, 0]).tolist() == [1, 0]
    packed = U.PackedSequence(elman.tensor([1.0, 2.0]), elman.tensor([1.0, 1.0]))
    assert packed.batch_sizes.dtype == np.int64
    with pytest.raises(ValueError, match="PackedSequence needs batch_sizes"):
        U.PackedSequence(elman.tensor([1.0, 2.0]))  # torch: a bare AssertionError
    with pytest.raises(RuntimeError, match=re.escape("permutation of 0..N-1, got [0, 0]")):
        U.invert_permutation([0, 0])  # torch: uninitialised memory in the result


@requires_torch
def test_torch_rejects_what_elman_accepts() -> None:
    with pytest.raises(AttributeError, match="'list' object has no attribute 'device'"):
        TU.unpad_sequence(TORCH.tensor([[1, 2], [3, 0]]), [2, 1])
    with pytest.raises(TypeError, match="must be Tensor, not list"):
        TU.invert_permutation([1, 0])
    packed = TU.PackedSequence(TORCH.tensor([1.0, 2.0]), TORCH.tensor([1.0, 1.0]))
    assert packed.batch_sizes.dtype == TORCH.float32
    with pytest.raises(AssertionError):
        TU.PackedSequence(TORCH.tensor([1.0, 2.0]))


def test_lengths_keyword_errors() -> None:
    rnn = elman.nn.RNN(3, 4, 2)
    with pytest.raises(ValueError, match="lengths= needs a batched 3-D input, got a 2D tensor"):
        rnn(elman.zeros(5, 3), lengths=[5])
    with pytest.raises(ValueError, match="a PackedSequence has its own"):
        rnn(_packed_input(elman), lengths=[5, 2, 4])
    x = elman.zeros(5, 3, 3)
    with pytest.raises(RuntimeError, match="at most the padded length 5"):
        rnn(x, lengths=[6, 2, 1])
    with pytest.raises(RuntimeError, match=re.escape("but got 2 (batch_size=3)")):
        rnn(x, lengths=[5, 2])
    with pytest.raises(RuntimeError, match=re.escape(LEN0_MSG)):
        rnn(x, lengths=[5, 0, 1])
    with pytest.raises(RuntimeError, match=re.escape("size (2, 3, 4), got [2, 2, 4]")):
        rnn(x, elman.zeros(2, 2, 4), lengths=[5, 2, 1])
    with pytest.raises(RuntimeError, match="Expected sequence length to be larger than 0"):
        rnn(elman.zeros(0, 3, 3), lengths=[1, 1, 1])
    with pytest.raises(ValueError, match="does not match weight dtype"):
        rnn(elman.zeros(5, 3, 3, dtype=elman.float64), lengths=[5, 2, 1])
