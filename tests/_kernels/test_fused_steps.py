"""The fused forward's recurrences (:mod:`elman._kernels.fused_steps`): a bidirectional
layer's directions stepped together, float64's tanh in a loop of its own for small H. Each
against the NumPy reference (values and the positions of NaN and inf), with and without a
graph (the forward without one projects a layer a row at a time over the layer below).
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("numba")

from elman._kernels import fused_stack_loops, stack_ref  # noqa: E402
from elman._kernels.optional_blas import LOOPS  # noqa: E402

DTYPES = ["float32", "float64"]
TOL = {"float32": 2e-5, "float64": 1e-12}


def _case(L, N, I, H, NL, D, dtype, packed, masks, relu, specials, seed=0):  # noqa: E741
    rng = np.random.default_rng(seed)
    if packed:
        lengths = np.sort(rng.integers(1, L + 1, N))[::-1]
        lengths[0] = L
        sizes = np.array([(lengths > t).sum() for t in range(L)], dtype=np.int64)
    else:
        sizes = np.full(L, N, dtype=np.int64)
    T = int(sizes.sum())
    weights = []
    for k in range(NL * D):
        In = I if k < D else D * H
        a = 1 / np.sqrt(max(In, H))  # (ReLU's outputs stay of order 1 over the steps)
        weights.append(
            tuple(rng.uniform(-a, a, s).astype(dtype) for s in ((H, In), (H, H), (H,), (H,)))
        )
    x = (rng.standard_normal((T, I)) * 3).astype(dtype)
    x[T // 3, 0] = 40.0  # saturates: exactly +-1 where torch's tanh is
    if specials:
        x[T // 2, 0] = np.nan
        x[(2 * T) // 3, I - 1] = np.inf
        x[T - 2, 0] = -np.inf
    h0 = rng.standard_normal((NL * D, N, H)).astype(dtype)
    m = None
    if masks and NL > 1:
        m = [((rng.random((T, D * H)) > 0.3) / 0.7).astype(dtype) for _ in range(NL - 1)]
    return x, sizes, h0, weights, NL, relu, m


def _fused(args, lean):
    x, sizes, h0, weights, NL, relu, masks = args
    T, DH = x.shape[0], h0.shape[0] // NL * h0.shape[2]
    wbuf = np.concatenate([w.ravel() for ws in weights for w in ws])
    m = np.stack(masks) if masks else np.empty((0, T, DH), dtype=x.dtype)
    outs = np.empty((1 if lean else NL, T, DH), dtype=x.dtype)
    hn = np.empty_like(h0)
    fused_stack_loops.fused_forward(x, sizes, h0, wbuf, NL, True, relu, m, outs, hn, lean, LOOPS)
    return outs, hn


def _check(actual, expected, dtype):
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    np.testing.assert_array_equal(np.isinf(actual), np.isinf(expected))
    np.testing.assert_allclose(actual, expected, rtol=TOL[dtype], atol=TOL[dtype])


SHAPES = {  # (L, N, I, H, layers, D)
    "3layers": (40, 2, 3, 8, 3, 1),
    "2layers-H3": (30, 3, 2, 3, 2, 1),
    "2layers-H10": (20, 4, 3, 10, 2, 1),
    "bi-2layers": (30, 3, 4, 6, 2, 2),
    "bi-1layer-H12": (25, 2, 3, 12, 1, 2),
}


@pytest.mark.parametrize("specials", [False, True])
@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("packed", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(SHAPES))
def test_stepped_together_matches_reference(name, dtype, packed, relu, specials):
    args = _case(*SHAPES[name], dtype, packed, True, relu, specials)
    with np.errstate(all="ignore"):  # (NaN and inf inputs: the reference's are intended)
        outs, hn = stack_ref.stack_forward(*args)
    got, got_hn = _fused(args, lean=False)
    for layer in range(args[4]):
        _check(got[layer], outs[layer], dtype)
    _check(got_hn, hn, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["bi-2layers", "bi-1layer-H12", "2layers-H3"])
def test_without_a_graph_matches_reference(name, dtype):
    args = _case(*SHAPES[name], dtype, True, True, False, True, seed=4)
    with np.errstate(all="ignore"):
        outs, hn = stack_ref.stack_forward(*args)
    lean, lean_hn = _fused(args, lean=True)
    _check(lean[0], outs[-1], dtype)
    _check(lean_hn, hn, dtype)


def test_float64_tanh_of_small_H_keeps_torchs_edges():
    """H < 8 in float64 runs its tanh in a loop of its own: +-1 from torch's threshold,
    small arguments as libm's (NaN and inf: the test above)."""
    H = 4
    x = np.array([[0.0, 19.5, 25.0, -25.0], [0.5, 1e-3, -1e-3, -0.7]])
    w_hh = np.zeros((H, H))
    w_ih = np.eye(H)
    args = (x, np.ones(2, dtype=np.int64), np.zeros((1, 1, H)), [(w_ih, w_hh, None, None)],
            1, False, None)  # fmt: skip
    wbuf = np.concatenate([w_ih.ravel(), w_hh.ravel()])
    outs = np.empty((1, 2, H))
    hn = np.empty((1, 1, H))
    fused_stack_loops.fused_forward(
        x, args[1], args[2], wbuf, 1, False, False, np.empty((0, 2, H)), outs, hn, False, LOOPS
    )
    expected, _ = stack_ref.stack_forward(*args)
    np.testing.assert_allclose(outs[0], expected[0], rtol=1e-15)  # (within 3 ulp of libm's)
    assert outs[0, 0, 1] == 1.0 and outs[0, 0, 2] == 1.0 and outs[0, 0, 3] == -1.0
    np.testing.assert_allclose(outs[0, 1], np.tanh(x[1]), rtol=1e-15)
