"""Gradient clipping against torch: the returned total norm, the clipped gradients, errors."""

from __future__ import annotations

import doctest
import math
from typing import Any

import numpy as np
import pytest
from nn_parity import one_torch_thread, tol_for  # noqa: F401  (a fixture)

import elman
from conftest import TORCH, assert_close, requires_torch
from elman.nn import utils
from elman.nn.utils import clip_grad

torch = TORCH
NORMS = [2.0, 1.0, math.inf, -math.inf, 0.0, 0.5, 3.0]


def _params(dtypes: list[Any], seed: int = 0, scale: float = 1.0) -> dict[Any, list[Any]]:
    """The same parameters with gradients in elman and torch; the second has no gradient."""
    rng = np.random.default_rng(seed)
    shapes = [(3, 4), (5,), (2, 2, 2), (6, 1)]
    out: dict[Any, list[Any]] = {elman: [], torch: []}
    for i, (shape, dt) in enumerate(zip(shapes, dtypes, strict=False)):
        w = rng.standard_normal(shape).astype(dt)
        g = (rng.standard_normal(shape) * scale).astype(dt)
        g.reshape(-1)[0] = 0.0  # a zero element, which the 0-"norm" does not count
        for lib in (elman, torch):
            p = lib.nn.Parameter(lib.tensor(w.copy()))
            if i != 1:
                p.grad = lib.tensor(g.copy())
            out[lib].append(p)
    return out


def _compare_grads(params: dict[Any, list[Any]], mixed: bool = False) -> None:
    """Clipped gradients agree; with ``mixed`` dtypes, float64 ones only to float32
    rounding (their scale comes from float32 norms)."""
    for e, t in zip(params[elman], params[torch], strict=True):
        if t.grad is None:
            assert e.grad is None
        elif mixed:
            assert e.grad.dtype == t.grad.numpy().dtype
            np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), **tol_for(np.float32))
        else:
            assert_close(e.grad, t.grad, "clipped grad", **tol_for(e.dtype))


@requires_torch
@pytest.mark.parametrize(
    "dtypes",
    [[np.float32] * 4, [np.float64] * 4, [np.float32, np.float32, np.float64, np.float32]],
    ids=["f32", "f64", "mixed"],
)
@pytest.mark.parametrize("max_norm", [0.1, 1e6])
@pytest.mark.parametrize("norm_type", NORMS)
def test_clip_grad_norm_matches_torch(norm_type: float, max_norm: float, dtypes: list[Any]) -> None:
    params = _params(dtypes)
    got = utils.clip_grad_norm_(iter(params[elman]), max_norm, norm_type=norm_type)
    want = torch.nn.utils.clip_grad_norm_(iter(params[torch]), max_norm, norm_type=norm_type)
    assert isinstance(got, elman.Tensor) and got.shape == ()
    if len(set(dtypes)) == 1:
        assert_close(got, want, "total norm", **tol_for(dtypes[0]))
    else:  # a float64 norm of float32 norms carries float32 rounding
        assert got.dtype == want.numpy().dtype == np.float64
        np.testing.assert_allclose(got.numpy(), want.numpy(), **tol_for(np.float32))
    _compare_grads(params, mixed=len(set(dtypes)) > 1)


@requires_torch
def test_clip_coefficient_uses_torch_arithmetic() -> None:
    """Given the same total norm, max_norm / (norm + 1e-6) is evaluated as torch does (a
    reciprocal, then a product) and the clipped float32 gradients equal torch's bit for bit.
    (The norms themselves agree to rounding: torch sums float32 squares in float32.)"""
    for seed in range(20):
        params = _params([np.float32] * 4, seed=seed, scale=10.0)
        norm = torch.nn.utils.clip_grad_norm_(params[torch], 0.37)
        utils.clip_grads_with_norm_(params[elman], 0.37, elman.tensor(norm.numpy()))
        for e, t in zip(params[elman], params[torch], strict=True):
            if t.grad is not None:
                np.testing.assert_array_equal(e.grad.numpy(), t.grad.numpy())


@requires_torch
def test_single_tensor_and_no_grads() -> None:
    params = _params([np.float64] * 4)
    got = utils.clip_grad_norm_(params[elman][0], 0.5)
    want = torch.nn.utils.clip_grad_norm_(params[torch][0], 0.5)
    assert_close(got, want)
    _compare_grads(params)
    bare = [elman.nn.Parameter(elman.ones(2))]
    got = utils.clip_grad_norm_(bare, 1.0)
    want = torch.nn.utils.clip_grad_norm_([torch.nn.Parameter(torch.ones(2))], 1.0)
    assert_close(got, want)  # tensor(0.) of the default dtype
    assert bare[0].grad is None


@requires_torch
def test_empty_generator_warns() -> None:
    with pytest.warns(UserWarning, match="`parameters` is an empty generator") as rec:
        utils.clip_grad_norm_((p for p in []), 1.0)
    assert rec[0].filename == __file__  # points at the caller


