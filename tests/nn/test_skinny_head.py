"""A Linear with few outputs over many rows through the compiled pass of
:mod:`elman._kernels.skinny` (a head on every step of the RNN): the float64 NumPy reference's
values, NaN and inf where it has them, on one thread and on two, over a batch-first view of
time-major memory and a C-order input, input widths with a masked last vector; float64
gradcheck; torch's values (when installed)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from nn_parity import DTYPES, assert_like_reference, linear_reference, tol_for, torch

import elman
import elman.nn.functional as EF
from conftest import assert_close, requires_torch
from elman.autograd import gradcheck

pytestmark = pytest.mark.skipif(not elman._kernels.JIT, reason="a compiled kernel")


def _case(dtype: Any, L: int, N: int, H: int, V: int, view: bool) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(H + V)
    x = rng.standard_normal((L, N, H)).astype(dtype)  # time-major memory
    x[3, 1, 7], x[20, 2, H - 1] = np.nan, np.inf
    w, b = rng.standard_normal((V, H)).astype(dtype), rng.standard_normal(V).astype(dtype)
    g = rng.standard_normal((N, L, V) if view else (L, N, V)).astype(dtype)
    g[0, 2, V - 1] = -np.inf
    return x, w, b, g


@pytest.mark.parametrize("two", [False, True], ids=["one-thread", "two-threads"])
@pytest.mark.parametrize("view", [True, False], ids=["batch-first-view", "c-order"])
@pytest.mark.parametrize("shape", [(40, 4, 130, 5), (33, 7, 64, 16), (50, 9, 17, 1)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_skinny_head_as_reference(
    monkeypatch: pytest.MonkeyPatch, dtype: Any, shape: tuple[int, ...], view: bool, two: bool
) -> None:
    skinny = pytest.importorskip("elman._kernels.skinny")
    L, N, H, V = shape
    if V > skinny.lanes_of(np.dtype(dtype)):
        pytest.skip("more outputs than one vector: NumPy's products")
    calls: list[str] = []
    for name in ("forward", "backward"):
        real = getattr(skinny, name)
        monkeypatch.setattr(
            elman._kernels, f"skinny_{name}", lambda *a, r=real, n=name: (calls.append(n), r(*a))[1]
        )
    monkeypatch.setattr(skinny, "SKINNY_MIN_WORK", 1)
    monkeypatch.setattr(skinny, "SKINNY_TWO_THREADS", 1 if two else 1 << 62)
    monkeypatch.setattr(skinny, "two_threads_allowed", lambda: two)
    x, w, b, g = _case(dtype, L, N, H, V, view)
    xt = elman.tensor(x, requires_grad=True)
    wt, bt = elman.tensor(w, requires_grad=True), elman.tensor(b, requires_grad=True)
    with np.errstate(invalid="ignore"):
        y = EF.linear(xt.transpose(0, 1) if view else xt, wt, bt)
        y.backward(elman.tensor(g))
        ref = linear_reference(x, w, b, g, view)
    assert calls == ["forward", "backward"]
    assert y.shape == ((N, L, V) if view else (L, N, V)) and y._data.flags.c_contiguous
    assert xt.grad.shape == x.shape
    got = {"y": y, "dx": xt.grad, "dw": wt.grad, "db": bt.grad}
    assert_like_reference([(k, got[k], ref[k]) for k in got], dtype)


def test_skinny_head_gradcheck(monkeypatch: pytest.MonkeyPatch) -> None:
    skinny = pytest.importorskip("elman._kernels.skinny")
    monkeypatch.setattr(skinny, "SKINNY_MIN_WORK", 1)
    rng = np.random.default_rng(5)
    x = elman.tensor(rng.standard_normal((6, 3, 19)), requires_grad=True)  # (L, N, H)
    w = elman.tensor(rng.standard_normal((4, 19)), requires_grad=True)
    b = elman.tensor(rng.standard_normal(4), requires_grad=True)
    assert gradcheck(lambda a, c, d: EF.linear(a.transpose(0, 1), c, d), [x, w, b])
    assert gradcheck(lambda a, c, d: EF.linear(a, c, d), [x, w, b])
    assert gradcheck(lambda a, c: EF.linear(a, c), [x, w])


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
def test_skinny_head_as_torch(dtype: Any) -> None:
    """The head of the training grid's every-step shape (rows of 128 -> 8), as torch's."""
    rng = np.random.default_rng(8)
    x = rng.standard_normal((200, 64, 128)).astype(dtype)
    w, b = rng.standard_normal((8, 128)).astype(dtype), rng.standard_normal(8).astype(dtype)
    g = rng.standard_normal((64, 200, 8)).astype(dtype)
    out = []
    for lib in (elman, torch):
        xt = lib.tensor(x, requires_grad=True)
        wt, bt = lib.tensor(w, requires_grad=True), lib.tensor(b, requires_grad=True)
        y = lib.nn.functional.linear(xt.transpose(0, 1), wt, bt)
        y.backward(lib.tensor(g))
        out.append([a.detach().numpy() for a in (y, xt.grad, wt.grad, bt.grad)])
    tol = tol_for(dtype)
    for name, ours, theirs in zip(("y", "dx", "dw", "db"), *out, strict=True):
        assert_close(ours, theirs, name, **{k: v * 10 for k, v in tol.items()})
