"""The compiled kernels (numba) against the NumPy reference: every variant the dispatcher can
pick, forced one at a time, in float32 and float64.

Shapes stay small so that the whole file reuses a handful of compiled signatures (one per
kernel and dtype); numba caches them on disk, so only the first run pays the compile time.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

numba = pytest.importorskip("numba")

from conftest import assert_close  # noqa: E402
from elman._kernels import (  # noqa: E402
    _blas,
    _jit,
    _nb_ops,
    _nb_simd,
    _nb_split,
    _nb_wave,
    _pair,
    config,
    dispatch,
    modes,
    rnn_numba,
    rnn_ref,
    stack_ref,
)

VARIANTS = sorted(dispatch.VARIANTS)
DTYPES = ["float32", "float64"]

# (L, N, I, H, num_layers, D, batch_sizes or None for dense, relu, bias, masks)
CASES = {
    "dense-1layer-tanh": (6, 3, 4, 5, 1, 1, None, False, True, False),
    "packed-shrinking-relu": (5, 4, 3, 6, 1, 1, [4, 3, 3, 1, 1], True, True, False),
    "bi-2layers-masks": (5, 3, 4, 6, 2, 2, [3, 3, 2, 1, 1], False, True, True),
    "3layers-relu-nobias-masks": (4, 2, 3, 5, 3, 1, None, True, False, True),
    "bi-3layers-packed": (4, 3, 2, 4, 3, 2, [3, 2, 2, 1], False, True, False),
    "L1": (1, 3, 4, 5, 2, 2, None, False, True, False),
    "N0": (3, 0, 4, 5, 2, 2, None, False, True, False),
    "L0": (0, 2, 4, 5, 1, 2, None, False, True, False),
    "wide-input-5000": (3, 2, 5000, 4, 1, 1, None, False, True, False),
    # one input feature: the projection is a compiled outer product (not NumPy's matmul)
    "one-feature-bi-packed": (7, 4, 1, 6, 2, 2, [4, 4, 3, 2, 2, 1, 1], False, True, False),
    # one step of one sequence: the weight gradients are outer products (compiled)
    "one-step-one-sequence-bi": (1, 1, 5, 6, 2, 2, None, False, True, False),
    "H-not-multiple-of-16": (4, 3, 5, 37, 1, 2, [3, 3, 2, 2], False, True, False),
    "split-sized": (3, 3, 6, 40, 2, 1, None, False, True, True),
    # several chunks of the layer wavefront (43 steps each for N=3), packed, dropout between
    "wave-chunks-packed": (100, 3, 5, 20, 2, 1, [3] * 50 + [2] * 30 + [1] * 20, False, True, True),
}


def make_case(name: str, dtype: str, seed: int = 0) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    L, N, I, H, NL, D, sizes, relu, bias, with_masks = CASES[name]
    rng = np.random.default_rng(seed)
    sizes = np.array(sizes if sizes is not None else [N] * L, dtype=np.int64)
    T, N = int(sizes.sum()), (int(sizes[0]) if L else N)

    def rnd(*shape: int, scale: float = 1.0) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(dtype)

    weights = []
    for k in range(NL * D):
        w = (rnd(H, I if k < D else D * H, scale=0.5), rnd(H, H, scale=0.9 / np.sqrt(H)))
        weights.append(w + ((rnd(H), rnd(H)) if bias else (None, None)))
    masks = None
    if with_masks:
        masks = [(rng.random((T, D * H)) > 0.3).astype(dtype) / np.asarray(0.7, dtype)]
        masks *= NL - 1
    args = (rnd(T, I), sizes, rnd(NL * D, N, H), weights, NL, relu, masks)
    return args, (rnd(T, D * H), rnd(NL * D, N, H))


def flat(result: Any) -> list[np.ndarray]:
    if isinstance(result, (list, tuple)):
        return [a for item in result for a in flat(item)]
    return [result]


def compare(actual: Any, expected: Any, what: str) -> None:
    a, e = flat(actual), flat(expected)
    assert len(a) == len(e), what
    for k, (x, y) in enumerate(zip(a, e, strict=True)):
        assert_close(x, y, f"{what}[{k}]")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_matches_reference(variant: str, case: str, dtype: str) -> None:
    v = dispatch.variant(variant)
    args, grads = make_case(case, dtype)
    copies = [np.copy(a) for a in flat(args[:4]) if a is not None]
    outs, hn = stack_ref.stack_forward(*args)
    compare(rnn_numba.run_forward(v, *args), (outs, hn), f"{variant} forward")
    expected = stack_ref.stack_backward(*args, outs, *grads)
    compare(rnn_numba.run_backward(v, *args, outs, *grads), expected, f"{variant} backward")
    for before, after in zip(copies, [a for a in flat(args[:4]) if a is not None], strict=True):
        np.testing.assert_array_equal(before, after, err_msg="an input was modified")


@pytest.mark.parametrize("variant", VARIANTS)
def test_backward_takes_the_forward_outputs_and_foreign_ones(variant: str) -> None:
    """outs as the forward returned them (views of one buffer) or as separate arrays."""
    v = dispatch.variant(variant)
    args, grads = make_case("bi-2layers-masks", "float64", seed=3)
    outs, _ = rnn_numba.run_forward(v, *args)
    mine = rnn_numba.run_backward(v, *args, outs, *grads)
    separate = rnn_numba.run_backward(v, *args, [o.copy() for o in outs], *grads)
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
    compare(rnn_numba.run_backward(dispatch.variant("fused"), *args, outs, *g), expected, "fused")


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
    compare(rnn_numba.packed_layer_forward(x, sizes, h0, *w, reverse, relu), (out, hn), "fwd")
    g = (rng.standard_normal((T, H)).astype(dtype), rng.standard_normal((4, H)).astype(dtype))
    args = (x, sizes, h0, w[0], w[1], out, *g, reverse, relu)
    compare(rnn_numba.packed_layer_backward(*args), rnn_ref.packed_layer_backward(*args), "bwd")


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
        outs, _ = rnn_numba.run_forward(v, *args)
        dx, dh0, grads = rnn_numba.run_backward(v, *args, outs, *g)
        assert not np.any(outs[0]) and not np.any(dx) and not np.any(dh0), name
        assert all(not np.any(a) for a in flat(grads)), name


# ---- building blocks ----------------------------------------------------------------------


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
        y[i] = _nb_ops.tanh(x[i])


def test_layers_around_the_rnn_keep_openblas_on_one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """Linear's products and clip_grad_norm_'s dot run on OpenBLAS's calling thread when
    OpenBLAS would thread them (its workers would then spin for ~0.1 s against the RNN's
    second thread); small ones do not pay for the switch."""
    import elman
    from elman import _kernels

    if not _blas.blas_threads_controllable():
        pytest.skip("no OpenBLAS thread control")
    seen: list[int] = []
    real = np.matmul

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(_blas._THREADS[0]())
        return real(*args, **kwargs)

    from elman.autograd import ops

    monkeypatch.setattr(ops.np, "matmul", spy)  # the module's np is numpy itself
    threads = _blas._THREADS[0]()
    fc = elman.nn.Linear(128, 1)
    big = elman.tensor(np.ones((4096, 128), np.float32), requires_grad=True)  # 5e5 MACs
    fc(big).sum().backward()
    small = elman.tensor(np.ones((8, 128), np.float32), requires_grad=True)
    n_big = len(seen)
    fc(small).sum().backward()
    monkeypatch.setattr(ops.np, "matmul", real)
    assert n_big >= 3 and set(seen[:n_big]) == {1}
    assert set(seen[n_big:]) == {threads}  # unchanged for small products
    assert _blas._THREADS[0]() == threads
    with _kernels.quiet_blas(_kernels.THREADED_DOT, _kernels.THREADED_DOT):
        assert _blas._THREADS[0]() == 1
    with _kernels.quiet_blas(_kernels.THREADED_DOT - 1, _kernels.THREADED_DOT):
        assert _blas._THREADS[0]() == threads


def test_blas_pointers_and_thread_control() -> None:
    s, d = _blas.gemm_pointers()
    if not s:
        pytest.skip("NumPy's BLAS exposes no CBLAS gemm")
    if not _blas.blas_threads_controllable():
        pytest.skip("no OpenBLAS thread control")
    before = _blas._THREADS[0]()
    with _blas.single_threaded_blas() as ok:
        assert ok and _blas._THREADS[0]() == 1
    assert _blas._THREADS[0]() == before


@pytest.mark.parametrize("dtype", DTYPES)
def test_outer_product_kernel_matches_numpy(dtype: str) -> None:
    """mm_outer and mm_wide: any row count, K, H not a multiple of the vector width,
    offsets into x and acc; the padding columns get zeros added, columns past them nothing."""
    rng = np.random.default_rng(5)
    tol = {"rtol": 1e-5, "atol": 1e-5} if dtype == "float32" else {"rtol": 1e-12, "atol": 1e-12}
    for K, H in [(1, 1), (5, 7), (37, 37), (128, 129), (16, 64), (3, 200), (70, 113)]:
        MT = rng.standard_normal((K, H)).astype(dtype)
        P = _nb_simd.pack_columns(MT)
        Hp = _nb_simd.outer_width(H, dtype)
        assert P.shape == (K * Hp,) and Hp % _nb_simd.lanes_of(dtype) == 0 and Hp - H < Hp
        for rows in (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 13, 20):
            x = rng.standard_normal((rows + 2, K)).astype(dtype)
            acc = rng.standard_normal((rows + 3, Hp + 5)).astype(dtype)
            expected = acc.copy()
            expected[2 : 2 + rows, 3 : 3 + H] += x[1 : 1 + rows] @ MT
            for kernel in (_nb_simd.mm_outer, _nb_simd.mm_wide):
                got = acc.copy()
                kernel(x, 1, P, got, 2, 3, rows, K)
                np.testing.assert_allclose(got[:, : 3 + H], expected[:, : 3 + H], **tol)
                np.testing.assert_array_equal(got[:, 3 + H : 3 + Hp], expected[:, 3 + H : 3 + Hp])
                np.testing.assert_array_equal(got[:, 3 + Hp :], expected[:, 3 + Hp :])


def test_pack_columns_layout() -> None:
    """Blocks of B vectors, one after the other, each (K, width) row-major, zero-padded."""
    V, B = _nb_simd.lanes_of(np.float32), _nb_simd.BLOCK_VECTORS
    K, H = 3, B * V + 3
    MT = np.arange(K * H, dtype=np.float32).reshape(K, H) + 1
    P = _nb_simd.pack_columns(MT)
    first = P[: K * B * V].reshape(K, B * V)
    np.testing.assert_array_equal(first, MT[:, : B * V])
    tail = P[K * B * V :].reshape(K, V)
    np.testing.assert_array_equal(tail[:, :3], MT[:, B * V :])
    assert not tail[:, 3:].any()


@pytest.mark.parametrize("width", ["16", "32"])
def test_narrower_vector_layouts_match_the_reference(width: str, tmp_path: Any) -> None:
    """AVX2-sized and SSE/NEON-sized vectors (ELMAN_SIMD_BYTES), as other hosts run them:
    the outer product itself and a pairs / split / outer RNN against the reference."""
    code = """
