"""Every variant of the compiled stack (forced one at a time, as :func:`dispatch.variant`
runs it in this process) against the NumPy reference, in float32 and float64: the
forward, the backward, the one-layer twins, the layer wavefront without BLAS and the
narrower vector layouts of other hosts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

numba = pytest.importorskip("numba")

from kernel_cases import CASES, DTYPES, VARIANTS, _run, compare, flat, make_case  # noqa: E402

from elman._kernels import (  # noqa: E402
    dispatch,
    layer_pipeline,
    rnn_compiled,
    rnn_ref,
    stack_compiled,
    stack_ref,
)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_matches_reference(variant: str, case: str, dtype: str) -> None:
    v = dispatch.variant(variant)
    args, grads = make_case(case, dtype)
    copies = [np.copy(a) for a in flat(args[:4]) if a is not None]
    outs, hn = stack_ref.stack_forward(*args)
    compare(stack_compiled.stack_forward(*args, variant=v), (outs, hn), f"{variant} forward")
    expected = stack_ref.stack_backward(*args, outs, *grads)
    compare(
        stack_compiled.stack_backward(*args, outs, *grads, variant=v),
        expected,
        f"{variant} backward",
    )
    for before, after in zip(copies, [a for a in flat(args[:4]) if a is not None], strict=True):
        np.testing.assert_array_equal(before, after, err_msg="an input was modified")


@pytest.mark.parametrize("variant", VARIANTS)
def test_backward_takes_the_forward_outputs_and_foreign_ones(variant: str) -> None:
    """outs as the forward returned them (views of one buffer) or as separate arrays."""
    v = dispatch.variant(variant)
    args, grads = make_case("bi-2layers-masks", "float64", seed=3)
    outs, _ = stack_compiled.stack_forward(*args, variant=v)
    mine = stack_compiled.stack_backward(*args, outs, *grads, variant=v)
    separate = stack_compiled.stack_backward(*args, [o.copy() for o in outs], *grads, variant=v)
    compare(mine, separate, variant)
    compare(mine, stack_ref.stack_backward(*args, outs, *grads), variant)


@pytest.mark.parametrize("dtype", DTYPES)
def test_long_sequence_uses_blocked_weight_gradients(dtype: str) -> None:
    """Fused backward over 3000 steps: the weight gradients stay close to one GEMM's."""
    rng = np.random.default_rng(1)
    L, H, I = 3000, 3, 2
    w = (rng.standard_normal((H, I)), rng.standard_normal((H, H)) * 0.5, *rng.random((2, H)))
    weights = [tuple(a.astype(dtype) for a in w)]
    args = (
        rng.standard_normal((L, I)).astype(dtype),
        np.ones(L, dtype=np.int64),
        rng.standard_normal((1, 1, H)).astype(dtype),
        weights,
        1,
        False,
        None,
    )
    g = (rng.standard_normal((L, H)).astype(dtype), rng.standard_normal((1, 1, H)).astype(dtype))
    outs, _ = stack_ref.stack_forward(*args)
    expected = stack_ref.stack_backward(*args, outs, *g)
    compare(
        stack_compiled.stack_backward(*args, outs, *g, variant=dispatch.variant("fused")),
        expected,
        "fused",
    )


@pytest.mark.parametrize("I", [3, 1])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("relu", [False, True])
def test_packed_layer_twins(dtype: str, reverse: bool, relu: bool, I: int) -> None:
    rng = np.random.default_rng(7)
    sizes = np.array([4, 4, 3, 1, 1], dtype=np.int64)
    T, H = int(sizes.sum()), 5
    x, h0 = rng.standard_normal((T, I)).astype(dtype), rng.standard_normal((4, H)).astype(dtype)
    w = [rng.standard_normal(s).astype(dtype) for s in ((H, I), (H, H), (H,), (H,))]
    out, hn = rnn_ref.packed_layer_forward(x, sizes, h0, *w, reverse, relu)
    compare(rnn_compiled.packed_layer_forward(x, sizes, h0, *w, reverse, relu), (out, hn), "fwd")
    g = (rng.standard_normal((T, H)).astype(dtype), rng.standard_normal((4, H)).astype(dtype))
    args = (x, sizes, h0, w[0], w[1], out, *g, reverse, relu)
    compare(rnn_compiled.packed_layer_backward(*args), rnn_ref.packed_layer_backward(*args), "bwd")


