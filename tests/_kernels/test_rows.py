"""The row kernels around the RNN (``rows_ref`` and its compiled twin): the Embedding's
scatter-add in index order, and the log-softmax with the softmax of cross-entropy; against
a plain loop, NumPy, each other and torch (when installed), special values included."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import elman._kernels as exported
from conftest import requires_torch, tol
from elman._kernels import rows_ref


def _impls() -> dict[str, ModuleType]:
    impls = {"rows_ref": rows_ref}
    try:
        impls["rows_compiled"] = importlib.import_module("elman._kernels.rows_compiled")
    except ImportError:  # numba is not installed
        pass
    impls["exported"] = exported
    return impls


IMPLS = _impls()


def _scatter_case(dtype: Any, K: int = 3000, R: int = 7, D: int = 5) -> tuple[Any, ...]:
    rng = np.random.default_rng(3)
    rows = rng.integers(0, R, K).astype(np.intp)  # many repeats: order matters in float32
    g = (rng.standard_normal((K, D)) * 10.0 ** rng.integers(-3, 4, (K, 1))).astype(dtype)
    return rows, g, R


def _loop(rows: np.ndarray, g: np.ndarray, R: int, skip: int) -> np.ndarray:
    """The spec: one row after the other, in index order."""
    out = np.zeros((R, g.shape[1]), dtype=g.dtype)
    for k, r in enumerate(rows):
        if r != skip:
            out[r] += g[k]
    return out


@pytest.mark.parametrize("skip", [-1, 2])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("impl", sorted(IMPLS))
def test_scatter_add_rows_adds_in_index_order(impl: str, dtype: str, skip: int) -> None:
    rows, g, R = _scatter_case(dtype)
    out = np.zeros((R, g.shape[1]), dtype=dtype)
    IMPLS[impl].scatter_add_rows(out, rows, g, skip)
    np.testing.assert_array_equal(out, _loop(rows, g, R, skip))  # bit for bit


@pytest.mark.parametrize("impl", sorted(IMPLS))
def test_scatter_add_rows_special_values_and_empty(impl: str) -> None:
    rows = np.array([1, 0, 1, 1], dtype=np.intp)
    g = np.array([[np.inf, 1.0], [np.nan, 2.0], [-np.inf, 3.0], [1.0, np.inf]])
    out = np.zeros((3, 2))
    with np.errstate(invalid="ignore"):
        IMPLS[impl].scatter_add_rows(out, rows, g, -1)
        expected = _loop(rows, g, 3, -1)
    np.testing.assert_array_equal(out, expected)  # nan where inf - inf, inf kept, row 2 zero
    empty = np.zeros((3, 2))
    IMPLS[impl].scatter_add_rows(empty, np.zeros(0, np.intp), np.zeros((0, 2)), -1)
    np.testing.assert_array_equal(empty, 0)


def assert_close(actual: np.ndarray, expected: np.ndarray, what: str) -> None:
    """Same dtype, nan and ±inf at the same places, the rest within the dtype's tolerance."""
    assert actual.dtype == expected.dtype, what
    np.testing.assert_allclose(actual, expected, err_msg=what, **tol(expected.dtype))


def _logits(dtype: str) -> np.ndarray:
    rng = np.random.default_rng(4)
    x = (rng.standard_normal((9, 6)) * 3).astype(dtype)
    x[1, 2] = np.nan
    x[2, 0] = np.inf
    x[3, :] = -np.inf
    x[4, 3] = -np.inf
    x[5, :] = [1e30, 1e30, -1e30, 0, 0, 0]
    x[6, :] = np.inf
    return x


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("impl", sorted(IMPLS))
def test_log_softmax_rows_against_numpy(impl: str, dtype: str) -> None:
    x = _logits(dtype)
    with np.errstate(all="ignore"):
        m = np.max(x, axis=1, keepdims=True)
        lse = np.log(np.exp(x - m).sum(axis=1, keepdims=True))
        expected_logp = (x - m) - lse
        expected_p = np.exp(x - m) / np.exp(x - m).sum(axis=1, keepdims=True)
    logp, p = IMPLS[impl].log_softmax_rows(x)
    assert_close(logp, expected_logp, f"{impl} logp")  # (nan at the same places)
    assert_close(p, expected_p, f"{impl} p")
    assert np.isnan(logp[[1, 2, 3, 6]]).all() and np.isneginf(logp[4, 3]) and p[4, 3] == 0
    logp0, p0 = IMPLS[impl].log_softmax_rows(np.zeros((0, 4), dtype=dtype))
    assert logp0.shape == p0.shape == (0, 4) and logp0.dtype == np.dtype(dtype)


@requires_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("impl", sorted(IMPLS))
def test_log_softmax_rows_against_torch(impl: str, dtype: str) -> None:
    import torch

    for x in (_logits(dtype), np.random.default_rng(5).standard_normal((300, 96)).astype(dtype)):
        logp, p = IMPLS[impl].log_softmax_rows(x)
        t = torch.from_numpy(x)
        assert_close(logp, torch.log_softmax(t, 1).numpy(), f"{impl} logp")
        assert_close(p, torch.softmax(t, 1).numpy(), f"{impl} p")