import numpy as np
from elman._kernels import _nb_simd, dispatch, rnn_numba, stack_ref
assert _nb_simd.VECTOR_BYTES == WIDTH
rng = np.random.default_rng(0)
for K, H, rows in [(37, 70, 5), (16, 3, 3), (9, 33, 1), (20, 50, 15), (12, 16, 6)]:
    MT, x = rng.standard_normal((K, H)), rng.standard_normal((rows, K))
    acc = np.zeros((rows, _nb_simd.outer_width(H, np.float64)))
    for kernel in (_nb_simd.mm_outer, _nb_simd.mm_wide):
        acc[:] = 0
        kernel(x, 0, _nb_simd.pack_columns(MT), acc, 0, 0, rows, K)
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
        o, h = rnn_numba.run_forward(v, *args)
        assert all(np.allclose(a, b, atol=1e-10) for a, b in zip(o, outs)) and np.allclose(h, hn)
        got = rnn_numba.run_backward(v, *args, outs, *g)
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
    _nb_wave.wave_pair_forward(
        out0, out1, sizes, biases, h0, w_hh, weights[1][0], mask, relu, 0, got_hn
    )
    compare([out0, out1, got_hn], [outs[0], outs[1], hn], "wave without BLAS")


def test_matmul2_splits_rows_between_threads() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((301, 40)), rng.standard_normal((40, 7))
    np.testing.assert_allclose(_nb_split.matmul2(a, b), a @ b, rtol=1e-12)
    np.testing.assert_allclose(_nb_split.matmul2(a.T[:, :9].T, b), a[:9] @ b, rtol=1e-12)


