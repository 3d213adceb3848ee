"""Module semantics against torch.nn.Module: registration, traversal, state dicts, modes.

Every model here is built twice from one recipe, once with ``elman.nn`` and once with
``torch.nn`` (when torch is importable), and the two are compared name by name and value
by value. Where elman deliberately differs (a failing ``load_state_dict`` changes nothing;
ndarrays are accepted as checkpoint values; shapes print as tuples), the test says so.
"""

from __future__ import annotations

import copy
import re
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

import elman
from conftest import TORCH, assert_close, requires_torch, to_numpy

E = SimpleNamespace(
    nn=elman.nn,
    dt=np.dtype,
    t=lambda a: elman.tensor(np.asarray(a)),
)
T = (
    None
    if TORCH is None
    else SimpleNamespace(
        nn=TORCH.nn,
        dt=lambda name: getattr(TORCH, name),
        t=lambda a: TORCH.from_numpy(np.array(a)),
    )
)
LIBS = [E] if T is None else [E, T]


def _param(m: Any, *shape: int) -> Any:
    return m.nn.Parameter(m.t(np.arange(np.prod(shape), dtype=np.float32).reshape(shape)))


# ---- recipes: each returns a fresh model of the given library -----------------------------


def simple_rnn(m: Any) -> Any:
    class SimpleRNN(m.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rnn = m.nn.RNN(3, 5, batch_first=True)
            self.fc = m.nn.Linear(5, 2)

        def forward(self, x: Any) -> Any:
            out, _ = self.rnn(x)
            return self.fc(out[:, -1])

    return SimpleRNN()


def deep(m: Any) -> Any:
    """Parameters, children and a None child interleaved; a nested stack; a relu RNN."""

    class Block(m.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.scale = _param(m, 2)
            self.cell = m.nn.RNNCell(2, 3, bias=False, nonlinearity="relu")
            self.proj = m.nn.Linear(3, 2, bias=False)

    class Deep(m.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.first = m.nn.Linear(4, 2)
            self.gain = _param(m, 3)
            self.body = Block()
            self.register_parameter("absent", None)
            self.register_module("hole", None)
            self.rnn = m.nn.RNN(2, 4, 2, nonlinearity="relu", bidirectional=True)
            self.offset = _param(m, 1)

    return Deep()


def tied(m: Any) -> Any:
    """One module under two names, and one Parameter in two modules."""

    class Tied(m.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = m.nn.Linear(2, 2)
            self.b = self.a
            self.c = m.nn.Linear(2, 3)
            self.c.weight = self.a.weight
            self.d = m.nn.Linear(3, 2, bias=False)

    return Tied()


RECIPES = [simple_rnn, deep, tied]


def _both(recipe: Callable[[Any], Any]) -> tuple[Any, Any]:
    return recipe(E), (None if T is None else recipe(T))


def _structure(model: Any) -> dict[str, Any]:
    """Everything name-shaped that Module traversal exposes."""
    names = lambda pairs: [name for name, _ in pairs]  # noqa: E731
    return {
        "named_parameters": names(model.named_parameters()),
        "local_parameters": names(model.named_parameters(recurse=False)),
        "prefixed": names(model.named_parameters(prefix="model")),
        "named_modules": names(model.named_modules()),
        "named_children": names(model.named_children()),
        "modules": [type(x).__name__ for x in model.modules()],
        "children": [type(x).__name__ for x in model.children()],
        "state_dict": {k: tuple(v.shape) for k, v in model.state_dict().items()},
        "state_dict_order": list(model.state_dict()),
        "n_parameters": len(list(model.parameters())),
    }


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


def _values(model: Any) -> dict[str, np.ndarray]:
    return {k: to_numpy(v) for k, v in model.state_dict().items()}


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


# ---- registration errors, one row per case, against torch ----------------------------------


class _Early:
    """Assigning a parameter or module before Module.__init__()."""

    @staticmethod
    def param(m: Any) -> Any:
        class Early(m.nn.Module):
            def __init__(self) -> None:
                self.w = _param(m, 1)

        return Early()

    @staticmethod
    def module(m: Any) -> Any:
        class Early(m.nn.Module):
            def __init__(self) -> None:
                self.w = m.nn.Linear(1, 1)

        return Early()


def _lin(m: Any) -> Any:
    return m.nn.Linear(2, 2)


REGISTRATION = [
    # (id, call, exception, elman's text, exact after renaming torch. -> elman.?)
    (
        "assign-tensor-to-parameter",
        lambda m: setattr(_lin(m), "weight", m.t(np.zeros((2, 2), np.float32))),
        TypeError,
        "cannot assign 'elman.Tensor' as parameter 'weight' (elman.nn.Parameter or None expected)",
        False,  # torch names the tensor type 'torch.FloatTensor'
    ),
    (
        "assign-ndarray-to-parameter",
        lambda m: setattr(_lin(m), "weight", np.zeros((2, 2))),
        TypeError,
        "cannot assign 'numpy.ndarray' as parameter 'weight' (elman.nn.Parameter or None expected)",
        True,
    ),
    (
        "assign-int-to-parameter",
        lambda m: setattr(_lin(m), "bias", 3),
        TypeError,
        "cannot assign 'int' as parameter 'bias' (elman.nn.Parameter or None expected)",
        True,
    ),
    (
        "assign-int-to-child",
        lambda m: setattr(simple_rnn(m), "fc", 3),
        TypeError,
        "cannot assign 'int' as child module 'fc' (elman.nn.Module or None expected)",
        True,
    ),
    (
        "register-ndarray-parameter",
        lambda m: _lin(m).register_parameter("x", np.zeros(2)),
        TypeError,
        "cannot assign 'numpy.ndarray' object to parameter 'x' (elman.nn.Parameter or None "
        "required)",
        True,
    ),
    (
        "register-dotted-name",
        lambda m: _lin(m).register_parameter("a.b", None),
        KeyError,
        "'parameter name can\\'t contain \".\"'",
        True,
    ),
    (
        "register-empty-name",
        lambda m: _lin(m).register_parameter("", None),
        KeyError,
        "'parameter name can\\'t be empty string \"\"'",
        True,
    ),
    (
        "register-int-name",
        lambda m: _lin(m).register_parameter(1, None),
        TypeError,
        "parameter name should be a string. Got int",
        True,
    ),
    (
        "register-existing-attribute",
        lambda m: _lin(m).register_parameter("in_features", None),
        KeyError,
        "\"attribute 'in_features' already exists\"",
        True,
    ),
    (
        "register-buffer-int",
        lambda m: _lin(m).register_buffer("b", 3),
        TypeError,
        "cannot assign 'int' object to buffer 'b' (elman Tensor, ndarray or None required)",
        False,  # torch: "(torch Tensor or None required)"
    ),
    (
        "add-non-module",
        lambda m: _lin(m).add_module("q", 3),
        TypeError,
        "int is not a Module subclass",
        True,
    ),
    (
        "add-module-dotted-name",
        lambda m: _lin(m).add_module("q.r", None),
        KeyError,
        "'module name can\\'t contain \".\", got: q.r'",
        True,
    ),
    (
        "parameter-before-init",
        _Early.param,
        AttributeError,
        "cannot assign parameters before Module.__init__() call",
        True,
    ),
    (
        "module-before-init",
        _Early.module,
        AttributeError,
        "cannot assign module before Module.__init__() call",
        True,
    ),
    (
        "missing-attribute",
        lambda m: _lin(m).foo,
        AttributeError,
        "'Linear' object has no attribute 'foo'",
        True,
    ),
    (
        "train-not-bool",
        lambda m: _lin(m).train(1),
        ValueError,
        "training mode is expected to be boolean",
        True,
    ),
    (
        "to-int-dtype",
        lambda m: _lin(m).to(m.dt("int32")),
        TypeError,
        "dtype must be float32 or float64, got int32",
        False,  # torch: "nn.Module.to only accepts floating point or complex dtypes, ..."
    ),
]


@pytest.mark.parametrize("case", REGISTRATION, ids=lambda c: c[0])
def test_registration_errors(case: tuple[Any, ...]) -> None:
    _, call, exc, message, exact = case
    with pytest.raises(exc) as info:
        call(E)
    assert type(info.value) is exc and str(info.value) == message
    if TORCH is not None:
        with pytest.raises(exc) as info:
            call(T)
        assert type(info.value) is exc
        if exact:
            assert str(info.value).replace("torch.", "elman.") == message


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
