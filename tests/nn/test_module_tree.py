"""Module registration and traversal against torch.nn.Module (order, reassignment, sharing,
None parameters), RNN's parameter bookkeeping, and printing.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from module_recipes import (
    LIBS,
    RECIPES,
    _both,
    _param,
    _structure,
    deep,
    simple_rnn,
    tied,
)

import elman
from conftest import TORCH


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda r: r.__name__)
def test_traversal_matches_torch(recipe: Callable[[Any], Any]) -> None:
    ours, theirs = _both(recipe)
    got = _structure(ours)
    # parameters() is named_parameters() without the names, object for object
    assert [id(p) for p in ours.parameters()] == [id(p) for _, p in ours.named_parameters()]
    if theirs is not None:
        assert got == _structure(theirs)


def test_registration_order_and_reassignment() -> None:
    for m in LIBS:
        model = deep(m)
        assert list(model._parameters) == ["gain", "absent", "offset"]
        assert list(model._modules) == ["first", "body", "hole", "rnn"]
        model.gain = _param(m, 5)  # re-assignment keeps its place
        model.first = m.nn.Linear(4, 1)
        assert list(model._parameters) == ["gain", "absent", "offset"]
        assert list(model._modules) == ["first", "body", "hole", "rnn"]
        assert tuple(model.state_dict()["gain"].shape) == (5,)
        del model.offset
        del model.body
        assert [n for n, _ in model.named_parameters()][:3] == [
            "gain",  # a module's own parameters come before its children's
            "first.weight",
            "first.bias",
        ]
        assert "body" not in dict(model.named_children())
        assert "offset" not in model.state_dict()
        model.absent = _param(m, 2)  # a declared-but-None parameter can be filled in
        assert "absent" in model.state_dict()


def test_shared_parameters_are_deduplicated_but_saved_under_every_name() -> None:
    for m in LIBS:
        model = tied(m)
        named = dict(model.named_parameters())
        assert list(named) == ["a.weight", "a.bias", "c.bias", "d.weight"]
        assert model.c.weight is model.a.weight and model.b is model.a
        assert list(model.state_dict()) == [
            "a.weight",
            "a.bias",
            "b.weight",
            "b.bias",
            "c.weight",
            "c.bias",
            "d.weight",
        ]
        assert [n for n, _ in model.named_modules()] == ["", "a", "c", "d"]


def test_register_parameter_none() -> None:
    for m in LIBS:
        fc = m.nn.Linear(3, 2, bias=False)
        cell = m.nn.RNNCell(3, 4, bias=False)
        assert fc.bias is None and cell.bias_ih is None and cell.bias_hh is None
        assert list(fc._parameters) == ["weight", "bias"]
        assert [n for n, _ in fc.named_parameters()] == ["weight"]
        assert list(cell.state_dict()) == ["weight_ih", "weight_hh"]
        assert repr(fc) == "Linear(in_features=3, out_features=2, bias=False)"
        fc.register_parameter("extra", None)
        assert fc.extra is None and list(fc.state_dict()) == ["weight"]
        fc.weight = None  # None may replace a parameter
        assert fc.weight is None and list(fc.state_dict()) == []


# ---- RNN's parameter bookkeeping ----------------------------------------------------------

RNN_CONFIGS = [
    dict(num_layers=1),
    dict(num_layers=2, bidirectional=True),
    dict(num_layers=3, bias=False),
    dict(num_layers=2, bias=False, bidirectional=True, nonlinearity="relu"),
]


@pytest.mark.parametrize("config", RNN_CONFIGS, ids=str)
def test_rnn_weight_names(config: dict[str, Any]) -> None:
    rnn = elman.nn.RNN(3, 4, **config)
    D = 2 if config.get("bidirectional") else 1
    n_per = 4 if config.get("bias", True) else 2
    assert list(rnn.state_dict()) == rnn._flat_weights_names
    assert [n for n, _ in rnn.named_parameters()] == rnn._flat_weights_names
    assert len(rnn._all_weights) == config["num_layers"] * D
    assert all(len(group) == n_per for group in rnn._all_weights)
    assert [n for group in rnn._all_weights for n in group] == rnn._flat_weights_names
    for names, params in zip(rnn._all_weights, rnn.all_weights, strict=True):
        assert all(p is getattr(rnn, n) for n, p in zip(names, params, strict=True))
    assert all(
        p is getattr(rnn, n)
        for n, p in zip(rnn._flat_weights_names, rnn._flat_weights, strict=True)
    )
    if TORCH is not None:
        theirs = TORCH.nn.RNN(3, 4, **config)
        assert rnn._all_weights == theirs._all_weights
        assert rnn._flat_weights_names == theirs._flat_weights_names
        assert {k: tuple(v.shape) for k, v in rnn.state_dict().items()} == {
            k: tuple(v.shape) for k, v in theirs.state_dict().items()
        }
        assert [[tuple(p.shape) for p in g] for g in rnn.all_weights] == [
            [tuple(p.shape) for p in g] for g in theirs.all_weights
        ]


def test_rnn_flat_weights_follow_reassignment() -> None:
    rnn = elman.nn.RNN(3, 4, 2)
    new = elman.nn.Parameter(np.ones((4, 4), np.float32))
    rnn.weight_hh_l1 = new
    assert rnn._flat_weights[rnn._flat_weights_names.index("weight_hh_l1")] is new
    assert rnn.all_weights[1][1] is new
    assert list(rnn.state_dict()) == rnn._flat_weights_names  # the order is kept


# ---- printing -------------------------------------------------------------------------------

SIMPLE_REPR = (
    "SimpleRNN(\n"
    "  (rnn): RNN(3, 5, batch_first=True)\n"
    "  (fc): Linear(in_features=5, out_features=2, bias=True)\n"
    ")"
)
DEEP_REPR = (
    "Deep(\n"
    "  (first): Linear(in_features=4, out_features=2, bias=True)\n"
    "  (body): Block(\n"
    "    (cell): RNNCell(2, 3, bias=False, nonlinearity=relu)\n"
    "    (proj): Linear(in_features=3, out_features=2, bias=False)\n"
    "  )\n"
    "  (hole): None\n"
    "  (rnn): RNN(2, 4, num_layers=2, nonlinearity='relu', bidirectional=True)\n"
    ")"
)


@pytest.mark.parametrize("recipe, expected", [(simple_rnn, SIMPLE_REPR), (deep, DEEP_REPR)])
def test_nested_repr(recipe: Callable[[Any], Any], expected: str) -> None:
    ours, theirs = _both(recipe)
    assert repr(ours) == str(ours) == expected
    if theirs is not None:  # torch's RNN repr never shows the nonlinearity
        assert repr(theirs) == expected.replace(", nonlinearity='relu'", "")


def test_repr_of_plain_and_extra_modules() -> None:
    for m in LIBS:

        class Empty(m.nn.Module):
            pass

        class Extra(m.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.inner = Empty()

            def extra_repr(self) -> str:
                return "a=1\nb=2"

        assert repr(Empty()) == "Empty()"
        assert repr(Extra()) == "Extra(\n  a=1\n  b=2\n  (inner): Empty()\n)"
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(NotImplementedError, match=r'missing the required "forward"'):
                Empty()(1)


def test_modules_and_parameters_follow_the_named_order_with_sharing() -> None:
    """modules()/parameters() walk without building names: same order, same dedup."""
    shared = elman.nn.Linear(2, 2)
    inner = elman.nn.Sequential(shared, elman.nn.Identity(), shared)
    model = elman.nn.Sequential(inner, elman.nn.RNN(2, 3, num_layers=2), inner, shared)
    model.extra = elman.nn.Parameter(elman.zeros(1))
    model.tied = shared.weight  # one Parameter under two names
    assert list(model.modules()) == [m for _, m in model.named_modules()]
    assert [id(p) for p in model.parameters()] == [id(p) for _, p in model.named_parameters()]
    assert [id(p) for p in model.parameters(recurse=False)] == [
        id(p) for _, p in model.named_parameters(recurse=False)
    ]
