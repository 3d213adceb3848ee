"""The helper thread's half runs under the caller's NumPy error settings (np.errstate is per
thread): a split product with inf * 0 in the helper's rows warns exactly when the same
product on one thread would."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from elman._kernels.handover import matmul_two_threads


def _operands() -> tuple[np.ndarray, np.ndarray]:
    a = np.ones((256, 8))  # split: at least TWO_THREAD_MIN_ROWS a half
    a[-1, 0] = np.inf  # in the second half: the helper thread's rows
    b = np.ones((8, 4))
    b[0, 1] = 0.0  # inf * 0 = nan in the last row, column 1
    return a, b


def test_ignored_errors_stay_ignored_on_the_helper_thread() -> None:
    a, b = _operands()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="ignore"):
            out = matmul_two_threads(a, b)
    with np.errstate(all="ignore"):
        expected = np.matmul(a, b)
    np.testing.assert_array_equal(out, expected)
    assert np.isnan(out[-1, 1]) and np.isinf(out[-1, 0])


def test_raised_errors_raise_from_the_helper_thread() -> None:
    a, b = _operands()
    with np.errstate(invalid="raise"), pytest.raises(FloatingPointError):
        matmul_two_threads(a, b)
