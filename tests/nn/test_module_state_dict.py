"""state_dict and load_state_dict against torch: detached views, values, torch's tensors as
checkpoint values, the errors (elman changes nothing when a load fails: a deliberate
difference), strict=False.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
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
)

import elman
from conftest import TORCH, assert_close, requires_torch, to_numpy

# ---- state_dict and load_state_dict --------------------------------------------------------


def test_state_dict_values_are_detached_views() -> None:
    model = simple_rnn(E)
    sd = model.state_dict()
    assert all(not v.requires_grad for v in sd.values())
    assert np.shares_memory(sd["fc.weight"].numpy(), model.fc.weight.detach().numpy())
    assert sd["fc.weight"]._data is model.fc.weight._data
    kept = model.state_dict(keep_vars=True)
    assert kept["rnn.weight_ih_l0"] is model.rnn.weight_ih_l0
    assert list(model.state_dict(prefix="m.")) == ["m." + k for k in sd]


def _random_state(model: Any, seed: int = 0, dtype: Any = None) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        k: rng.standard_normal(tuple(v.shape)).astype(dtype or to_numpy(v).dtype)
        for k, v in model.state_dict().items()
    }


@pytest.mark.parametrize("kind", ["ndarray", "elman", "float64"])
def test_load_state_dict_values(kind: str) -> None:
    model = deep(E)
    state = _random_state(model, dtype=np.float64 if kind == "float64" else None)
    if kind == "elman":
        state = {k: elman.tensor(v) for k, v in state.items()}
    result = model.load_state_dict(state)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    for key, value in _values(model).items():
        assert value.dtype == np.float32  # cast to the parameter's dtype, as torch
        np.testing.assert_array_equal(value, to_numpy(state[key]).astype(np.float32))


@requires_torch
def test_load_torch_state_dict_as_is() -> None:
    torch = TORCH
    torch.manual_seed(0)
    theirs = simple_rnn(T)
    ours = simple_rnn(E)
    ours.load_state_dict(theirs.state_dict())
    for key, value in theirs.state_dict().items():
        np.testing.assert_array_equal(to_numpy(ours.state_dict()[key]), value.numpy())
    x = np.random.default_rng(1).standard_normal((4, 6, 3)).astype(np.float32)
    assert_close(ours(elman.tensor(x)), theirs(torch.from_numpy(x)), "SimpleRNN forward")
    # Parameters that require grad (keep_vars=True) load too
    ours.load_state_dict(theirs.double().state_dict(keep_vars=True))
    assert ours.fc.weight.dtype == np.float32


def test_elman_does_not_import_torch() -> None:
    code = textwrap.dedent(
        """
        import sys
        import numpy as np
        import elman

        class FakeTorchTensor:  # what load_state_dict may see: detach() and numpy()
            def __init__(self, a): self.a = a
            def detach(self): return self
            def cpu(self): return self
            def numpy(self): return self.a

        rnn = elman.nn.RNN(3, 4)
        state = {k: FakeTorchTensor(np.full(tuple(v.shape), 0.5, np.float32))
                 for k, v in rnn.state_dict().items()}
        rnn.load_state_dict(state)
        assert float(rnn.weight_ih_l0.detach().numpy()[0, 0]) == 0.5
        assert "torch" not in sys.modules, "elman imported torch"
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def _torch_shapes(text: str) -> str:
    """torch's message with shapes as elman prints them: torch.Size([4, 5]) -> (4, 5)."""

    def as_tuple(match: re.Match[str]) -> str:
        dims = [d.strip() for d in match.group(1).split(",") if d.strip()]
        return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"

    return re.sub(r"torch\.Size\(\[(.*?)\]\)", as_tuple, text)


def _bad_state(m: Any, edit: str) -> dict[str, Any]:
    state = {k: v for k, v in simple_rnn(m).state_dict().items()}
    zeros = (
        (lambda *s: m.t(np.zeros(s, np.float32)))
        if m is E
        else (lambda *s: T.t(np.zeros(s, np.float32)))
    )
    if "missing" in edit:
        del state["rnn.weight_hh_l0"], state["fc.bias"]
    if "unexpected" in edit:
        state = {"fc.x": zeros(1), **state, "z": zeros(1), "rnn.y": zeros(1)}
    if "size" in edit:
        state["rnn.bias_ih_l0"] = zeros(4)
        state["fc.weight"] = zeros(3, 5)
    return state


