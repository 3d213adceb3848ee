"""The compiled one-pass Adam (elman._kernels.adam_update) gives the bits of the NumPy
single-tensor update (optim.adam._adam_update, torch's order), and its reference twin too;
and the optimizer takes the pass for float32/float64 and the NumPy path otherwise."""

from __future__ import annotations

import numpy as np
import pytest

import elman
from elman import _kernels
from elman._kernels import param_update_ref
from elman.optim.adam import _adam_update

OPTIONS = [
    dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, maximize=False, decoupled=False),
    dict(lr=0.3, betas=(0.2, 0.99), eps=1e-6, weight_decay=0.1, maximize=True, decoupled=False),
    dict(lr=0.01, betas=(0.9, 0.9), eps=1e-8, weight_decay=1.0, maximize=False, decoupled=False),
    dict(lr=0.05, betas=(0.5, 0.999), eps=1e-3, weight_decay=0.05, maximize=False, decoupled=True),
]


def _arrays(dtype: str, n: int = 257, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    p = rng.standard_normal(n).astype(dtype)
    g = (rng.standard_normal(n) * 10.0 ** rng.integers(-6, 3, n)).astype(dtype)
    m = rng.standard_normal(n).astype(dtype) * 0.1
    v = rng.random(n).astype(dtype) * 0.01
    g[:3] = [np.inf, np.nan, 0.0]  # IEEE values come out where NumPy's do
    return [p, g, m, v]


def _coefs(o: dict, step: int) -> tuple[tuple, tuple]:
    b1, b2 = o["betas"]
    wd, decay = o["weight_decay"], param_update_ref.DECAY_NONE
    if wd != 0:
        if o["decoupled"]:
            decay, wd = param_update_ref.DECAY_DECOUPLED, 1 - o["lr"] * wd
        else:
            decay = param_update_ref.DECAY_L2_ONE if wd == 1 else param_update_ref.DECAY_L2
    coefs = (1 - b1, b2, 1 - b2, -(o["lr"] / (1 - b1**step)), (1 - b2**step) ** 0.5, o["eps"], wd)
    modes = (int(o["maximize"]), decay, int(abs(1 - b1) < 0.5))
    return np.array(coefs), np.array(modes)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("opt", range(len(OPTIONS)))
@pytest.mark.parametrize("impl", ["compiled", "reference"])
def test_one_pass_bits_equal_the_numpy_update(dtype: str, opt: int, impl: str) -> None:
    o = OPTIONS[opt]
    ours, theirs = _arrays(dtype), _arrays(dtype)
    update = _kernels.adam_update if impl == "compiled" else param_update_ref.adam_update
    with np.errstate(all="ignore"):
        for step in range(1, 6):
            coefs, modes = _coefs(o, step)
            update(*ours, coefs, modes)
            _adam_update(
                theirs[0], theirs[1], theirs[2], theirs[3], None, step=float(step),
                lr=o["lr"], beta1=o["betas"][0], beta2=o["betas"][1], eps=o["eps"],
                weight_decay=o["weight_decay"], maximize=o["maximize"], decoupled=o["decoupled"],
            )  # fmt: skip
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == np.dtype(dtype)


def test_sum_squares_twins() -> None:
    x = np.random.default_rng(3).standard_normal(1003).astype(np.float32)
    want = float(np.sum(x.astype(np.float64) ** 2))
    assert _kernels.sum_squares(x) == pytest.approx(want, rel=1e-14)
    assert param_update_ref.sum_squares(x) == pytest.approx(want, rel=1e-14)
    assert _kernels.sum_squares(x[:5]) == pytest.approx(float(np.sum(x[:5].astype(float) ** 2)))
    assert np.isnan(_kernels.sum_squares(np.array([1.0, np.nan])))
    assert _kernels.sum_squares(np.array([np.inf], dtype=np.float32)) == np.inf


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("amsgrad", [False, True])
def test_optimizer_steps_match_the_numpy_update(dtype: str, amsgrad: bool) -> None:
    """Adam over a few parameters (one a non-contiguous view's copy) gives the NumPy
    update's bits, through the one pass or the NumPy path (float16, amsgrad)."""
    rng = np.random.default_rng(1)
    init = [rng.standard_normal(s).astype(dtype) for s in [(3, 4), (5,), ()]]
    params = [elman.nn.Parameter(elman.tensor(a.copy())) for a in init]
    opt = elman.optim.Adam(params, lr=0.01, weight_decay=0.01, amsgrad=amsgrad)
    want = [a.copy() for a in init]
    m = [np.zeros_like(a) for a in init]
    v = [np.zeros_like(a) for a in init]
    mx = [np.zeros_like(a) for a in init]
    for step in range(1, 4):
        grads = [rng.standard_normal(a.shape).astype(dtype) for a in init]
        for p, g in zip(params, grads, strict=True):
            p.grad = elman.tensor(g)
        opt.step()
        for k, g in enumerate(grads):
            _adam_update(
                want[k], g, m[k], v[k], mx[k] if amsgrad else None, step=float(step), lr=0.01,
                beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01, maximize=False,
                decoupled=False,
            )  # fmt: skip
    for p, w in zip(params, want, strict=True):
        np.testing.assert_array_equal(p.detach().numpy(), w)