def test_relu_derivative_at_zero_is_zero_in_every_variant() -> None:
    H, T = 4, 6
    weights = [(np.zeros((H, 2)), np.zeros((H, H)), np.zeros(H), np.zeros(H))]
    args = (
        np.ones((T, 2)),
        np.full(3, 2, dtype=np.int64),
        np.zeros((1, 2, H)),
        weights,
        1,
        True,
        None,
    )
    g = (np.ones((T, H)), np.ones((1, 2, H)))
    for name in dispatch.VARIANTS:
        v = dispatch.variant(name)
        outs, _ = stack_compiled.stack_forward(*args, variant=v)
        dx, dh0, grads = stack_compiled.stack_backward(*args, outs, *g, variant=v)
        assert not np.any(outs[0]) and not np.any(dx) and not np.any(dh0), name
        assert all(not np.any(a) for a in flat(grads)), name


@pytest.mark.parametrize("width", ["16", "32"])
def test_narrower_vector_layouts_match_the_reference(width: str, tmp_path: Any) -> None:
    """AVX2-sized and SSE/NEON-sized vectors (ELMAN_SIMD_BYTES), as other hosts run them:
    the outer product itself and a pairs / split / outer RNN against the reference."""
    code = """
import numpy as np
from elman._kernels import simd_products, dispatch, stack_compiled, stack_ref
assert simd_products.VECTOR_BYTES == WIDTH
rng = np.random.default_rng(0)
for K, H, rows in [(37, 70, 5), (16, 3, 3), (9, 33, 1), (20, 50, 15), (12, 16, 6)]:
    MT, x = rng.standard_normal((K, H)), rng.standard_normal((rows, K))
    acc = np.zeros((rows, simd_products.outer_width(H, np.float64)))
    for kernel in (simd_products.mm_outer, simd_products.mm_wide):
        acc[:] = 0
        kernel(x, 0, simd_products.pack_columns(MT), acc, 0, 0, rows, K)
        assert np.allclose(acc[:, :H], x @ MT, rtol=1e-12, atol=1e-12)
for bi in (False, True):
    D = 2 if bi else 1
    sizes = np.array([3] * 9 + [2] * 4, dtype=np.int64)
    H, I, NL = 21, 4, 2
    ws = [(rng.standard_normal((H, I if k < D else D * H)) * 0.4,
           rng.standard_normal((H, H)) * 0.2, rng.standard_normal(H), rng.standard_normal(H))
          for k in range(NL * D)]
    args = (rng.standard_normal((int(sizes.sum()), I)), sizes,
            rng.standard_normal((NL * D, 3, H)), ws, NL, False, None)
    outs, hn = stack_ref.stack_forward(*args)
    g = (rng.standard_normal(outs[-1].shape), rng.standard_normal(hn.shape))
    ref = stack_ref.stack_backward(*args, outs, *g)
    for name in ("layered-outer", "layered-pairs", "layered-split"):
        v = dispatch.variant(name)
        o, h = stack_compiled.stack_forward(*args, variant=v)
        assert all(np.allclose(a, b, atol=1e-10) for a, b in zip(o, outs)) and np.allclose(h, hn)
        got = stack_compiled.stack_backward(*args, outs, *g, variant=v)
        assert np.allclose(got[0], ref[0], atol=1e-10) and np.allclose(got[1], ref[1], atol=1e-10)
        for a, b in zip(got[2], ref[2]):
            assert all(np.allclose(u, w, atol=1e-10) for u, w in zip(a, b))
print("ok")
""".replace("WIDTH", width)
    env = {"ELMAN_SIMD_BYTES": width, "XDG_CACHE_HOME": str(tmp_path), "NUMBA_CACHE_DIR": None}
    assert _run(code, **env) == "ok"
    assert (tmp_path / "elman" / f"numba-simd{width}").is_dir()  # not the default cache


@pytest.mark.parametrize("masked", [False, True])
def test_wavefront_without_blas_matches_the_reference(masked: bool) -> None:
    """The pair's projection falls back to the dot loops when NumPy exposes no BLAS."""
    args, _ = make_case("wave-chunks-packed", "float64", seed=2)
    x, sizes, h0, weights, NL, relu, masks = args
    outs, hn = stack_ref.stack_forward(x, sizes, h0, weights, NL, relu, masks if masked else None)
    out0 = x @ weights[0][0].T
    out1 = np.empty_like(out0)
    got_hn = np.empty_like(h0)
    biases = tuple(w[2] + w[3] for w in weights)
    w_hh = (weights[0][1], weights[1][1])
    mask = masks[0] if masked else None
    layer_pipeline.wave_pair_forward(
        out0, out1, sizes, biases, h0, w_hh, weights[1][0], mask, relu, 0, got_hn
    )
    compare([out0, out1, got_hn], [outs[0], outs[1], hn], "wave without BLAS")
