"""The products made inside the ``rows`` step loops (_kernels/rows_weights.py): the BPTT
kernel against the old kernel plus the products over all steps (dW_hh, dW_ih, dX), the
layered-rows backward against the NumPy reference (bidirectional, layers with dropout,
without dh0), the NaN and inf positions of the reference, a float64 finite-difference
check, and that the dense ``rows`` backward takes this path (no product over all steps for
dW_hh or dW_ih).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

numba = pytest.importorskip("numba")

from conftest import assert_close  # noqa: E402
from elman._kernels import (  # noqa: E402
    dispatch,
    layered_stack,
    recurrence_gemm,
    rows_weights,
    stack_compiled,
    stack_ref,
)
from elman._kernels._blas import gemm_pointers  # noqa: E402
from elman._kernels.array_loops import offsets  # noqa: E402

pytestmark = pytest.mark.skipif(not gemm_pointers()[0], reason="needs NumPy's BLAS in kernels")

ROWS = dispatch.variant("layered-rows")


def _fptr(dtype: str) -> int:
    return gemm_pointers()[0 if dtype == "float32" else 1]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("window", [(0, 5), (0, 2), (2, 5), (3, 3)])
def test_kernel_matches_old_kernel_and_products(dtype: str, reverse: bool, window: Any) -> None:
    """delta, dh and db bit for bit as backward_gemm_rows; dW_hh (all steps but the first)
    and dW_ih as the products over the window's rows; columns c0:c0+H of wider arrays."""
    rng = np.random.default_rng(4)
    L, N, H, In, c0, W_ = 7, 5, 6, 3, 6, 12  # the reverse direction's columns of (T, 2H)
    r0, r1 = window
    T = L * N
    out = np.tanh(rng.standard_normal((T, W_))).astype(dtype)
    g = rng.standard_normal((T, W_)).astype(dtype)
    W = (rng.standard_normal((H, H)) * 0.4).astype(dtype)
    x = rng.standard_normal((T, In)).astype(dtype)
    g_hn = rng.standard_normal((N, H)).astype(dtype)
    sizes = np.full(L, N, dtype=np.int64)
    fptr = _fptr(dtype)

    d_old, dh_old, db_old = np.zeros((T, W_), dtype), g_hn.copy(), np.zeros(H)
    recurrence_gemm.backward_gemm_rows(
        out, g, c0, sizes, offsets(sizes), W, reverse, False, fptr, d_old, dh_old, db_old, r0, r1
    )
    delta, dh, db = np.zeros((T, W_), dtype), g_hn.copy(), np.zeros(H)
    hh, ih = np.zeros((H, H), dtype), np.zeros((H, In), dtype)
    w_ih = rng.standard_normal((H, In)).astype(dtype)
    dx = np.full((T, In), 0.5, dtype)  # (+=: the second direction's share)
    rows_weights.backward_gemm_rows_dw(
        out, g, c0, N, W, reverse, False, fptr, delta, dh, db, r0, r1, x, hh, ih, True,
        w_ih, dx, True,
    )  # fmt: skip
    np.testing.assert_array_equal(delta, d_old)
    np.testing.assert_array_equal(dh, dh_old)
    np.testing.assert_array_equal(db, db_old)

    cols = slice(c0, c0 + H)
    d3 = delta[:, cols].reshape(L, N, H)[:, r0:r1].astype(np.float64)
    o3 = out[:, cols].reshape(L, N, H)[:, r0:r1].astype(np.float64)
    x3 = x.reshape(L, N, In)[:, r0:r1].astype(np.float64)
    later, consumed = (d3[:-1], o3[1:]) if reverse else (d3[1:], o3[:-1])
    want_hh = np.einsum("tih,tij->hj", later, consumed)
    want_ih = np.einsum("tih,tij->hj", d3, x3)
    tol = 1e-5 if dtype == "float32" else 1e-13
    np.testing.assert_allclose(hh, want_hh, rtol=tol, atol=tol)
    np.testing.assert_allclose(ih, want_ih, rtol=tol, atol=tol)
    want_dx = np.full((L, N, In), 0.5)
    want_dx[:, r0:r1] += d3 @ w_ih.astype(np.float64)
    np.testing.assert_allclose(dx.reshape(L, N, In), want_dx, rtol=tol, atol=tol)

    # without dh0: the same delta and weight gradients, the first step's product skipped
    delta2, dh2, db2 = np.zeros((T, W_), dtype), g_hn.copy(), np.zeros(H)
    hh2, ih2 = np.zeros((H, H), dtype), np.zeros((H, In), dtype)
    none = np.empty((0, 0), dtype)
    rows_weights.backward_gemm_rows_dw(
        out, g, c0, N, W, reverse, False, fptr, delta2, dh2, db2, r0, r1, x, hh2, ih2, False,
        none, none, False,
    )  # fmt: skip
    for a, b in ((delta2, delta), (db2, db), (hh2, hh), (ih2, ih)):
        np.testing.assert_array_equal(a, b)


