"""One helper, one line per op: :func:`check` (after tinygrad's ``helper_test_op``) builds elman
and torch tensors from the same NumPy arrays, runs one lambda on both, and compares every
output (dtype, shape, requires_grad, values) and, after a backward with the same random
cotangents, the gradient of every input. The lambda sees only tensors; :func:`M` gives it the
right module for functions such as ``cat`` (``M(x).cat(...)`` is ``torch.cat`` or
``elman.cat``) and :func:`C` turns a constant array into the right kind of operand.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import elman
from conftest import TORCH

torch = TORCH

TOL = {
    np.dtype(np.float64): {"rtol": 1e-12, "atol": 1e-12},
    np.dtype(np.float32): {"rtol": 1e-5, "atol": 1e-6},
}


def M(t: Any) -> Any:
    """The module that goes with tensor ``t``: torch or elman."""
    return torch if isinstance(t, torch.Tensor) else elman


def C(t: Any, array: np.ndarray) -> Any:
    """``array`` as an operand next to ``t``: as is for elman (which takes ndarrays), a
    tensor for torch (which does not)."""
    return torch.from_numpy(array) if isinstance(t, torch.Tensor) else array


def _np_dtype(t: Any) -> np.dtype:
    return np.dtype(str(t.dtype).removeprefix("torch."))


def _outputs(out: Any) -> list[Any]:
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _compare(e: Any, t: Any, what: str, tol: dict[str, float] | None = None) -> None:
    assert isinstance(e, elman.Tensor), f"{what}: {type(e).__name__} is not an elman.Tensor"
    assert e.dtype == _np_dtype(t), f"{what}: dtype {e.dtype} != {t.dtype}"
    assert e.shape == tuple(t.shape), f"{what}: shape {e.shape} != {tuple(t.shape)}"
    assert e.requires_grad == t.requires_grad, f"{what}: requires_grad differs"
    actual, expected = e.detach().numpy(), t.detach().numpy()
    if expected.dtype.kind == "f":
        np.testing.assert_allclose(actual, expected, err_msg=what, **(tol or TOL[expected.dtype]))
    else:
        np.testing.assert_array_equal(actual, expected, err_msg=what)


def check(
    fn: Callable[..., Any],
    *inputs: Any,
    dtype: Any = np.float64,
    low: float = -2.0,
    high: float = 2.0,
    grad: bool = True,
    tol: dict[str, float] | None = None,
) -> None:
    """Run ``fn`` on elman and on torch tensors made from the same arrays; compare both.

    Each input is a shape (filled with uniform values in [low, high) of ``dtype``) or an
    ndarray (used as is). Floating inputs require grad when ``grad``; integer ones never.
    ``tol`` overrides the tolerances of the output's dtype.
    """
    rng = np.random.default_rng(0)
    arrays = [
        x if isinstance(x, np.ndarray) else rng.uniform(low, high, x).astype(dtype) for x in inputs
    ]
    needs = [grad and a.dtype.kind == "f" for a in arrays]
    ex = [elman.tensor(a, requires_grad=n) for a, n in zip(arrays, needs, strict=True)]
    tx = [torch.tensor(a, requires_grad=n) for a, n in zip(arrays, needs, strict=True)]
    eo, to = _outputs(fn(*ex)), _outputs(fn(*tx))
    assert len(eo) == len(to), f"{len(eo)} outputs != torch's {len(to)}"
    for i, (e, t) in enumerate(zip(eo, to, strict=True)):
        _compare(e, t, f"output {i}", tol)
    pairs = [(e, t) for e, t in zip(eo, to, strict=True) if t.requires_grad]
    if not pairs:
        return
    cots = [rng.standard_normal(t.shape).astype(_np_dtype(t)) for _, t in pairs]
    elman.autograd.backward([e for e, _ in pairs], cots)
    torch.autograd.backward([t for _, t in pairs], [torch.from_numpy(c) for c in cots])
    for i, (e, t) in enumerate(zip(ex, tx, strict=True)):
        if t.grad is None:
            assert e.grad is None, f"input {i}: elman has a grad, torch has none"
        else:
            assert e.grad is not None, f"input {i}: no grad"
            _compare(e.grad, t.grad, f"grad of input {i}", tol)
