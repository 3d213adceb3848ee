"""The small-H BPTT with a row's state in one or two vectors (``_kernels/bptt_steps.py``):
against the loop forms it replaces (``recurrence.recur_backward`` + ``dw_hh_of``), against
the NumPy reference through the layered variants, NaN and inf where the loop forms put
them, no dh0 product without need_dh0, a float64 gradcheck, and that the layered backward
of the loop modes takes it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

pytest.importorskip("numba")

from conftest import assert_close  # noqa: E402
from elman._kernels import JIT, dispatch, layered_stack  # noqa: E402
from elman._kernels.bptt_steps import layer_bptt, replaces_gemm, serves  # noqa: E402
from elman._kernels.layer_products import dw_hh_of  # noqa: E402
from elman._kernels.modes import AXPY  # noqa: E402
from elman._kernels.recurrence import recur_backward  # noqa: E402
from elman._kernels.simd_vector import lanes_of  # noqa: E402

pytestmark = pytest.mark.skipif(not JIT, reason="compiled kernels only")


def _arrays(L: int, N: int, H: int, D: int, dtype: str, relu: bool, sizes: Any, seed: int = 0):
    rng = np.random.default_rng(seed)
    sizes = np.array(sizes if sizes is not None else [N] * L, dtype=np.int64)
    T = int(sizes.sum())
    out = np.tanh(rng.standard_normal((T, D * H))).astype(dtype)
    if relu:
        out = np.maximum(out, 0).astype(dtype)
    g = rng.standard_normal((T, D * H)).astype(dtype)
    g_hn = rng.standard_normal((D, N, H)).astype(dtype)
    h0 = rng.standard_normal((D, N, H)).astype(dtype)
    w_hh = [(rng.standard_normal((H, H)) * 0.8 / np.sqrt(H)).astype(dtype) for _ in range(D)]
    return out, g, sizes, g_hn, h0, w_hh


def _vector(out, g, sizes, g_hn, h0, w_hh, relu, need_dh0=True, in_loop=True):
    T, DH = out.shape
    D, N, H = g_hn.shape
    delta = np.full((T, DH), 7.0, dtype=out.dtype)
    dh0 = np.full((D, N, H), 7.0, dtype=out.dtype)
    db = np.zeros(DH)
    dw = layer_bptt(out, g, sizes, g_hn, h0, w_hh, relu, need_dh0, delta, dh0, db, in_loop)
    return delta, dh0, db, dw


def _loops(out, g, sizes, g_hn, h0, w_hh, relu):
    """The loop form (AXPY) this replaces, with dW_hh as the layered backward makes it."""
    T, DH = out.shape
    D, N, H = g_hn.shape
    delta, dh0, db = np.empty((T, DH), out.dtype), np.empty_like(g_hn), np.zeros(DH)
    prev = np.empty((T, DH), dtype=out.dtype)
    dws = []
    for d in range(D):
        w = np.ascontiguousarray(w_hh[d])
        wt = np.ascontiguousarray(w.T)
        cols = slice(d * H, (d + 1) * H)
        recur_backward(out, g, d * H, sizes, g_hn[d], w, wt, d == 1, relu, AXPY.token, delta,
                       dh0[d], db[cols])  # fmt: skip
    dense = T == N * len(sizes)
    for d in range(D):
        p = None if dense else prev
        dws.append(dw_hh_of(np.matmul, delta, out, p, sizes, h0[d], d * H, H, d == 1))
    return delta, dh0, db, np.stack(dws)


def _widths(dtype: str) -> list[int]:
    V = lanes_of(np.dtype(dtype))
    return [1, 3, V - 1, V, V + 1, 2 * V]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("D", [1, 2])
@pytest.mark.parametrize("packed", [False, True])
def test_matches_the_loop_form(dtype: str, relu: bool, D: int, packed: bool) -> None:
    tol = {"float32": 2e-5, "float64": 1e-13}[dtype]
    for H in _widths(dtype):
        sizes = [3, 3, 2, 2, 1, 1, 1] if packed else None
        arrays = _arrays(7, 3, H, D, dtype, relu, sizes, seed=H)
        got, want = _vector(*arrays, relu), _loops(*arrays, relu)
        for a, b in zip(got, want, strict=True):
            assert a.shape == b.shape
            np.testing.assert_allclose(a, b, rtol=tol, atol=tol * max(1.0, np.abs(b).max()))


def test_dw_hh_left_to_the_gemm_changes_nothing_else() -> None:
    """Without dW_hh in the loop, layer_bptt returns None and every other result is the
    same, bit for bit; the rule keeps it in the loop for a few rows of H >= 8 only."""
    from elman._kernels.bptt_steps import dw_in_loop

    for D in (1, 2):
        arrays = _arrays(8, 3, 9, D, "float32", False, [3, 3, 2, 2, 2, 1, 1, 1])
        got = _vector(*arrays, False, in_loop=False)
        want = _vector(*arrays, False, in_loop=True)
        assert got[3] is None and want[3] is not None
        for a, b in zip(got[:3], want[:3], strict=True):
            np.testing.assert_array_equal(a, b)
    f32 = np.dtype("float32")
    assert (
        dw_in_loop(1, 8, f32) and dw_in_loop(4, 10, f32) and dw_in_loop(2, 16, np.dtype("float64"))
    )
    assert not dw_in_loop(5, 4, f32) and not dw_in_loop(1, 4, f32) and not dw_in_loop(4, 32, f32)
    f64 = np.dtype("float64")
    assert replaces_gemm(5, 4, f32) and replaces_gemm(3, 24, f32) and replaces_gemm(2, 16, f64)
    assert not replaces_gemm(6, 12, f64) and not replaces_gemm(4, 32, f32)
    assert not replaces_gemm(1, 2 * lanes_of(f64) + 1, f64)


def test_serves_up_to_two_vectors_compiled() -> None:
    for dt in ("float32", "float64"):
        V = lanes_of(np.dtype(dt))
        assert serves(1, np.dtype(dt)) and serves(2 * V, np.dtype(dt))
        assert not serves(2 * V + 1, np.dtype(dt)) and not serves(0, np.dtype(dt))


@pytest.mark.parametrize("relu", [False, True])
def test_nan_and_inf_where_the_loop_form_puts_them(relu: bool) -> None:
    out, g, sizes, g_hn, h0, w_hh = _arrays(6, 2, 5, 2, "float32", relu, None)
    g[3, 1] = np.inf  # an inf gradient: inf * (1 - h^2), or passed / cut by relu's select
    g[7, 6] = -np.inf
    out[5, 2] = np.nan  # a NaN state: NaN derivative (tanh), passed (relu: NaN <= 0 false)
    out[8, 7] = 1.0  # tanh's derivative exactly 0 there: an inf gradient gives NaN
    g[8, 7] = np.inf
    if relu:
        out[2, 0] = 0.0
        g[2, 0] = np.inf  # h <= 0: 0, not inf * 0
    got = _vector(out, g, sizes, g_hn, h0, w_hh, relu)
    with np.errstate(invalid="ignore", over="ignore"):  # (NumPy's matmul of dW_hh there)
        want = _loops(out, g, sizes, g_hn, h0, w_hh, relu)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_array_equal(np.isinf(a), np.isinf(b))
        fin = np.isfinite(b)
        np.testing.assert_allclose(a[fin], b[fin], rtol=2e-5, atol=2e-5)


def test_without_dh0_the_rest_is_the_same_and_dh0_untouched() -> None:
    arrays = _arrays(9, 3, 6, 2, "float64", False, [3, 3, 3, 2, 2, 2, 1, 1, 1])
    d1, h1, b1, w1 = _vector(*arrays, False, need_dh0=True)
    d2, h2, b2, w2 = _vector(*arrays, False, need_dh0=False)
    np.testing.assert_array_equal(d1, d2)
    np.testing.assert_array_equal(b1, b2)
    np.testing.assert_array_equal(w1, w2)
    assert (h2 == 7.0).all() and not (h1 == 7.0).any()


def test_float64_gradcheck_of_w_hh_and_g_hn() -> None:
    """Central differences of L = sum(G * h) + sum(Gn * h_n) through a whole recurrence
    (both directions, packed): dW_hh, dh0 and db from the kernel."""
    rng = np.random.default_rng(3)
    sizes = np.array([3, 3, 2, 1], dtype=np.int64)
    T, N, H, I, D = int(sizes.sum()), 3, 5, 2, 2
    x = rng.standard_normal((T, D * H))  # x_t W_ih^T + b, given
    h0 = rng.standard_normal((D, N, H)) * 0.5
    W = [rng.standard_normal((H, H)) * 0.4 for _ in range(D)]
    G = rng.standard_normal((T, D * H))
    Gn = rng.standard_normal((D, N, H))
    off = np.concatenate([[0], np.cumsum(sizes)])

    def forward(W, h0, x):
        out = np.empty_like(x)
        hn = np.empty_like(h0)
        L = len(sizes)
        for d in range(D):
            h = h0[d].copy()
            for s in range(L):
                t = L - 1 - s if d == 1 else s
                b = sizes[t]
                z = x[off[t] : off[t] + b, d * H : (d + 1) * H] + h[:b] @ W[d].T
                h[:b] = np.tanh(z)
                out[off[t] : off[t] + b, d * H : (d + 1) * H] = h[:b]
            if d == 0:
                for i in range(N):  # a sequence's last step
                    last = max(t for t in range(L) if sizes[t] > i)
                    hn[d, i] = out[off[last] + i, :H]
            else:
                hn[d] = h
        return out, hn

    def loss(W, h0, x):
        out, hn = forward(W, h0, x)
        return float((G * out).sum() + (Gn * hn).sum())

    out, _ = forward(W, h0, x)
    delta, dh0, db = np.empty_like(out), np.empty_like(h0), np.zeros(D * H)
    dw = layer_bptt(out, G, sizes, Gn, h0, W, False, True, delta, dh0, db, True)
    eps = 1e-6
    for d in range(D):
        for j, k in [(0, 0), (1, 3), (4, 2), (2, 4)]:
            Wp = [w.copy() for w in W]
            Wm = [w.copy() for w in W]
            Wp[d][j, k] += eps
            Wm[d][j, k] -= eps
            num = (loss(Wp, h0, x) - loss(Wm, h0, x)) / (2 * eps)
            assert abs(num - dw[d, j, k]) < 1e-7 * max(1, abs(num))
        for i, k in [(0, 0), (2, 4), (1, 2)]:
            hp, hm = h0.copy(), h0.copy()
            hp[d, i, k] += eps
            hm[d, i, k] -= eps
            num = (loss(W, hp, x) - loss(W, hm, x)) / (2 * eps)
            assert abs(num - dh0[d, i, k]) < 1e-7 * max(1, abs(num))
        for k in [0, 3]:  # db: the same perturbation in every row's pre-activation
            xp, xm = x.copy(), x.copy()
            xp[:, d * H + k] += eps
            xm[:, d * H + k] -= eps
            num = (loss(W, h0, xp) - loss(W, h0, xm)) / (2 * eps)
            assert abs(num - db[d * H + k]) < 1e-7 * max(1, abs(num))
    del I


def _stack_grads(variant: str, H: int, need_dh0: bool = True, N: int = 2) -> tuple[Any, Any]:
    """A two-layer bidirectional packed float64 stack's gradients by ``variant`` and by the
    reference."""
    from elman._kernels import stack_compiled, stack_ref

    rng = np.random.default_rng(H)
    sizes = np.array([N, N, max(N - 1, 1), 1, 1], dtype=np.int64)
    T, I, NL, D = int(sizes.sum()), 3, 2, 2
    ws = []
    for k in range(NL * D):
        In = I if k < D else D * H
        ws.append(tuple(rng.standard_normal(s) * 0.3 for s in ((H, In), (H, H), (H,), (H,))))
    x = rng.standard_normal((T, I))
    h0 = rng.standard_normal((NL * D, N, H))
    stack = (x, sizes, h0, ws, NL, False, None)
    g_out = rng.standard_normal((T, D * H))
    g_hn = rng.standard_normal((NL * D, N, H))
    v = dispatch.variant(variant)
    outs, _ = stack_compiled.stack_forward(*stack, variant=v)
    got = stack_compiled.stack_backward(*stack, outs, g_out, g_hn, variant=v, need_dh0=need_dh0)
    want = stack_ref.stack_backward(*stack, stack_ref.stack_forward(*stack)[0], g_out, g_hn)
    return got, want


@pytest.mark.parametrize(
    "variant", ["layered-axpy", "fused-forward", "layered-outer", "layered-gemm"]
)
def test_the_layered_backward_takes_it(variant: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The layered backward runs layer_bptt for H within two vectors, once a layer: in the
    loop modes for any rows, in the GEMM mode for a few rows (config.BPTT_GEMM_ROWS); not
    for wider H; and the gradients match the reference's."""
    calls: list[int] = []

    def counted(*args: Any) -> Any:
        calls.append(args[3].shape[-1])
        return layer_bptt(*args)

    monkeypatch.setattr(layered_stack, "layer_bptt", counted)
    wide = 2 * lanes_of(np.dtype("float64")) + 1
    gemm = variant == "layered-gemm"
    # (H 9, two rows: dW_hh in the loop; H 6, eight rows: the GEMM mode's BLAS steps)
    for H, N, takes in ((6, 2, True), (9, 2, True), (6, 8, not gemm), (wide, 2, False)):
        for need_dh0 in (True, False):
            calls.clear()
            got, want = _stack_grads(variant, H, need_dh0, N)
            assert calls == ([H, H] if takes else [])
            assert_close(got[0], want[0])
            if need_dh0:
                assert_close(got[1], want[1])
            for a, b in zip(got[2], want[2], strict=True):
                for p, q in zip(a, b, strict=True):
                    assert_close(p, q)
