"""Module modes, gradients, dtype and copies against torch: train/eval, zero_grad, gradients
after loading, to(float64) and back, other devices refused, deepcopy.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from module_recipes import (
    LIBS,
    E,
    T,
    _values,
    deep,
    simple_rnn,
    tied,
)

import elman
from conftest import TORCH, assert_close, to_numpy

# ---- modes, gradients, dtype and copies ---------------------------------------------------


def test_train_eval_recurse() -> None:
    for m in LIBS:
        model = deep(m)
        assert all(x.training for x in model.modules())
        assert model.eval() is model
        assert not any(x.training for x in model.modules())
        assert model.body.train() is model.body
        assert [x.training for x in model.modules()] == [False, False, True, True, True, False]
        model.train(False)
        assert not any(x.training for x in model.modules())
        model.train()
        assert all(x.training for x in model.modules())


def _loss(m: Any, model: Any) -> Any:
    x = np.linspace(-1, 1, 4 * 6 * 3).reshape(4, 6, 3).astype(np.float32)
    return (model(m.t(x)) ** 2).sum()


def test_zero_grad() -> None:
    for m in LIBS:
        model = simple_rnn(m)
        _loss(m, model).backward()
        grads = {n: p.grad for n, p in model.named_parameters()}
        assert all(g is not None and np.any(to_numpy(g) != 0) for g in grads.values())
        model.zero_grad(set_to_none=False)  # zeroed in place: the same objects
        for name, p in model.named_parameters():
            assert p.grad is grads[name] and not np.any(to_numpy(p.grad))
        model.zero_grad()
        assert all(p.grad is None for p in model.parameters())


def test_grads_match_torch_after_loading() -> None:
    if TORCH is None:
        pytest.skip("torch not available (test oracle)")
    theirs = simple_rnn(T)
    ours = simple_rnn(E)
    ours.load_state_dict(theirs.state_dict())
    _loss(E, ours).backward()
    _loss(T, theirs).backward()
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters(), strict=True):
        assert_close(p.grad, q.grad, name)


@pytest.mark.parametrize(
    "convert",
    [
        lambda x: x.double(),
        lambda x: x.to(elman.float64),
        lambda x: x.to("float64"),
        lambda x: x.to(dtype=np.float64),
        lambda x: x.to("cpu", elman.float64),
        lambda x: x.to(device="cpu", dtype="float64"),
    ],
    ids=["double", "to-dtype", "to-str", "to-kw", "to-cpu-dtype", "to-kw-both"],
)
def test_to_float64_and_back(convert: Callable[[Any], Any]) -> None:
    model = simple_rnn(E)
    params = list(model.parameters())
    before = {k: v.copy() for k, v in _values(model).items()}
    _loss(E, model).backward()
    assert convert(model) is model
    assert list(model.parameters()) == params and all(
        a is b for a, b in zip(model.parameters(), params, strict=True)
    )
    assert all(p.dtype == np.float64 and p.grad.dtype == np.float64 for p in params)
    for key, value in _values(model).items():
        np.testing.assert_array_equal(value, before[key].astype(np.float64))
    x = np.linspace(-1, 1, 2 * 4 * 3).reshape(2, 4, 3)
    out = model(elman.tensor(x))
    assert out.dtype == np.float64
    for keep in (lambda x: x.to("cpu"), lambda x: x.to(device="cpu"), lambda x: x.to()):
        keep(model)  # a device alone does not change the dtype
        assert all(p.dtype == np.float64 for p in params)
    assert model.float() is model
    for key, value in _values(model).items():
        np.testing.assert_array_equal(value, before[key])  # float32 -> 64 -> 32 is exact
    if TORCH is not None:
        theirs = simple_rnn(T)
        theirs.load_state_dict({k: TORCH.from_numpy(v) for k, v in before.items()})
        assert_close(out, theirs.double()(TORCH.from_numpy(x)), "float64 forward")


def test_to_rejects_other_devices() -> None:
    model = simple_rnn(E)
    with pytest.raises(ValueError, match="elman runs on the CPU only"):
        model.to("cuda")
    with pytest.raises(ValueError, match="elman runs on the CPU only"):
        model.to(device="cuda:0", dtype=np.float64)
    assert model.fc.weight.dtype == np.float32


def test_deepcopy_round_trip() -> None:
    model = tied(E)
    model.a.weight.grad = elman.tensor(np.ones((2, 2), np.float32))
    clone = copy.deepcopy(model)
    assert repr(clone) == repr(model)
    assert list(clone.state_dict()) == list(model.state_dict())
    for (name, p), (_, q) in zip(clone.named_parameters(), model.named_parameters(), strict=True):
        assert p is not q and isinstance(p, elman.nn.Parameter) and p.requires_grad, name
        assert not np.shares_memory(p.detach().numpy(), q.detach().numpy())
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
    assert clone.c.weight is clone.a.weight and clone.b is clone.a  # ties survive
    np.testing.assert_array_equal(clone.a.weight.grad.numpy(), np.ones((2, 2)))
    with elman.no_grad():
        clone.a.weight.fill_(5.0)
    assert not np.any(model.a.weight.detach().numpy() == 5.0)
    rnn = simple_rnn(E)
    x = elman.tensor(np.linspace(-1, 1, 2 * 4 * 3).reshape(2, 4, 3).astype(np.float32))
    np.testing.assert_array_equal(copy.deepcopy(rnn)(x).detach().numpy(), rnn(x).detach().numpy())
