"""``Module.to`` and ``Tensor.to`` take torch's argument forms and refuse what torch refuses.

torch's ``test_nn.py`` (``test_to``, and ``Module.to`` inside the RNN tests) calls ``.to``
with a device, a dtype, a tensor and the ``non_blocking`` / ``copy`` flags in every place
they may stand. Each row below states what torch does with one call; the same row runs on
elman and, when torch is installed, on torch, so the table is checked against the oracle.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import elman

# (name, call on a module or tensor ``o`` with library ``L``, outcome): the outcome is the
# dtype of the floating weights afterwards ("float32"/"float64"), or an exception type
_MODULE_CASES: list[tuple[str, Callable[[Any, Any], Any], Any]] = [
    ("dtype", lambda L, o: o.to(L.float64), "float64"),
    ("dtype, non_blocking", lambda L, o: o.to(L.float64, True), "float64"),
    ("device, dtype, non_blocking", lambda L, o: o.to("cpu", L.float64, True), "float64"),
    ("tensor, non_blocking", lambda L, o: o.to(L.zeros(1, dtype=L.float64), True), "float64"),
    ("keywords", lambda L, o: o.to(dtype=L.float64, device="cpu"), "float64"),
    (
        "memory_format",
        lambda L, o: o.to(memory_format=getattr(L, "contiguous_format", None)),
        "float32",
    ),
    ("None", lambda L, o: o.to(None), "float32"),
    ("device=None", lambda L, o: o.to(device=None), "float32"),
    ("dtype, non_blocking, copy", lambda L, o: o.to(L.float64, True, True), RuntimeError),
    ("dtype, False, False", lambda L, o: o.to(L.float64, False, False), RuntimeError),
    ("device, dtype, 2 flags", lambda L, o: o.to("cpu", L.float64, False, True), RuntimeError),
    ("copy=True", lambda L, o: o.to(copy=True), RuntimeError),
    ("device, copy=False", lambda L, o: o.to("cpu", copy=False), RuntimeError),
    ("device, bool", lambda L, o: o.to("cpu", True), TypeError),
    ("non_blocking=1", lambda L, o: o.to(non_blocking=1), TypeError),
    ("unknown keyword", lambda L, o: o.to(foo=1), TypeError),
]

_TENSOR_CASES: list[tuple[str, Callable[[Any, Any], Any], Any]] = [
    ("dtype, non_blocking, copy", lambda L, o: o.to(L.float64, True, True), "float64"),
    ("device, dtype, 2 flags", lambda L, o: o.to("cpu", L.float64, False, True), "float64"),
    ("copy=True", lambda L, o: o.to(copy=True), "float32"),
    (
        "memory_format",
        lambda L, o: o.to(memory_format=getattr(L, "contiguous_format", None)),
        "float32",
    ),
    ("device, bool", lambda L, o: o.to("cpu", True), TypeError),
    ("non_blocking=1", lambda L, o: o.to(non_blocking=1), TypeError),
    ("copy='yes'", lambda L, o: o.to(copy="yes"), TypeError),
    ("unknown keyword", lambda L, o: o.to(foo=1), TypeError),
]


def _lib(name: str, request: pytest.FixtureRequest) -> Any:
    return elman if name == "elman" else request.getfixturevalue("torch_or_skip")


def _check(lib: Any, obj: Any, call: Callable[[Any, Any], Any], outcome: Any) -> Any:
    if isinstance(outcome, str):
        return call(lib, obj)
    with pytest.raises(outcome):
        call(lib, obj)
    return None


@pytest.mark.parametrize("name,call,outcome", _MODULE_CASES, ids=[c[0] for c in _MODULE_CASES])
@pytest.mark.parametrize("libname", ["elman", "torch"])
def test_module_to_forms(libname, name, call, outcome, request) -> None:
    lib = _lib(libname, request)
    m = lib.nn.RNN(3, 4)
    w = m.weight_ih_l0
    out = _check(lib, m, call, outcome)
    if out is not None:
        assert out is m and m.weight_ih_l0 is w  # in place; parameters keep their identity
        assert str(m.weight_ih_l0.dtype).endswith(outcome)


@pytest.mark.parametrize("name,call,outcome", _TENSOR_CASES, ids=[c[0] for c in _TENSOR_CASES])
@pytest.mark.parametrize("libname", ["elman", "torch"])
def test_tensor_to_forms(libname, name, call, outcome, request) -> None:
    lib = _lib(libname, request)
    t = lib.tensor([1.5, 16777217.0], dtype=lib.float32)
    out = _check(lib, t, call, outcome)
    if out is not None:
        assert str(out.dtype).endswith(outcome)
        np.testing.assert_array_equal(out.numpy(), t.numpy().astype(outcome))