def test_dispatch_picks_a_known_variant_for_every_regime() -> None:
    shapes = [
        (15, 3, 7, 4, 2, 1),
        (20, 2, 5000, 4, 1, 1),
        (15000, 3, 7, 400, 2, 1),
        (32000, 32, 16, 128, 1, 1),
        (25600, 128, 64, 512, 1, 1),
        (20000, 1, 16, 64, 1, 1),
    ]
    for shape in shapes:
        v = dispatch.choose(*shape)
        assert any(v.mode is m for m in modes.MODES.values()), (shape, v)
        assert v.fused or not v.fused_backward, (shape, v)


def _auto(*shape: int) -> Any:
    """The rules' pick for ``shape`` with this process's facts, as a variant."""
    blas = bool(_blas.gemm_pointers()[0])
    return dispatch.VARIANTS[dispatch.pick(*shape, dispatch.two_threads_allowed(), blas)]


def test_dispatch_runs_short_single_sequences_fused() -> None:
    """One sequence of a few steps (streaming) takes the fused path, its backward too
    unless the weight-gradient block is large; longer ones and batches the layered path."""
    choose = _auto
    for shape in [(1, 1, 3, 64, 1, 1), (10, 1, 8, 128, 1, 1), (1, 1, 64, 64, 3, 1)]:
        v = choose(*shape)
        assert v.fused and v.fused_backward, shape
    two_wide_layers = choose(1, 1, 8, 256, 2, 1)
    assert two_wide_layers.fused and not two_wide_layers.fused_backward
    assert two_wide_layers.mode is modes.OUTER  # what its layered backward runs
    for shape in [(100, 1, 3, 64, 1, 1), (40, 1, 3, 64, 1, 1), (1, 2, 3, 64, 1, 1)]:
        assert not choose(*shape).fused, shape
    assert not choose(1, 1, 100, 64, 1, 1).fused  # I*H > 4096: the input projection
    wide_input = choose(1, 1, 100, 200, 1, 1)  # H >= 128: inputs up to 4H
    assert wide_input.fused and wide_input.fused_backward
    assert not choose(1, 1, 1000, 200, 1, 1).fused


