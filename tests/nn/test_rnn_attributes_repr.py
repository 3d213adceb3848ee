"""RNN and RNNCell: construction keeps torch's attributes, reprs as torch's, the list of
deliberate differences (every TorchDoes row of the error tables has a note), and a guard on
the torch-oracle harness.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from rnn_error_cases import (
    TorchDoes,
    _run_torch,
)
from test_rnn_cell_errors import CELL
from test_rnn_constructor_errors import CONSTRUCTOR
from test_rnn_forward_errors import FORWARD

import elman
from conftest import TORCH, requires_torch


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
