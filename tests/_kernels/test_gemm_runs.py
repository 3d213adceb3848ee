"""The GEMM-mode recurrence (layered-gemm) activates a step's rows as one run when they sit
side by side (one direction's C-contiguous layer array): the same values, bit for bit, as
the row-by-row loop it takes for a direction's columns of a wider array, and the NumPy
reference's within tolerance, NaN and inf included, forward and BPTT, dense and packed.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("numba")

from elman._kernels import rnn_ref  # noqa: E402
from elman._kernels.layered_stack import fptr_of  # noqa: E402
from elman._kernels.recurrence_gemm import (  # noqa: E402
    one_run,
    recur_backward_gemm,
    recur_forward_gemm,
)

SIZES = {"dense": [5, 5, 5, 5], "packed": [6, 4, 4, 2, 1]}


def _case(kind: str, dtype: str, H: int, special: bool):
    rng = np.random.default_rng(18)
    sizes = np.array(SIZES[kind], dtype=np.int64)
    T, N = int(sizes.sum()), int(sizes[0])
    x = rng.standard_normal((T, H)).astype(dtype)
    w = (rng.standard_normal((H, H)) / np.sqrt(H)).astype(dtype)
    b = rng.standard_normal(H).astype(dtype)
    h0 = rng.standard_normal((N, H)).astype(dtype)
    g = rng.standard_normal((T, H)).astype(dtype)
    g_hn = rng.standard_normal((N, H)).astype(dtype)
    if special:  # NaN and inf in the states and gradients: where they go is checked too
        h0[1, 2], h0[-1, 0] = np.nan, np.inf
        g[N + 1, 1], g[-1, -1] = -np.inf, np.nan
    return sizes, x, w, b, h0, g, g_hn


def _run(sizes, x, w, b, h0, g, g_hn, reverse, relu, wide):
    """Forward and BPTT through the kernels; ``wide``: the direction's columns 0:H of
    (T, 2H) arrays (rows apart: the row-by-row loop), else (T, H) arrays (one run)."""
    T, H = x.shape
    fptr = fptr_of(x.dtype)

    def layer(a):
        if not wide:
            return a.copy()
        big = np.full((T, 2 * H), 7, dtype=a.dtype)  # the other direction's columns
        big[:, :H] = a
        return big

    out, hn = layer(x), np.empty_like(h0)
    assert one_run(out, H) != wide
    recur_forward_gemm(out, 0, sizes, b, h0, np.ascontiguousarray(w.T), reverse, relu, fptr, hn)
    delta, dh0, db = np.zeros_like(out), np.empty_like(h0), np.zeros(H)
    gl = layer(g)
    recur_backward_gemm(out, gl, 0, sizes, g_hn, w, reverse, relu, fptr, delta, dh0, db)
    if wide:
        assert np.all(out[:, H:] == 7), "the other direction's columns were written"
    return out[:, :H], hn, delta[:, :H], dh0, db


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", sorted(SIZES))
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("special", [False, True])
@pytest.mark.parametrize("H", [3, 10, 35])
def test_one_run_matches_rows_and_reference(dtype, kind, reverse, relu, special, H):
    case = _case(kind, dtype, H, special)
    sizes, x, w, b, h0, g, g_hn = case
    with np.errstate(invalid="ignore", over="ignore"):
        runs = _run(*case, reverse, relu, wide=False)
        rows = _run(*case, reverse, relu, wide=True)
        for a, r in zip(runs, rows, strict=True):
            np.testing.assert_array_equal(a, r)  # bit for bit, NaN where NaN
        eye = np.eye(H, dtype=x.dtype)  # the reference's projection of x: x itself
        out, hn = rnn_ref.packed_layer_forward(x, sizes, h0, eye, w, None, b, reverse, relu)
        dx, dh0, _, _, db = rnn_ref.packed_layer_backward(
            x, sizes, h0, eye, w, out, g, g_hn, reverse, relu
        )
    tol = {"float32": (1e-4, 1e-5), "float64": (1e-11, 1e-12)}[dtype]
    # (the reference's dx = delta @ I spreads a NaN of delta over its row: compared without)
    for got, want in zip(runs, (out, hn, None if special else dx, dh0, db), strict=True):
        if want is not None:
            np.testing.assert_allclose(got, want, rtol=tol[0], atol=tol[1])


@pytest.mark.parametrize("kind", sorted(SIZES))
@pytest.mark.parametrize("reverse", [False, True])
def test_one_run_bptt_is_the_forwards_gradient(kind, reverse):
    """float64 gradcheck of the pair on one run: the BPTT's dL/dz (= dL/dx, x the
    projected input), dh0 and the bias gradient against central differences of
    L = sum(out * g) + sum(h_n * g_hn)."""
    sizes, x, w, b, h0, g, g_hn = _case(kind, "float64", 4, special=False)
    WT, fptr = np.ascontiguousarray(w.T), fptr_of(x.dtype)

    def loss(x, b, h0):
        out, hn = x.copy(), np.empty_like(h0)
        recur_forward_gemm(out, 0, sizes, b, h0, WT, reverse, False, fptr, hn)
        return float(np.sum(out * g) + np.sum(hn * g_hn))

    out, hn = x.copy(), np.empty_like(h0)
    recur_forward_gemm(out, 0, sizes, b, h0, WT, reverse, False, fptr, hn)
    assert one_run(out, 4)
    delta, dh0, db = np.zeros_like(out), np.empty_like(h0), np.zeros(4)
    recur_backward_gemm(out, g, 0, sizes, g_hn, w, reverse, False, fptr, delta, dh0, db)
    eps = 1e-6
    for k, grad in enumerate((delta, db, dh0)):  # the gradients of x, b, h0
        for idx in np.ndindex(grad.shape):
            up, down = [arr.copy() for arr in (x, b, h0)], [arr.copy() for arr in (x, b, h0)]
            up[k][idx] += eps
            down[k][idx] -= eps
            numeric = (loss(*up) - loss(*down)) / (2 * eps)
            np.testing.assert_allclose(grad[idx], numeric, rtol=1e-6, atol=1e-8)