HEAD = "Error(s) in loading state_dict for SimpleRNN:\n\t"
MISSING = 'Missing key(s) in state_dict: "rnn.weight_hh_l0", "fc.bias". '
UNEXPECTED = 'Unexpected key(s) in state_dict: "z", "rnn.y", "fc.x". '
SIZE = (
    "size mismatch for rnn.bias_ih_l0: copying a param with shape (4,) from checkpoint, the "
    "shape in current model is (5,).\n\tsize mismatch for fc.weight: copying a param with "
    "shape (3, 5) from checkpoint, the shape in current model is (2, 5)."
)

LOAD_ERRORS = [
    ("missing", True, HEAD + MISSING),
    ("unexpected", True, HEAD + UNEXPECTED),
    ("size", True, HEAD + SIZE),
    ("missing unexpected size", True, HEAD + MISSING + "\n\t" + UNEXPECTED + "\n\t" + SIZE),
    ("missing unexpected size", False, HEAD + SIZE),
]


@pytest.mark.parametrize("edit, strict, message", LOAD_ERRORS, ids=lambda v: str(v))
def test_load_state_dict_errors(edit: str, strict: bool, message: str) -> None:
    model = simple_rnn(E)
    before = _values(model)
    with pytest.raises(RuntimeError) as info:
        model.load_state_dict(_bad_state(E, edit), strict=strict)
    assert str(info.value) == message
    after = _values(model)  # all-or-nothing: nothing was copied
    assert all(np.array_equal(before[k], after[k]) for k in before)
    if TORCH is not None:
        theirs = simple_rnn(T)
        with pytest.raises(RuntimeError) as info:
            theirs.load_state_dict(_bad_state(T, edit), strict=strict)
        assert _torch_shapes(str(info.value)) == message


@requires_torch
def test_torch_loads_partially_before_raising_but_elman_does_not() -> None:
    """The documented difference: torch copies the good entries of a failing load."""
    torch = TORCH
    for m, changed in ((E, False), (T, True)):
        model = simple_rnn(m)
        state = _bad_state(m, "size")
        state["fc.bias"] = m.t(np.full(2, 7.0, np.float32)) if m is E else torch.full((2,), 7.0)
        with pytest.raises(RuntimeError, match="size mismatch"):
            model.load_state_dict(state)
        assert bool(np.all(to_numpy(model.fc.bias) == 7.0)) is changed


def test_load_state_dict_not_strict() -> None:
    for m in LIBS:
        model = simple_rnn(m)
        result = model.load_state_dict(_bad_state(m, "missing unexpected"), strict=False)
        assert result.missing_keys == ["rnn.weight_hh_l0", "fc.bias"]
        assert result.unexpected_keys == ["z", "rnn.y", "fc.x"]
        assert tuple(result) == (result.missing_keys, result.unexpected_keys)
        assert repr(result) == (
            "_IncompatibleKeys(missing_keys=['rnn.weight_hh_l0', 'fc.bias'], "
            "unexpected_keys=['z', 'rnn.y', 'fc.x'])"
        )


def test_load_state_dict_partial_not_strict_copies_what_matches() -> None:
    model = simple_rnn(E)
    new = np.full((2,), 3.0, np.float32)
    result = model.load_state_dict({"fc.bias": new, "other": new}, strict=False)
    np.testing.assert_array_equal(model.fc.bias.detach().numpy(), new)
    assert result.unexpected_keys == ["other"] and len(result.missing_keys) == 5


def test_load_state_dict_bad_inputs() -> None:
    model = simple_rnn(E)
    with pytest.raises(TypeError, match=re.escape("Expected state_dict to be dict-like, got ")):
        model.load_state_dict([("fc.bias", np.zeros(2))])
    state = {k: to_numpy(v) for k, v in model.state_dict().items()}
    state["fc.bias"] = "zeros"
    with pytest.raises(RuntimeError) as info:
        model.load_state_dict(state)
    assert str(info.value) == (
        "Error(s) in loading state_dict for SimpleRNN:\n\tWhile copying the parameter named "
        '"fc.bias", expected an ndarray or Tensor-like object from checkpoint but received '
        "<class 'str'>"
    )
    if TORCH is not None:
        theirs = simple_rnn(T)
        with pytest.raises(TypeError, match="Expected state_dict to be dict-like"):
            theirs.load_state_dict([("fc.bias", TORCH.zeros(2))])
        state = {k: v for k, v in theirs.state_dict().items()}
        state["fc.bias"] = "zeros"
        with pytest.raises(RuntimeError, match='While copying the parameter named "fc.bias"'):
            theirs.load_state_dict(state)
        state["fc.bias"] = np.zeros(2, np.float32)  # torch rejects ndarrays; elman takes them
        with pytest.raises(RuntimeError, match="received <class 'numpy.ndarray'>"):
            theirs.load_state_dict(state)
