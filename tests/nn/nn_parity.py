"""The torch-parity helper of the nn tests: :func:`parity` runs one lambda ``fn(F, *tensors)``
with ``F`` = ``elman.nn.functional`` or ``torch.nn.functional`` on tensors made from the same
arrays, compares the outputs (dtype, shape, values), backpropagates the same random cotangent
through both and compares the gradient of every input. ``one_torch_thread`` is a
module-scoped autouse fixture for the modules that import it (tiny ops on a busy machine).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import pytest

import elman
import elman.nn.functional as EF
from conftest import TORCH, assert_close, to_numpy

torch = TORCH
TF = None if torch is None else torch.nn.functional
DTYPES = [np.float64, np.float32]


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread() -> Iterator[None]:
    """torch's intra-op threads cost milliseconds per tiny op on a busy machine; the tensors
    here are tiny, so run torch on one thread for this module (and restore it after)."""
    if torch is None:
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tol_for(dtype: Any) -> dict[str, float]:
    """float32 within torch.testing.assert_close's defaults; float64 to ~1e-12 (DESIGN.md)."""
    if np.dtype(dtype) == np.float32:
        return {"rtol": 1.3e-6, "atol": 1e-5}
    return {"rtol": 1e-10, "atol": 1e-12}


def _close(actual: Any, expected: Any, what: str, tol: dict[str, float] | None) -> None:
    """assert_close (which records the worst error per dtype) at DESIGN.md's tolerances, or
    a plain comparison at ``tol`` for results that inherit another dtype's rounding."""
    if tol is None:
        assert_close(actual, expected, what, equal_nan=True, **tol_for(to_numpy(expected).dtype))
    else:
        a, e = to_numpy(actual), to_numpy(expected)
        assert a.dtype == e.dtype and a.shape == e.shape, what
        np.testing.assert_allclose(a, e, err_msg=what, equal_nan=True, **tol)


def parity(
    fn: Callable[..., Any],
    *arrays: np.ndarray,
    grad: Sequence[bool] | None = None,
    seed: int = 0,
    tol: dict[str, float] | None = None,
) -> tuple[Any, Any]:
    """Compare ``fn(F, *tensors)`` in elman and torch: outputs, then every input's gradient.

    Floating arrays require grad unless ``grad`` says otherwise; ``tol`` overrides the
    tolerances of each array's dtype. Returns both outputs.
    """
    needs = [a.dtype.kind == "f" for a in arrays] if grad is None else list(grad)
    ex = [elman.tensor(a, requires_grad=n) for a, n in zip(arrays, needs, strict=True)]
    tx = [torch.tensor(a, requires_grad=n) for a, n in zip(arrays, needs, strict=True)]
    eo, to = fn(EF, *ex), fn(TF, *tx)
    expected = to.detach().numpy()
    assert eo.dtype == expected.dtype and eo.shape == expected.shape
    _close(eo, expected, "output", tol)
    if not to.requires_grad:
        assert not eo.requires_grad
        return eo, to
    cot = np.random.default_rng(seed).standard_normal(expected.shape).astype(expected.dtype)
    elman.autograd.backward([eo], [cot])
    torch.autograd.backward([to], [torch.from_numpy(cot)])
    for i, (e, t) in enumerate(zip(ex, tx, strict=True)):
        if t.grad is None:
            assert e.grad is None, f"input {i}: elman has a grad, torch has none"
        else:
            assert e.grad is not None, f"input {i}: no grad"
            _close(e.grad, t.grad, f"grad of input {i}", tol)
    return eo, to


def arrays(*shapes: Any, dtype: Any = np.float64, seed: int = 1) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def targets(high: int, shape: Any, seed: int = 2, ignore: int | None = None) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = rng.integers(0, high, shape)
    if ignore is not None and t.size > 1:
        t.reshape(-1)[1] = ignore
    return t


def probabilities(shape: tuple[int, ...], axis: int, dtype: Any, seed: int = 3) -> np.ndarray:
    p = np.random.default_rng(seed).uniform(0.05, 1.0, shape)
    return (p / p.sum(axis=axis, keepdims=True)).astype(dtype)


REDUCTIONS = ["mean", "sum", "none"]


def linear_reference(
    x: np.ndarray, w: np.ndarray, b: np.ndarray, g: np.ndarray, view: bool
) -> dict[str, np.ndarray]:
    """A Linear's y, dx, dw, db in float64 for ``x`` (L, N, H) time-major memory, taken as
    the batch-first view (N, L, H) when ``view`` (then ``g`` is (N, L, V)), else as is."""
    x64, w64, g64 = (a.astype(np.float64) for a in (x.transpose(1, 0, 2) if view else x, w, g))
    dx = g64 @ w64
    V, H = w.shape
    return {
        "y": x64 @ w64.T + b,
        "dx": dx.transpose(1, 0, 2) if view else dx,
        "dw": g64.reshape(-1, V).T @ x64.reshape(-1, H),
        "db": g64.reshape(-1, V).sum(0),
    }


def assert_like_reference(pairs: Any, dtype: Any) -> None:
    """Each (name, tensor, float64 reference): NaN and inf where the reference has them, the
    finite values within ``tol_for(dtype)``."""
    for name, ours, ref in pairs:
        ours = ours.detach().numpy()
        np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref), err_msg=name)
        np.testing.assert_array_equal(np.isinf(ours), np.isinf(ref), err_msg=name)
        finite = np.isfinite(ref)
        assert_close(ours[finite], ref[finite].astype(dtype), name, **tol_for(dtype))