def test_dispatch_rules_of_the_two_thread_variants() -> None:
    """The documented choices: pairs for stacks and bidirectional layers, split for a single
    wide layer, outer for a few rows, gemm for large batches (two CPUs and BLAS control)."""
    if not dispatch.two_threads_allowed():
        pytest.skip("one CPU or no OpenBLAS thread control: no two-thread variants")
    choose = _auto
    latency = choose(15000, 3, 7, 400, 2, 1)
    assert latency.mode is modes.SPLIT and latency.pairs and latency.two_threads
    bi = choose(16000, 16, 32, 128, 2, 2)
    assert bi.mode is modes.SPLIT and bi.pairs
    single = choose(3000, 3, 16, 400, 1, 1)
    assert single.mode is modes.SPLIT and not single.pairs
    assert choose(3000, 3, 16, 128, 1, 1).mode is modes.OUTER
    wide_shapes = [(25600, 128, 64, 512, 1, 1), (6400, 64, 32, 256, 2, 1), (4000, 8, 16, 512, 1, 1)]
    wide_shapes += [(32000, 32, 16, 128, 1, 1), (3200, 32, 16, 200, 1, 1)]  # from N=16, H=128
    for shape in wide_shapes:
        wide = choose(*shape)  # the batch halves with the outer products
        assert wide.mode is modes.WIDE and wide.rows and wide.two_threads, shape
    assert not choose(1600, 32, 16, 128, 1, 1).rows  # 2.6e7 multiply-adds: one thread
    if _blas.gemm_pointers()[0]:
        mid = choose(32000, 32, 16, 96, 1, 1)  # H < 128: rows on BLAS
        assert mid.mode is modes.GEMM and mid.rows and mid.two_threads
        assert not choose(4000, 4, 16, 128, 1, 1).rows
        assert not choose(1600, 32, 1, 32, 1, 1).rows  # too small to hand over
    short = choose(60, 3, 16, 400, 2, 1)  # 20 steps: one thread
    assert short.mode is not modes.SPLIT and not short.two_threads