@requires_torch
@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_nonfinite_norm(bad: float) -> None:
    params = _params([np.float32] * 4)
    for lib in (elman, torch):
        params[lib][0].grad[0, 1] = bad
    for lib, fn in ((elman, utils.clip_grad_norm_), (torch, torch.nn.utils.clip_grad_norm_)):
        with pytest.raises(RuntimeError, match="is non-finite, so it cannot be clipped"):
            fn(params[lib], 1.0, error_if_nonfinite=True)
    got = utils.clip_grad_norm_(params[elman], 1.0)  # without the check: scaled anyway
    want = torch.nn.utils.clip_grad_norm_(params[torch], 1.0)
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    for e, t in zip(params[elman], params[torch], strict=True):
        if t.grad is not None:  # nan everywhere (nan norm), or 0 and nan (inf * 0)
            np.testing.assert_array_equal(e.grad.numpy(), t.grad.numpy())


@requires_torch
def test_inf_norm_of_an_empty_gradient() -> None:
    for lib, fn in ((elman, utils.get_total_norm), (torch, torch.nn.utils.get_total_norm)):
        with pytest.raises(RuntimeError, match="cannot compute the inf(inity)? norm on an empty"):
            fn([lib.zeros(0)], math.inf)


@requires_torch
@pytest.mark.parametrize("clip_value", [0.3, 1.5, 0.0])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_clip_grad_value_matches_torch(clip_value: float, dtype: Any) -> None:
    params = _params([dtype] * 4, scale=2.0)
    assert utils.clip_grad_value_(params[elman], clip_value) is None
    torch.nn.utils.clip_grad_value_(params[torch], clip_value)
    for e, t in zip(params[elman], params[torch], strict=True):
        if t.grad is not None:
            np.testing.assert_array_equal(e.grad.numpy(), t.grad.numpy())


@requires_torch
def test_get_total_norm_and_clip_grads_with_norm() -> None:
    params = _params([np.float32] * 4)
    grads = {lib: [p.grad for p in ps if p.grad is not None] for lib, ps in params.items()}
    got = utils.get_total_norm(grads[elman], 3.0)
    want = torch.nn.utils.get_total_norm(grads[torch], 3.0)
    assert_close(got, want)
    utils.clip_grads_with_norm_(params[elman], 0.2, got)
    torch.nn.utils.clip_grads_with_norm_(params[torch], 0.2, want)
    _compare_grads(params)


def test_clipping_keeps_gradient_objects() -> None:
    w = elman.tensor([3.0, 4.0], requires_grad=True)
    (w * w).sum().backward()
    g = w.grad
    norm = utils.clip_grad_norm_([w], 1.0)
    assert w.grad is g and norm.item() == pytest.approx(10.0)
    np.testing.assert_allclose(g.numpy(), [0.6, 0.8], rtol=1e-6)


def test_doctests() -> None:
    failed, attempted = doctest.testmod(clip_grad, raise_on_error=False, verbose=False)
    assert attempted > 0 and failed == 0


@pytest.mark.parametrize("special", [None, np.nan, np.inf], ids=["finite", "nan", "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_clip_grad_norm_one_pass_equals_the_two_functions(
    dtype: Any, max_norm: float, special: float | None
) -> None:
    """clip_grad_norm_'s lean path (p = 2, one dtype, C-contiguous gradients) gives the bits
    of get_total_norm + clip_grads_with_norm_, special values included."""
    rng = np.random.default_rng(5)
    shapes = [(7, 3), (4,), (2, 5, 3)]
    grads = [rng.standard_normal(s).astype(dtype) for s in shapes]
    if special is not None:
        grads[1][2] = special
    runs = []
    for lean in (True, False):
        ps = [elman.nn.Parameter(elman.zeros(*s, dtype=dtype)) for s in shapes]
        for p, g in zip(ps, grads, strict=True):
            p.grad = elman.tensor(g.copy())
        if lean:
            total = utils.clip_grad_norm_(ps, max_norm)
        else:
            total = clip_grad.get_total_norm([p.grad for p in ps])
            clip_grad.clip_grads_with_norm_(ps, max_norm, total)
        runs.append((total.numpy(), [p.grad.numpy() for p in ps]))
    (t1, g1), (t2, g2) = runs
    np.testing.assert_array_equal(t1, t2)
    assert t1.dtype == np.dtype(dtype) and t1.shape == ()
    for a, b in zip(g1, g2, strict=True):
        np.testing.assert_array_equal(a, b)
    ps = [elman.nn.Parameter(elman.zeros(4, 3))]  # a non-contiguous gradient: general path
    ps[0].grad = elman.tensor(rng.standard_normal((3, 4)).astype(np.float32)).t()
    expected = ps[0].grad.numpy() * np.float32(0.1 / (np.linalg.norm(ps[0].grad.numpy()) + 1e-6))
    utils.clip_grad_norm_(ps, 0.1)
    np.testing.assert_allclose(ps[0].grad.numpy(), expected, rtol=1e-6)
