"""The dispatch rules: which variant each regime gets (the rules, :func:`dispatch.pick`,
with this process's facts). One decision per call: test_dispatch_once.py.
"""

from __future__ import annotations

from typing import Any

import pytest

numba = pytest.importorskip("numba")

from elman._kernels import _blas, dispatch, modes  # noqa: E402


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
    """The rules' pick for ``shape`` with this process's facts, as a variant (the generated
    table, :mod:`elman._kernels.rules_table`; where a pick below is the table's measured
    crossover rather than a lasting property, the comment says so)."""
    blas = bool(_blas.gemm_pointers()[0])
    return dispatch.VARIANTS[dispatch.pick(*shape, dispatch.two_threads_allowed(), blas)]


def test_dispatch_runs_short_single_sequences_fused() -> None:
    """One sequence of a few steps (streaming) takes the fused path, its backward too
    unless the weight-gradient block is large; longer ones and batches the layered path."""
    choose = _auto
    for shape in [(1, 1, 3, 64, 1, 1), (10, 1, 8, 128, 1, 1), (1, 1, 64, 64, 3, 1)]:
        v = choose(*shape)
        assert v.fused and v.fused_backward, shape
    two_wide_layers = choose(1, 1, 8, 256, 2, 1)  # the table: fused both ways here
    assert two_wide_layers.fused and two_wide_layers.fused_backward
    assert two_wide_layers.mode is modes.OUTER  # what a layered backward would run
    for shape in [(1000, 1, 3, 64, 1, 1), (200, 1, 3, 64, 1, 1), (1, 2, 3, 64, 1, 1)]:
        assert not choose(*shape).fused, shape
    # the table (2026-12-08 refit): fused up to ~100 steps of one sequence here
    assert choose(40, 1, 3, 64, 1, 1).fused and choose(100, 1, 3, 64, 1, 1).fused
    # the table: one step of an input wider than H = 64 runs the fused loops both ways
    # (fused-forward-gemm's row takes no shape since the 2026-12-08 refit: its forward is
    # fused-gemm's, whose fused backward measured faster)
    wide_small = choose(1, 1, 100, 64, 1, 1)
    assert wide_small.fused and wide_small.fused_backward
    wide_input = choose(1, 1, 100, 200, 1, 1)  # H >= 128: inputs up to 4H
    assert wide_input.fused and wide_input.fused_backward
    wider_input = choose(1, 1, 1000, 200, 1, 1)  # the table: the backward layered (I > 4H)
    assert wider_input.fused and not wider_input.fused_backward


def test_dispatch_rules_of_the_two_thread_variants() -> None:
    """The documented choices: pairs for stacks and bidirectional layers, the batch halves
    for many rows, outer for a few rows, gemm for large batches (two CPUs and BLAS
    control)."""
    if not dispatch.two_threads_allowed():
        pytest.skip("one CPU or no OpenBLAS thread control: no two-thread variants")
    choose = _auto
    latency = choose(15000, 3, 7, 400, 2, 1)
    assert latency.mode is modes.SPLIT and latency.pairs and latency.two_threads
    bi = choose(16000, 16, 32, 128, 2, 2)
    assert bi.mode is modes.SPLIT and bi.pairs
    single = choose(3000, 3, 16, 400, 1, 1)  # the table: hidden units split for 3 rows
    assert single.mode is modes.SPLIT and not single.pairs and not single.rows
    # the table: hidden units split for up to 4 rows from H ~100 (since the issue-18 sweep;
    # the batch halves on BLAS before), the batch halves on BLAS from 6 rows
    few_rows = choose(3000, 3, 16, 128, 1, 1)
    assert few_rows.mode is modes.SPLIT and not few_rows.rows and few_rows.two_threads
    more_rows = choose(8000, 8, 16, 128, 1, 1)
    assert more_rows.mode is modes.GEMM and more_rows.rows and more_rows.two_threads
    wide_shapes = [(25600, 128, 64, 512, 1, 1), (6400, 64, 32, 256, 2, 1), (4000, 8, 16, 512, 1, 1)]
    wide_shapes += [(3200, 32, 16, 200, 1, 1)]  # from N=16, H=128
    for shape in wide_shapes:
        wide = choose(*shape)  # the batch halves with the outer products
        assert wide.mode is modes.WIDE and wide.rows and wide.two_threads, shape
    assert not choose(1200, 32, 16, 128, 1, 1).rows  # 2.0e7 multiply-adds: one thread
    if _blas.gemm_pointers()[0]:
        mid = choose(32000, 32, 16, 96, 1, 1)  # H < 128: rows on BLAS
        assert mid.mode is modes.GEMM and mid.rows and mid.two_threads
        edge = choose(32000, 32, 16, 128, 1, 1)  # the table: rows on BLAS up to H = 128
        assert edge.mode is modes.GEMM and edge.rows and edge.two_threads
        assert not choose(4000, 1, 16, 128, 1, 1).rows  # one sequence: no halves
        assert not choose(1600, 32, 1, 32, 1, 1).rows  # too small to hand over
    short = choose(60, 3, 16, 400, 2, 1)  # 20 steps: one thread
    assert short.mode is not modes.SPLIT and not short.two_threads


def test_dispatch_decides_whether_a_one_thread_variants_products_run_on_two_threads() -> None:
    """The products over all steps (input projections, weight gradients, dX) of a
    one-thread variant run on the two threads when they are big (config.TWO_THREAD_PRODUCT
    multiply-adds) and two threads are allowed: decided by choose(), not by the kernels."""
    from functools import partial

    import numpy as np

    from elman._kernels import config, layer_products

    big = dispatch.choose(20000, 1, 16, 64, 1, 1)  # 20000 * 64 * 64 >= 2^25
    assert big.name == "layered-axpy" and not big.two_threads
    assert 20000 * 64 * 64 >= config.TWO_THREAD_PRODUCT
    assert big.split_products == dispatch.two_threads_allowed()
    matmul = layer_products.products_for(big)
    assert isinstance(matmul, partial) if big.split_products else matmul is np.matmul
    small = dispatch.choose(200, 1, 16, 64, 1, 1)
    assert not small.split_products and layer_products.products_for(small) is np.matmul
    assert not dispatch.VARIANTS["layered-axpy"].split_products  # the registry's stays plain
