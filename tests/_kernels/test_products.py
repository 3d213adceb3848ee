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
