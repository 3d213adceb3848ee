"""Packing errors, one table row per bad call: the type and text torch gives, which elman
gives too (each row also runs on torch when it is installed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from packed_cases import (
    LEN0_MSG,
    SORTED_MSG,
    TU,
    _fixed_weights,  # noqa: F401  (an autouse fixture)
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

PAD = "pad_sequence"
# (id, call(lib, utils), exception type, elman's message, torch's message if different)
TORCH_ERRORS: list[tuple[str, Callable[[Any, Any], Any], type, str, str | None]] = [
    (
        "pack-unsorted",
        lambda lib, u: u.pack_padded_sequence(_zeros(lib, 4, 3, 2), [1, 3, 2]),
        RuntimeError,
        SORTED_MSG,
        None,
    ),
    (
        "pack-zero-length",
        lambda lib, u: u.pack_padded_sequence(_zeros(lib, 4, 3, 2), [3, 2, 0]),
        RuntimeError,
        LEN0_MSG,
        None,
    ),
    (
        "pack-zero-length-unsorted",
        lambda lib, u: u.pack_padded_sequence(
            _zeros(lib, 4, 3, 2), [0, 2, 3], enforce_sorted=False
        ),
        RuntimeError,
        LEN0_MSG,
        None,
    ),
    (
        "pack-negative-length",
        lambda lib, u: u.pack_padded_sequence(
            _zeros(lib, 4, 3, 2), [-1, 2, 3], enforce_sorted=False
        ),
        RuntimeError,
        LEN0_MSG,
        None,
    ),
    (
        "pack-length-count",
        lambda lib, u: u.pack_padded_sequence(_zeros(lib, 4, 3, 2), [3, 2]),
        RuntimeError,
        "Expected `len(lengths)` to be equal to batch_size, but got 2 (batch_size=3)",
        None,
    ),
    (
        "pack-length-count-bf",
        lambda lib, u: u.pack_padded_sequence(_zeros(lib, 4, 3, 2), [3, 2], batch_first=True),
        RuntimeError,
        "Expected `len(lengths)` to be equal to batch_size, but got 2 (batch_size=4)",
        None,
    ),
    (
        "pack-2d-lengths",
        lambda lib, u: u.pack_padded_sequence(_zeros(lib, 4, 3, 2), lib.tensor([[3, 2, 1]])),
        RuntimeError,
        "'lengths' argument should be a 1D CPU int64 tensor, but got 2D cpu Long tensor",
        None,
    ),
    (
        "pack-1d-input",
        lambda lib, u: u.pack_padded_sequence(_zeros(lib, 3), [3]),
        IndexError,
        "Dimension out of range (expected to be in range of [-1, 0], but got 1)",
        None,
    ),
    (
        "pack-0d-input",
        lambda lib, u: u.pack_padded_sequence(lib.tensor(1.0), [1]),
        IndexError,
        "Dimension specified as 1 but tensor has no dimensions",
        None,
    ),
    (
        "pack-empty",
        lambda lib, u: u.pack_padded_sequence(_zeros(lib, 4, 0, 2), []),
        RuntimeError,
        "Cannot pack empty tensors.",
        None,
    ),
    (
        "pad-total-length",
        lambda lib, u: u.pad_packed_sequence(
            u.pack_padded_sequence(_zeros(lib, 4, 3, 2), [4, 2, 1]), total_length=3
        ),
        ValueError,
        "Expected total_length to be at least the length of the longest sequence in input, but "
        "got total_length=3 and max sequence length being 4",
        None,
    ),
    (
        "pad-total-length-float",
        lambda lib, u: u.pad_packed_sequence(
            u.pack_padded_sequence(_zeros(lib, 4, 3, 2), [4, 2, 1]), total_length=5.0
        ),
        TypeError,
        "_pad_packed_sequence(): argument 'total_length' must be int, not float",
        "_pad_packed_sequence(): argument 'total_length' (position 5) must be int, not float",
    ),
    (
        "pad-not-packed",
        lambda lib, u: u.pad_packed_sequence(_zeros(lib, 3, 2, 1)),
        AttributeError,
        "'Tensor' object has no attribute 'batch_sizes'",
        None,
    ),
    (
        "unpack-not-packed",
        lambda lib, u: u.unpack_sequence(_zeros(lib, 3, 2, 1)),
        AttributeError,
        "'Tensor' object has no attribute 'batch_sizes'",
        None,
    ),
    (
        "pack_sequence-unsorted",
        lambda lib, u: u.pack_sequence([_zeros(lib, 1), _zeros(lib, 2)]),
        RuntimeError,
        SORTED_MSG,
        None,
    ),
    (
        "pack_sequence-empty-sequence",
        lambda lib, u: u.pack_sequence([_zeros(lib, 2), _zeros(lib, 0)]),
        RuntimeError,
        LEN0_MSG,
        None,
    ),
    (
        "pack_sequence-0d",
        lambda lib, u: u.pack_sequence([_zeros(lib, 2), lib.tensor(1.0)]),
        IndexError,
        "Dimension specified as 0 but tensor has no dimensions",
        None,
    ),
    (
        "pack_sequence-no-sequences",
        lambda lib, u: u.pack_sequence([]),
        RuntimeError,
        "received an empty list of sequences",
        None,
    ),
    (
        "pad_sequence-side",
        lambda lib, u: u.pad_sequence([_zeros(lib, 1)], padding_side="middle"),
        RuntimeError,
        "Expected padding_side to be one of left or right, but got middle.",
        None,
    ),
    (
        "pad_sequence-empty",
        lambda lib, u: u.pad_sequence([], padding_side="middle"),
        RuntimeError,
        "received an empty list of sequences",
        None,
    ),
    (
        "pad_sequence-int",
        lambda lib, u: u.pad_sequence(3),
        RuntimeError,
        f"{PAD}: Expected iterable for input sequences, but got arg of type: <class 'int'>",
        None,
    ),
    (
        "pad_sequence-trailing",
        lambda lib, u: u.pad_sequence([_zeros(lib, 2, 3), _zeros(lib, 2, 4)]),
        RuntimeError,
        "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1",
        None,
    ),
    (
        "pad_sequence-trailing-3d",
        lambda lib, u: u.pad_sequence([_zeros(lib, 2, 3, 4), _zeros(lib, 1, 2, 5)]),
        RuntimeError,
        "The size of tensor a (4) must match the size of tensor b (5) at non-singleton dimension 2",
        None,
    ),
    (
        "pad_sequence-fewer-dims",
        lambda lib, u: u.pad_sequence([_zeros(lib, 2, 3), _zeros(lib, 2)]),
        RuntimeError,
        "The size of tensor a (3) must match the size of tensor b (2) at non-singleton dimension 1",
        None,
    ),
    (
        "pad_sequence-more-dims",
        lambda lib, u: u.pad_sequence([_zeros(lib, 2, 3), _zeros(lib, 2, 1, 3)]),
        RuntimeError,
        "output with shape [2, 3] doesn't match the broadcast shape [2, 2, 3]",
        None,
    ),
    (
        "pad_sequence-first-broadcasts",
        lambda lib, u: u.pad_sequence([_zeros(lib, 2, 1), _zeros(lib, 2, 3)]),
        RuntimeError,
        "output with shape [2, 1] doesn't match the broadcast shape [2, 3]",
        None,
    ),
    (
        "pad_sequence-0d-later",
        lambda lib, u: u.pad_sequence([_zeros(lib, 2), lib.tensor(2.0)]),
        IndexError,
        "Dimension specified as 0 but tensor has no dimensions",
        None,
    ),
    (
        "pad_sequence-0d-first",
        lambda lib, u: u.pad_sequence([lib.tensor(2.0), _zeros(lib, 2)]),
        RuntimeError,
        "pad_sequence: expected sequences of at least one dimension (the length), "
        "got a 0-D tensor first",
        "ArrayRef: invalid slice, N = 1; size = 0",
    ),
    (
        "unpad-length-count",
        lambda lib, u: u.unpad_sequence(_zeros(lib, 3, 2, 1), lib.tensor([3, 2, 1])),
        ValueError,
        "unpad_sequence: got 3 lengths for a padded batch of 2 sequences",
        "zip() argument 2 is longer than argument 1",
    ),
    (
        "rnn-packed-dtype",
        lambda lib, u: _rnn(lib)(_packed_input(lib).double()),
        ValueError,
        "RNN input dtype (float64) does not match weight dtype (float32). Convert input: "
        "input.to(elman.float32), or convert model: model.to(elman.float64)",
        "RNN input dtype (torch.float64) does not match weight dtype (torch.float32). Convert "
        "input: input.to(torch.float32), or convert model: model.to(torch.float64)",
    ),
    (
        "rnn-packed-3d",
        lambda lib, u: _rnn(lib)(u.PackedSequence(_zeros(lib, 3, 2, 3), lib.tensor([2, 1]))),
        RuntimeError,
        "input must have 2 dimensions, got 3",
        None,
    ),
    (
        "rnn-packed-features",
        lambda lib, u: _rnn(lib)(u.PackedSequence(_zeros(lib, 3, 5), lib.tensor([2, 1]))),
        RuntimeError,
        "input.size(-1) must be equal to input_size. Expected 3, got 5",
        None,
    ),
    (
        "rnn-packed-hx-layers",
        lambda lib, u: _rnn(lib)(_packed_input(lib), _zeros(lib, 2, 3, 4)),
        RuntimeError,
        "Expected hidden size (4, 3, 4), got [2, 3, 4]",
        None,
    ),
    (
        "rnn-packed-hx-2d",
        lambda lib, u: _rnn(lib)(_packed_input(lib), _zeros(lib, 4, 3)),
        RuntimeError,
        "Expected hidden size (4, 3, 4), got [4, 3]",
        None,
    ),
    (
        "rnn-packed-hx-batch-sorted",
        lambda lib, u: _rnn(lib)(_packed_input(lib, True), _zeros(lib, 4, 2, 4)),
        RuntimeError,
        "Expected hidden size (4, 3, 4), got [4, 2, 4]",
        None,
    ),
    (
        "rnn-packed-hx-dtype",
        lambda lib, u: _rnn(lib)(_packed_input(lib), _zeros(lib, 4, 3, 4, dtype=np.float64)),
        RuntimeError,
        "RNN hx dtype (float64) does not match weight dtype (float32). Convert hx: "
        "hx.to(elman.float32)",
        "mat1 and mat2 must have the same dtype, but got Double and Float",
    ),
    (
        "rnn-packed-extra-argument",
        lambda lib, u: _rnn(lib)(_packed_input(lib), None, 3),
        TypeError,
        "RNN.forward() takes from 2 to 3 positional arguments but 4 were given",
        None,
    ),
]


@pytest.mark.parametrize("row", TORCH_ERRORS, ids=[r[0] for r in TORCH_ERRORS])
def test_error(row: tuple[Any, ...]) -> None:
    _, call, exc, message, _ = row
    with pytest.raises(exc) as info:
        call(elman, U)
    assert type(info.value) is exc and str(info.value) == message


@requires_torch
@pytest.mark.parametrize("row", TORCH_ERRORS, ids=[r[0] for r in TORCH_ERRORS])
def test_error_matches_torch(row: tuple[Any, ...]) -> None:
    _, call, exc, message, torch_message = row
    with pytest.raises(exc) as info:
        call(TORCH, TU)
    assert type(info.value) is exc and str(info.value) == (torch_message or message)
