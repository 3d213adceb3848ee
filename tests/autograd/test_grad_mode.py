"""Grad mode: no_grad, enable_grad and set_grad_enabled as contexts and decorators, restored
after exceptions, and in-place updates under no_grad, against torch.
"""

from __future__ import annotations

from typing import Any

import pytest
from op_check import (
    M,
    check,
)

import elman
from conftest import requires_torch

pytestmark = requires_torch


# ---- grad mode --------------------------------------------------------------------------


def test_no_grad_context() -> None:
    x = elman.ones(2, requires_grad=True)
    with elman.no_grad():
        assert not elman.is_grad_enabled()
        y = x * 2
        with elman.enable_grad():
            assert elman.is_grad_enabled()
            z = x * 2
        assert not elman.is_grad_enabled()
    assert elman.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad and z.grad_fn is not None


def test_grad_mode_decorators() -> None:
    @elman.no_grad()
    def f(t: elman.Tensor) -> elman.Tensor:
        return t * 2

    @elman.no_grad
    def g(t: elman.Tensor) -> elman.Tensor:
        return t * 2

    @elman.enable_grad()
    def h(t: elman.Tensor) -> elman.Tensor:
        return t * 2

    @elman.set_grad_enabled(False)
    def k(t: elman.Tensor) -> elman.Tensor:
        return t * 2

    assert elman.is_grad_enabled()  # decorating does not change the mode
    x = elman.ones(2, requires_grad=True)
    assert not f(x).requires_grad and not g(x).requires_grad and not k(x).requires_grad
    assert f.__name__ == "f" and g.__name__ == "g"
    with elman.no_grad():
        assert h(x).requires_grad
    assert elman.is_grad_enabled()


def test_set_grad_enabled_as_function_and_context() -> None:
    x = elman.ones(2, requires_grad=True)
    try:
        elman.set_grad_enabled(False)
        assert not elman.is_grad_enabled() and not (x * 2).requires_grad
    finally:
        elman.set_grad_enabled(True)
    with elman.set_grad_enabled(False):
        assert not (x * 2).requires_grad
        with elman.set_grad_enabled(True):
            assert (x * 2).requires_grad
        assert not elman.is_grad_enabled()
    assert elman.is_grad_enabled()


def test_grad_mode_restored_after_an_exception() -> None:
    with pytest.raises(ValueError), elman.no_grad():
        raise ValueError
    assert elman.is_grad_enabled()


def test_in_place_update_under_no_grad() -> None:
    w = elman.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    before = w
    with elman.no_grad():
        w -= 0.5 * w.grad  # the optimiser idiom: updates the leaf itself
        w *= 2
    assert w is before and w.requires_grad and w.is_leaf
    assert w.tolist() == [0.0, 0.0]
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w += 1


def _augmented(x: Any) -> Any:
    h = x * 2
    h += x  # h is a graph node
    c = M(x).ones(3, dtype=x.dtype)
    c *= h  # c is a constant, h requires grad
    c -= 1
    c /= x
    return c * h


def test_augmented_assignment_in_the_graph_keeps_gradients() -> None:
    check(_augmented, (3,), low=0.5)
    x = elman.tensor([1.0, 2.0], requires_grad=True)
    h = elman.zeros(2)
    h += x  # a constant accumulating a tensor that requires grad: still differentiable
    (h * h).sum().backward()
    assert h.requires_grad and x.grad.tolist() == [2.0, 4.0]


def test_inference_mode_is_per_thread() -> None:
    """One thread inside ``inference_mode`` leaves another recording (torch: thread-local)."""
    import threading

    inside, release = threading.Event(), threading.Event()
    seen: dict[str, bool] = {}

    def hold() -> None:
        with elman.inference_mode():
            seen["holder"] = elman.is_inference_mode_enabled()
            inside.set()
            release.wait(10)

    t = threading.Thread(target=hold)
    t.start()
    assert inside.wait(10)
    w = elman.ones(2, requires_grad=True)
    seen["other"] = elman.is_inference_mode_enabled()
    seen["records"] = (w * 2).requires_grad
    release.set()
    t.join(10)
    assert seen == {"holder": True, "other": False, "records": True}
    assert not elman.is_inference_mode_enabled()