def test_row_split_balances_the_work() -> None:
    dense = np.full(7, 6, dtype=np.int64)
    assert _nb_split.row_split(dense, 6) == 3
    assert _nb_split.row_split(dense[:0], 6) == 3 and _nb_split.row_split(dense, 1) == 1
    packed = np.array([4, 4, 2, 1, 1, 1, 1, 1], dtype=np.int64)  # lengths 8, 3, 2, 2
    assert _nb_split.row_split(packed, 4) == 1  # the longest sequence is half the steps


def test_avx512_environment_respects_the_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "NUMBA_AVX512", False)  # ELMAN_NUMBA_AVX512=0, read once
    assert _jit._avx512_env() == {}
    monkeypatch.setattr(config, "NUMBA_AVX512", True)
    monkeypatch.setenv("NUMBA_CPU_NAME", "generic")
    assert _jit._avx512_env() == {}
    monkeypatch.delenv("NUMBA_CPU_NAME")
    monkeypatch.delenv("NUMBA_CPU_FEATURES", raising=False)
    env = _jit._avx512_env()
    if env:  # an AVX-512 host: its own name and features, minus the 256-bit preference
        assert env["NUMBA_CPU_FEATURES"].endswith(",-prefer-256-bit")
        assert "+avx512f" in env["NUMBA_CPU_FEATURES"]


def test_cache_dir_falls_back_to_the_user_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """The first folder a file can be created in (a path under a regular file never can,
    even for root); the read-only installs themselves: tests/reliability."""
    from elman._kernels._cache_dir import choose_cache_dir

    blocked = tmp_path / "file"
    blocked.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    in_tree = str(tmp_path / "pkg" / "__pycache__")
    assert choose_cache_dir("", "", in_tree) == (None, True, "")
    user = str(tmp_path / "xdg" / "elman" / "numba")
    assert choose_cache_dir("", "", str(blocked / "__pycache__")) == (user, True, "")
    simd = choose_cache_dir("", "32", in_tree)  # another vector width: never beside the sources
    assert simd == (str(tmp_path / "xdg" / "elman" / "numba-simd32"), True, "")
    mine = str(tmp_path / "mine")
    assert choose_cache_dir(mine, "", in_tree) == (mine, True, "")
    assert choose_cache_dir(mine, "16", in_tree).path == os.path.join(mine, "simd16")
    moved = choose_cache_dir(str(blocked / "numba"), "", in_tree)
    assert moved.path is None and "NUMBA_CACHE_DIR" in moved.warning


