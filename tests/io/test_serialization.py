"""elman.serialization: torch's allowlist functions, and torch's module paths as re-exports."""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np
import pytest

import elman
from conftest import FIXTURES, requires_torch
from elman.io import UnsafeFileError
from elman.serialization import (
    add_safe_globals,
    clear_safe_globals,
    get_safe_globals,
    safe_globals,
)
from pt_hostile import EMPTY_DICT, EMPTY_TUPLE, NEWOBJ, REDUCE, G, S, T, pickle_of, torch_zip

PT = FIXTURES / "pt"


@pytest.fixture(autouse=True)
def _clean_allowlist():
    clear_safe_globals()
    yield
    clear_safe_globals()


def test_torch_paths_are_thin_re_exports() -> None:
    import elman.nn.modules as m

    assert m.rnn.RNN is elman.nn.RNN and m.rnn.RNNCell is elman.nn.RNNCell
    assert m.linear.Linear is elman.nn.Linear and m.linear.Identity is elman.nn.Identity
    assert m.sparse.Embedding is elman.nn.Embedding
    assert m.container.Sequential is elman.nn.Sequential
    assert m.dropout.Dropout is elman.nn.Dropout and m.module.Module is elman.nn.Module
    assert m.loss.MSELoss is elman.nn.MSELoss
    assert elman.nn.parameter.Parameter is elman.nn.Parameter
    assert elman.serialization.load is elman.io.load and elman.load.__doc__


def test_add_get_clear_and_the_context_manager_follow_torch() -> None:
    add_safe_globals([elman.nn.RNN, (elman.nn.Linear, "my.Linear")])
    assert set(get_safe_globals()) == {elman.nn.RNN, (elman.nn.Linear, "my.Linear")}
    with safe_globals([elman.nn.Embedding]):
        assert elman.nn.Embedding in get_safe_globals()
    assert elman.nn.Embedding not in get_safe_globals()
    with safe_globals([elman.nn.RNN]):  # as in torch, leaving removes it even if added before
        pass
    assert get_safe_globals() == [(elman.nn.Linear, "my.Linear")]
    clear_safe_globals()
    assert get_safe_globals() == []
    with pytest.raises(ValueError, match="tuple of length 2"):
        add_safe_globals([(elman.nn.RNN,)])


@requires_torch
def test_torch_classes_are_refused_with_the_elman_name(torch_or_skip) -> None:
    torch = torch_or_skip
    with pytest.raises(TypeError, match="elman.nn.modules.rnn.RNN"):
        add_safe_globals([torch.nn.RNN])
    assert get_safe_globals() == []


def test_whole_torch_module_with_a_user_class_via_a_name_pair(tmp_path: Path) -> None:
    """A torch file naming torch.nn.modules.* loads as elman modules when the elman
    classes are allowlisted (the torch names map to elman's re-exports)."""
    with pytest.raises(UnsafeFileError, match="whole pickled module"):
        elman.load(PT / "whole_module.pt")
    with pytest.raises(UnsafeFileError, match="torch.nn.modules.rnn.RNN"):
        with safe_globals([elman.nn.Sequential, elman.nn.Linear]):
            elman.load(PT / "whole_module.pt")
    with safe_globals([elman.nn.Sequential, elman.nn.modules.rnn.RNN, elman.nn.Linear]):
        model = elman.load(PT / "whole_module.pt")
    assert type(model) is elman.nn.Sequential and type(model[0]) is elman.nn.RNN
    assert model[0].num_layers == 2 and model[1].out_features == 1
    assert "_non_persistent_buffers_set" not in vars(model[0])
    out = model[0](elman.ones(4, 1, 2))[0]
    assert out.shape == (4, 1, 3)


def test_allowlisted_classes_are_never_called(tmp_path: Path) -> None:
    calls = []

    class Spy:
        def __init__(self, *args) -> None:
            calls.append(args)

    made = torch_zip(
        pickle_of(
            G(Spy.__module__, Spy.__qualname__)
            + EMPTY_TUPLE
            + NEWOBJ
            + EMPTY_DICT
            + S("x")
            + b"K\x01s"
            + b"b"
        )
    )
    called = torch_zip(pickle_of(G(Spy.__module__, Spy.__qualname__) + T(S("boom")) + REDUCE))
    with safe_globals([Spy]):
        obj = elman.load(io.BytesIO(made))
        assert type(obj) is Spy and obj.x == 1 and calls == []  # __new__ + state only
        with pytest.raises(UnsafeFileError, match="never calls"):
            elman.load(io.BytesIO(called))
    assert calls == []


def test_allowlisted_functions_are_not_called() -> None:
    data = torch_zip(pickle_of(G("builtins", "print") + T(S("hi")) + REDUCE))
    with safe_globals([(print, "builtins.print")]):
        with pytest.raises(UnsafeFileError, match="never calls"):
            elman.load(io.BytesIO(data))


def test_unsafe_file_error_is_an_unpickling_error() -> None:
    assert issubclass(UnsafeFileError, pickle.UnpicklingError)
    with pytest.raises(pickle.UnpicklingError):
        elman.load(io.BytesIO(torch_zip(pickle_of(G("os", "system") + T(S("x")) + REDUCE))))


def test_import_elman_stays_light() -> None:
    import subprocess
    import sys

    code = (
        "import sys, elman\n"
        "heavy = [m for m in ('elman.io.pt', 'elman.io._pt_vm', 'elman.serialization', 'torch',"
        " 'pickletools') if m in sys.modules]\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
    assert np.asarray(elman.serialization.get_safe_globals()).size == 0
