"""The compiled building blocks: the float32 tanh, the explicit-SIMD step products and
their packed layout, and the two-thread hand-over (products split by rows, the batch
split, a half that never meets).
"""

from __future__ import annotations

import numpy as np
import pytest

numba = pytest.importorskip("numba")

from kernel_cases import DTYPES  # noqa: E402

from elman._kernels import activations, handover, simd_products, split_recurrence  # noqa: E402


def test_float32_tanh_is_accurate() -> None:
    x = np.linspace(-12, 12, 200_001).astype(np.float32)
    y = np.empty_like(x)
    _activate_all(x, y)
    exact = np.tanh(x.astype(np.float64))
    assert np.abs(y - exact).max() < 3e-7
    assert np.all(np.abs(y) <= 1)


@numba.njit(cache=True)
def _activate_all(x: np.ndarray, y: np.ndarray) -> None:
    for i in range(x.shape[0]):
        y[i] = activations.tanh(x[i])


@pytest.mark.parametrize("dtype", DTYPES)
def test_outer_product_kernel_matches_numpy(dtype: str) -> None:
    """mm_outer and mm_wide: any row count, K, H not a multiple of the vector width,
    offsets into x and acc; the padding columns get zeros added, columns past them nothing."""
    rng = np.random.default_rng(5)
    tol = {"rtol": 1e-5, "atol": 1e-5} if dtype == "float32" else {"rtol": 1e-12, "atol": 1e-12}
    for K, H in [(1, 1), (5, 7), (37, 37), (128, 129), (16, 64), (3, 200), (70, 113)]:
        MT = rng.standard_normal((K, H)).astype(dtype)
        P = simd_products.pack_columns(MT)
        Hp = simd_products.outer_width(H, dtype)
        assert P.shape == (K * Hp,) and Hp % simd_products.lanes_of(dtype) == 0 and Hp - H < Hp
        for rows in (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 13, 20):
            x = rng.standard_normal((rows + 2, K)).astype(dtype)
            acc = rng.standard_normal((rows + 3, Hp + 5)).astype(dtype)
            expected = acc.copy()
            expected[2 : 2 + rows, 3 : 3 + H] += x[1 : 1 + rows] @ MT
            for kernel in (simd_products.mm_outer, simd_products.mm_wide):
                got = acc.copy()
                kernel(x, 1, P, got, 2, 3, rows, K)
                np.testing.assert_allclose(got[:, : 3 + H], expected[:, : 3 + H], **tol)
                np.testing.assert_array_equal(got[:, 3 + H : 3 + Hp], expected[:, 3 + H : 3 + Hp])
                np.testing.assert_array_equal(got[:, 3 + Hp :], expected[:, 3 + Hp :])


def test_pack_columns_layout() -> None:
    """Blocks of B vectors, one after the other, each (K, width) row-major, zero-padded."""
    V, B = simd_products.lanes_of(np.float32), simd_products.BLOCK_VECTORS
    K, H = 3, B * V + 3
    MT = np.arange(K * H, dtype=np.float32).reshape(K, H) + 1
    P = simd_products.pack_columns(MT)
    first = P[: K * B * V].reshape(K, B * V)
    np.testing.assert_array_equal(first, MT[:, : B * V])
    tail = P[K * B * V :].reshape(K, V)
    np.testing.assert_array_equal(tail[:, :3], MT[:, B * V :])
    assert not tail[:, 3:].any()


def test_matmul2_splits_rows_between_threads() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((301, 40)), rng.standard_normal((40, 7))
    np.testing.assert_allclose(handover.matmul_two_threads(a, b), a @ b, rtol=1e-12)
    np.testing.assert_allclose(handover.matmul_two_threads(a.T[:, :9].T, b), a[:9] @ b, rtol=1e-12)


def test_matmul2_splits_columns_when_rows_are_few(monkeypatch: pytest.MonkeyPatch) -> None:
    """A weight gradient g.T @ x with fewer than 2 * TWO_THREAD_MIN_ROWS rows (a narrow head):
    the columns of b split between the threads, each half into its own array; the result is
    np.matmul's, special values in place."""
    halves: list[tuple[int, int]] = []
    run_pair = handover.run_pair

    def spy(kernel, args0, args1, flags=None):  # type: ignore[no-untyped-def]
        halves.append((args0[1].shape[1], args1[1].shape[1]))
        run_pair(kernel, args0, args1, flags)

    monkeypatch.setattr(handover, "run_pair", spy)
    rng = np.random.default_rng(1)
    for dtype in DTYPES:
        a = rng.standard_normal((300, 70)).astype(dtype).T  # (70, 300), a transposed view
        b = rng.standard_normal((300, 150)).astype(dtype)
        a[3, 5], b[7, 140], b[9, 2] = np.inf, np.nan, -np.inf
        with np.errstate(invalid="ignore"):
            out, expected = handover.matmul_two_threads(a, b), np.matmul(a, b)
        np.testing.assert_array_equal(out, expected)  # (same NaN and inf positions)
        assert out.flags.c_contiguous and np.isnan(out[:, 140]).all() and np.isinf(out[3, 0])
    assert halves == [(80, 70)] * len(DTYPES)  # (a multiple of 16 columns first)
    halves.clear()
    a, b = np.ones((100, 10)), np.ones((10, 100))  # neither 2 x 64 rows nor columns: one call
    np.testing.assert_array_equal(handover.matmul_two_threads(a, b), np.full((100, 100), 10.0))
    assert halves == []


def test_layer_product_splits_big_products_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The products of the layers around the RNN (a Linear head) run on the two threads from
    TWO_THREAD_PRODUCT multiply-adds when two may run, else as one np.matmul."""
    calls: list[tuple[int, ...]] = []
    matmul2 = handover.matmul_two_threads

    def spy(a, b, out=None, min_work=0):  # type: ignore[no-untyped-def]
        calls.append(a.shape)
        return matmul2(a, b, out, min_work)

    monkeypatch.setattr(handover, "matmul_two_threads", spy)
    monkeypatch.setattr(handover, "two_threads_allowed", lambda: True)
    monkeypatch.setattr(handover, "TWO_THREAD_PRODUCT", 200 * 30 * 20)
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((200, 30)), rng.standard_normal((30, 20))
    np.testing.assert_array_equal(handover.layer_product(a, b), a @ b)
    assert calls == [(200, 30)]
    out = np.empty((199, 20))
    assert handover.layer_product(a[:199], b, out) is out  # below the threshold
    np.testing.assert_array_equal(out, a[:199] @ b)
    assert calls == [(200, 30)]
    monkeypatch.setattr(handover, "two_threads_allowed", lambda: False)  # one thread allowed
    np.testing.assert_array_equal(handover.layer_product(a, b), a @ b)
    assert calls == [(200, 30)]


def test_row_split_balances_the_work() -> None:
    dense = np.full(7, 6, dtype=np.int64)
    assert split_recurrence.row_split(dense, 6) == 3
    assert (
        split_recurrence.row_split(dense[:0], 6) == 3 and split_recurrence.row_split(dense, 1) == 1
    )
    packed = np.array([4, 4, 2, 1, 1, 1, 1, 1], dtype=np.int64)  # lengths 8, 3, 2, 2
    assert split_recurrence.row_split(packed, 4) == 1  # the longest sequence is half the steps


def test_run_pair_reports_a_half_that_never_met() -> None:
    with pytest.raises(RuntimeError, match="did not meet"):
        handover.run_pair(lambda ok: ok, (True,), (False,))