def _run(code: str, **env: str | None) -> str:
    """Run ``code`` in a fresh interpreter; ``env`` entries set (a value) or unset (None)."""
    full = {**os.environ, **env}
    full = {k: v for k, v in full.items() if v is not None}
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=full,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return result.stdout.strip()


def test_elman_disable_jit_exports_the_reference() -> None:
    code = "import elman._kernels as k; print(k.stack_forward.__module__)"
    assert _run(code, ELMAN_DISABLE_JIT="1") == "elman._kernels.stack_ref"
    assert _run(code, ELMAN_DISABLE_JIT="0") == "elman._kernels.rnn_numba"


def test_numba_disable_jit_runs_the_same_code_as_python() -> None:
    code = """
import numpy as np, elman
from elman._kernels import stack_ref, rnn_numba
elman.manual_seed(0)
rnn = elman.nn.RNN(3, 4, num_layers=2, bidirectional=True, dtype="float64")
x = elman.tensor(np.random.default_rng(0).standard_normal((5, 2, 3)), requires_grad=True)
out, hn = rnn(x)
(out.sum() + hn.sum()).backward()
print(elman._kernels.stack_forward is rnn_numba.stack_forward, float(x.grad.sum()))
"""
    jit = _run(code).split()
    nojit = _run(code, NUMBA_DISABLE_JIT="1").split()
    assert jit[0] == nojit[0] == "True"
    assert abs(float(jit[1]) - float(nojit[1])) < 1e-12


def test_run_pair_reports_a_half_that_never_met() -> None:
    with pytest.raises(RuntimeError, match="did not meet"):
        _pair.run_pair(lambda ok: ok, (True,), (False,))


# ---- packing index maps (pack_padded_sequence / pad_packed_sequence) --------------------------


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("seed", range(6))
def test_packing_maps_match_the_reference(seed: int, batch_first: bool) -> None:
    from elman._kernels import _nb_packing, packing_ref

    rng = np.random.default_rng(seed)
    N = int(rng.integers(1, 7))
    lengths = np.sort(rng.integers(1, 9, size=N))[::-1].astype(np.int64)
    width = int(lengths[0] + rng.integers(0, 3))  # total_length may exceed the longest
    order = rng.permutation(N).astype(np.int64) if seed % 2 else np.empty(0, np.int64)
    bs = packing_ref.batch_sizes_of(lengths)
    np.testing.assert_array_equal(_nb_packing.batch_sizes_of(lengths), bs)
    np.testing.assert_array_equal(_nb_packing.batch_sizes_of(bs), lengths)  # the converse
    src, pad = packing_ref.packed_rows(bs, order, width, batch_first)
    nsrc, npad = _nb_packing.packed_rows(bs, order, width, batch_first)
    np.testing.assert_array_equal(nsrc, src)
    np.testing.assert_array_equal(npad, pad)
    assert sorted(np.concatenate([src, pad]).tolist()) == list(range(width * N))
    t, c = (src % width, src // width) if batch_first else (src // N, src % N)
    length_of = np.empty(N, np.int64)  # batch column -> its sequence's length
    length_of[order if order.size else np.arange(N)] = lengths
    assert (length_of[c] > t).all()  # every packed row is a step of its sequence
    assert (np.diff(t) >= 0).all()  # step after step


def test_packing_maps_refuse_bad_input() -> None:
    from elman._kernels import _nb_packing

    with pytest.raises(ValueError, match="must not increase"):
        _nb_packing.packed_rows(np.array([2, 3], np.int64), np.empty(0, np.int64), 2, False)
    with pytest.raises(ValueError, match="out of range"):
        _nb_packing.packed_rows(np.array([2, 1], np.int64), np.array([0, 5]), 2, False)
    with pytest.raises(ValueError, match="padded width"):
        _nb_packing.packed_rows(np.array([2, 1, 1], np.int64), np.empty(0, np.int64), 2, False)
    with pytest.raises(ValueError, match="sorted"):
        _nb_packing.batch_sizes_of(np.array([1, 3], np.int64))