def _dense_case(dtype: str, D: int, NL: int, masks: bool, seed: int = 0) -> tuple:
    rng = np.random.default_rng(seed)
    L, N, I, H = 6, 5, 3, 7
    T = L * N

    def rnd(*shape: int, scale: float = 1.0) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(dtype)

    weights = []
    for k in range(NL * D):
        w = (rnd(H, I if k < D else D * H, scale=0.5), rnd(H, H, scale=0.9 / np.sqrt(H)))
        weights.append(w + (rnd(H), rnd(H)))
    mk = None
    if masks:
        mk = [(rng.random((T, D * H)) > 0.3).astype(dtype) / np.asarray(0.7, dtype)] * (NL - 1)
    sizes = np.full(L, N, dtype=np.int64)
    args = (rnd(T, I), sizes, rnd(NL * D, N, H), weights, NL, False, mk)
    return args, (rnd(T, D * H), rnd(NL * D, N, H))


def _no_products(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*a: Any, **k: Any) -> None:
        raise AssertionError("a product over all steps ran for a weight gradient")

    monkeypatch.setattr(layered_stack, "dw_hh_of", fail)
    monkeypatch.setattr(layered_stack, "t_product", fail)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("D,NL,masks", [(1, 1, False), (2, 2, True), (1, 3, True)])
@pytest.mark.parametrize("need_dh0", [True, False])
def test_rows_backward_matches_reference(
    monkeypatch: pytest.MonkeyPatch, dtype: str, D: int, NL: int, masks: bool, need_dh0: bool
) -> None:
    _no_products(monkeypatch)
    args, (g_out, g_hn) = _dense_case(dtype, D, NL, masks)
    outs, _ = stack_ref.stack_forward(*args)
    dx, dh0, grads = stack_compiled.stack_backward(
        *args, outs, g_out, g_hn, variant=ROWS, need_dh0=need_dh0
    )
    rdx, rdh0, rgrads = stack_ref.stack_backward(*args, outs, g_out, g_hn)
    assert_close(dx, rdx, "dx")
    if need_dh0:
        assert_close(dh0, rdh0, "dh0")
    else:
        assert dh0 is None
    for k, (mine, ref) in enumerate(zip(grads, rgrads, strict=True)):
        for name, a, b in zip(("dW_ih", "dW_hh", "db"), mine, ref, strict=True):
            assert a.dtype == np.dtype(dtype)
            assert_close(a, b, f"{name}[{k}]")


@pytest.mark.parametrize("zero_h0", [True, False])
@pytest.mark.parametrize("reverse_inf", [False, True])
def test_nan_inf_positions_match_reference(
    monkeypatch: pytest.MonkeyPatch, zero_h0: bool, reverse_inf: bool
) -> None:
    """An inf in the gradient of the first step (of either direction): dW_hh's NaN where
    the first step's term multiplies the inf by h0's zeros, as one product does (torch)."""
    _no_products(monkeypatch)
    args, (g_out, g_hn) = _dense_case("float64", 2, 1, False, seed=5)
    x, sizes, h0, *rest = args
    if zero_h0:
        h0 = np.zeros_like(h0)
    args = (x, sizes, h0, *rest)
    N, H = h0.shape[1], h0.shape[2]
    g_out = g_out.copy()
    row, col = (g_out.shape[0] - N + 1, H + 2) if reverse_inf else (1, 3)
    g_out[row, col] = np.inf
    outs, _ = stack_ref.stack_forward(*args)
    with np.errstate(invalid="ignore"):
        mine = stack_compiled.stack_backward(*args, outs, g_out, g_hn, variant=ROWS)
        ref = stack_ref.stack_backward(*args, outs, g_out, g_hn)
    for k, (a, b) in enumerate(zip(mine[2], ref[2], strict=True)):
        for name, u, v in zip(("dW_ih", "dW_hh", "db"), a, b, strict=True):
            np.testing.assert_array_equal(np.isnan(u), np.isnan(v), err_msg=f"{name}[{k}]")
            np.testing.assert_array_equal(np.isinf(u), np.isinf(v), err_msg=f"{name}[{k}]")
            fin = np.isfinite(v)
            np.testing.assert_allclose(u[fin], v[fin], rtol=1e-12, atol=1e-12)
    assert not np.isfinite(mine[2][1 if reverse_inf else 0][1]).all()  # it reached dW_hh


def test_float64_finite_differences() -> None:
    """dW_hh and dW_ih of the layered-rows backward against central differences of the
    reference forward, on loss = sum(g_out * outs[-1]) + sum(g_hn * h_n)."""
    args, (g_out, g_hn) = _dense_case("float64", 2, 2, False, seed=9)
    outs, _ = stack_ref.stack_forward(*args)
    _, _, grads = stack_compiled.stack_backward(*args, outs, g_out, g_hn, variant=ROWS)

    def loss() -> float:
        o, hn = stack_ref.stack_forward(*args)
        return float(np.sum(g_out * o[-1]) + np.sum(g_hn * hn))

    rng = np.random.default_rng(2)
    eps = 1e-6
    for k in range(len(args[3])):
        for p in (0, 1):  # W_ih, W_hh
            w = args[3][k][p]
            for _ in range(3):
                i, j = rng.integers(w.shape[0]), rng.integers(w.shape[1])
                keep = w[i, j]
                w[i, j] = keep + eps
                up = loss()
                w[i, j] = keep - eps
                down = loss()
                w[i, j] = keep
                numeric = (up - down) / (2 * eps)
                assert abs(grads[k][p][i, j] - numeric) <= 1e-6 * max(1.0, abs(numeric))
