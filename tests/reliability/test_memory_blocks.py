"""A forward without a graph runs the stack in one buffer, its products a block of rows
at a time (src/elman/_kernels/blocked_forward.py): every kernel variant must give the bits of the
forward that keeps every layer, which rests on a measured property of NumPy's BLAS,
checked here on the machine that runs the suite.
"""

from __future__ import annotations

import numpy as np
import pytest

from elman import _kernels


def test_blas_rows_of_a_block_equal_the_rows_of_the_whole_product() -> None:
    """The property blocked_forward relies on: a product over at least least_rows(width) rows
    (every half of it at least MIN_BLOCK_OUTPUTS outputs) gives each row the bits of the
    same row in the product over all rows, wherever the block starts; OpenBLAS held at
    one thread as every layered call holds it."""
    from elman._kernels import blocked_forward
    from elman._kernels._blas import hold_one_thread, release_one_thread

    rng = np.random.default_rng(5)
    held = hold_one_thread()
    try:
        for dtype in (np.float32, np.float64):
            for cols, K in [(2, 64), (2, 512), (4, 300), (8, 128), (32, 32), (64, 7), (200, 100)]:
                least = blocked_forward.least_rows(cols)
                M = 3 * least + 77
                a = rng.standard_normal((M, K)).astype(dtype)
                w = rng.standard_normal((cols, K)).astype(dtype)
                whole = a @ w.T
                for r0, size in [(0, least), (13, least + 5), (M - least - 1, least)]:
                    half = size // 2  # (a two-thread product's halves)
                    for s0, s1 in [(r0, r0 + size), (r0, r0 + half), (r0 + half, r0 + size)]:
                        np.testing.assert_array_equal(a[s0:s1] @ w.T, whole[s0:s1])
    finally:
        if held:
            release_one_thread()


# ---- the kernels: one buffer, blocks forced small -----------------------------------------

KERNEL_CASES = {  # (L, N, I, H, layers, D, packed, masks, batch-first view)
    "3layers-masks": (2000, 3, 5, 20, 3, 1, False, True, False),
    "bi-2layers-packed": (1500, 4, 3, 16, 2, 2, True, False, False),
    "batch-first-view-masks": (1200, 5, 70, 24, 2, 1, False, True, True),
    "bi-batch-first-view": (900, 6, 4, 12, 3, 2, False, False, True),
    "one-layer-bi-batch-first-view": (700, 3, 5, 8, 1, 2, False, False, True),
    # two columns: halves of 512 rows (the old least block of 1024 rows on two threads)
    # rounded apart from the whole product in the two-thread variants
    "two-units-batch-first-view": (36000, 2, 64, 2, 2, 1, False, True, True),
    # one column (?gemv): no blocks at all
    "one-unit-batch-first-view": (40000, 2, 5, 1, 2, 1, False, False, True),
}


def _kernel_args(name: str, dtype: str) -> tuple:
    L, N, I, H, NL, D, packed, with_masks, _ = KERNEL_CASES[name]
    rng = np.random.default_rng(3)
    sizes = np.full(L, N, dtype=np.int64)
    if packed:
        sizes = np.maximum(1, N - np.arange(L) * N // L).astype(np.int64)
    T = int(sizes.sum())

    def rnd(*shape: int, scale: float = 1.0) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(dtype)

    weights = []
    for k in range(NL * D):
        w = (rnd(H, I if k < D else D * H, scale=0.5), rnd(H, H, scale=0.9 / np.sqrt(H)))
        weights.append((*w, rnd(H), rnd(H)))
    masks = None
    if with_masks:
        keep = rng.random((NL - 1, T, D * H)) > 0.3
        masks = keep.astype(dtype) / np.asarray(0.7, dtype)
    return rnd(T, I), sizes, rnd(NL * D, int(sizes[0]), H), weights, NL, False, masks


@pytest.mark.parametrize("name", sorted(KERNEL_CASES))
def test_every_variant_gives_the_same_bits_in_one_buffer(name: str, monkeypatch) -> None:
    """keep=False (one buffer, projections in blocks of MIN_BLOCK_ROWS rows, the input
    re-laid out per block, the wavefront in blocks) against keep=True, for every variant;
    both against the NumPy reference, whose keep=False is the same computation."""
    pytest.importorskip("numba")
    if not _kernels.JIT:
        pytest.skip("compiled kernels off")
    from elman._kernels import blocked_forward, dispatch, stack_compiled, stack_ref

    monkeypatch.setattr(blocked_forward, "BLOCK_ELEMENTS", 1)  # every block MIN_BLOCK_ROWS rows
    monkeypatch.setattr(blocked_forward, "WAVE_CHUNKS", 2)
    x, sizes, h0, weights, NL, relu, masks = _kernel_args(name, "float32")
    L, N = len(sizes), KERNEL_CASES[name][1]
    lean_x = x
    if KERNEL_CASES[name][8]:  # an (L, N, I) time-major view of a batch-first array
        lean_x = np.ascontiguousarray(x.reshape(L, N, -1).swapaxes(0, 1)).swapaxes(0, 1)
    ref, ref_hn = stack_ref.stack_forward(x, sizes, h0, weights, NL, relu, masks)
    args = (sizes, h0, weights, NL, relu, masks)
    ref_lean, ref_lean_hn = stack_ref.stack_forward(lean_x, *args, keep=False)
    assert len(ref_lean) == 1
    np.testing.assert_array_equal(ref_lean[0], ref[-1])
    np.testing.assert_array_equal(ref_lean_hn, ref_hn)
    for variant, v in sorted(dispatch.VARIANTS.items()):
        outs, hn = stack_compiled.stack_forward(x, sizes, h0, weights, NL, relu, masks, variant=v)
        lean, lean_hn = stack_compiled.stack_forward(
            lean_x, sizes, h0, weights, NL, relu, masks, False, variant=v
        )
        assert len(lean) == 1, variant
        np.testing.assert_array_equal(lean[0], outs[-1], err_msg=variant)
        np.testing.assert_array_equal(lean_hn, hn, err_msg=variant)
        np.testing.assert_allclose(lean[0], ref[-1], rtol=2e-5, atol=2e-5, err_msg=variant)
