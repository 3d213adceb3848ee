"""Registration errors, one row per case, against torch (type and message)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from module_recipes import (
    E,
    T,
    _param,
    simple_rnn,
)

from conftest import TORCH

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
