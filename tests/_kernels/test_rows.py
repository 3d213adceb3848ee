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


# ---- cross-entropy's common case: loss and softmax forward, s (p - onehot) backward ---------


def _nll_loop(x: np.ndarray, t: np.ndarray, ignore: int) -> tuple[np.ndarray, float, int]:
    """The spec, row by row in float64: each row's -log softmax at its target."""
    loss, total, count = np.zeros(len(t)), 0.0, 0
    for i, k in enumerate(t):
        if k == ignore:
            continue
        count += 1
        row = x[i].astype(np.float64)
        with np.errstate(all="ignore"):
            m = row.max()
            loss[i] = -((row[k] - m) - np.log(np.exp(row - m).sum()))
        total += loss[i]
    return loss, total, count


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("impl", sorted(IMPLS))
def test_softmax_nll_rows_against_a_loop(impl: str, dtype: str) -> None:
    x = np.random.default_rng(6).standard_normal((300, 7)).astype(dtype) * 4
    t = np.random.default_rng(7).integers(0, 7, 300)
    t[::9] = -100
    p, loss, total, count, bad = IMPLS[impl].softmax_nll_rows(x, t, -100)
    want_loss, want_total, want_count = _nll_loop(x, t, -100)
    assert (count, bad) == (want_count, -1) and loss.dtype == p.dtype == np.dtype(dtype)
    assert_close(loss, want_loss.astype(dtype), "loss")
    np.testing.assert_allclose(total, want_total, rtol=1e-6 if dtype == "float32" else 1e-12)
    assert_close(p, IMPLS[impl].log_softmax_rows(x)[1], "p")


@pytest.mark.parametrize("impl", sorted(IMPLS))
def test_softmax_nll_rows_special_values_and_bad_targets(impl: str) -> None:
    x = _logits("float64")  # nan, inf, all -inf rows
    t = np.array([0, 2, 0, 1, 3, 0, 1, 4, 5])  # row 4's target is -inf: loss inf
    p, loss, total, count, bad = IMPLS[impl].softmax_nll_rows(x, t, -100)
    want_loss, _, _ = _nll_loop(x, t, -100)
    assert_close(loss, want_loss, "loss")  # nan on rows 1, 2, 3, 6; inf on row 4
    assert np.isnan(loss[[1, 2, 3, 6]]).all() and np.isposinf(loss[4]) and np.isnan(total)
    assert bad == -1 and count == 9
    t_bad = np.array([0, 1, 6, -1, 7, 0, -100, 0, 0])  # 6 (row 2) is the first out of range
    *_, count, bad = IMPLS[impl].softmax_nll_rows(x, t_bad, -100)
    assert (bad, count) == (2, 8)
    *_, bad = IMPLS[impl].softmax_nll_rows(x, np.array([0, 1, 2, 3, 4, 5, 0, 1, 2]), 4)
    assert bad == -1  # ignore_index may lie inside the classes too
    p0, loss0, total0, count0, bad0 = IMPLS[impl].softmax_nll_rows(np.zeros((0, 3)), t[:0], -100)
    assert p0.shape == (0, 3) and loss0.shape == (0,) and (total0, count0, bad0) == (0.0, 0, -1)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("impl", sorted(IMPLS))
def test_nll_grad_rows_against_numpy(impl: str, dtype: str) -> None:
    x = _logits(dtype)
    p = IMPLS[impl].log_softmax_rows(x)[1]
    t = np.array([0, 2, -100, 1, 3, 0, -100, 4, 5])
    for s in (np.full(9, 0.25, dtype), np.linspace(-1, 2, 9).astype(dtype)):
        with np.errstate(invalid="ignore"):
            w = np.where(t != -100, s, 0).astype(dtype)
            want = p * w[:, None]
            keep = np.flatnonzero(t != -100)
            want[keep, t[keep]] -= w[keep]
        scale = np.broadcast_to(s[:1], (9,)) if s[0] == s[1] else s  # (a 'mean': stride 0)
        got = IMPLS[impl].nll_grad_rows(p, t, -100, scale)
        assert_close(got, want, f"{impl} grad")
        assert np.isnan(got[[1, 2, 3, 6]]).all()  # an ignored row of nan stays nan (p * 0)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("impl", sorted(IMPLS))
def test_column_sums_and_add_rows_into(impl: str, dtype: str) -> None:
    rng = np.random.default_rng(8)
    g = (rng.standard_normal((500, 6)) * 10.0 ** rng.integers(-3, 4, (500, 1))).astype(dtype)
    g[3, 1], g[4, 2], g[5, 2] = np.nan, np.inf, -np.inf
    with np.errstate(invalid="ignore"):
        want = g.astype(np.float64).sum(axis=0).astype(dtype)
        got = IMPLS[impl].column_sums(g)
    np.testing.assert_allclose(got, want, rtol=1e-6 if dtype == "float32" else 1e-13)
    assert got.dtype == np.dtype(dtype) and np.isnan(got[[1, 2]]).all()
    src = rng.standard_normal((5, 4, 3)).astype(dtype)
    src[0, 0, 0] = np.inf
    b = rng.standard_normal(3).astype(dtype)
    b[2] = np.nan
    out = np.zeros((4, 5, 3), dtype)
    IMPLS[impl].add_rows_into(src, b, out.transpose(1, 0, 2))
    np.testing.assert_array_equal(out, (src + b).transpose(1, 0, 2))
