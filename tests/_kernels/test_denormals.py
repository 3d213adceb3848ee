"""Subnormals flushed to zero during the compiled backward (.denormals): the block flushes
on its thread and on the helper thread's half, restores the caller's mode after (also on an
error), and the backward's gradients are the reference's except that entries below the
smallest normal number come out as 0; NaN and inf stay where the reference has them."""

from __future__ import annotations

import numpy as np
import pytest

numba = pytest.importorskip("numba")

from elman._kernels import denormals, dispatch, stack_compiled, stack_ref  # noqa: E402
from elman._kernels.handover import run_pair  # noqa: E402

needs_mxcsr = pytest.mark.skipif(not denormals.AVAILABLE, reason="no x86-64 MXCSR here")
TINY32 = np.float32(1e-39)  # subnormal in float32


def _scaled(x: np.ndarray) -> np.ndarray:
    return x * np.float32(0.5)  # a subnormal input and a subnormal result


@needs_mxcsr
def test_block_flushes_and_restores() -> None:
    before = denormals.mode()
    x = np.full(4, TINY32)
    assert _scaled(x)[0] != 0
    with denormals.flush_denormals():
        assert denormals.active()
        assert denormals.mode() & denormals.FLUSH == denormals.FLUSH
        assert not _scaled(x).any()
        with denormals.flush_denormals():  # nested: still flushing, the outer one restores
            assert not _scaled(x).any()
        assert not _scaled(x).any()
    assert not denormals.active()
    assert _scaled(x)[0] != 0
    assert denormals.mode() & ~0x3F == before & ~0x3F  # (bits 0-5: sticky status flags)


@needs_mxcsr
def test_block_restores_after_an_error() -> None:
    before = denormals.mode()
    with pytest.raises(ZeroDivisionError), denormals.flush_denormals():
        raise ZeroDivisionError
    assert denormals.mode() & denormals.FLUSH == before & denormals.FLUSH
    assert _scaled(np.full(2, TINY32))[0] != 0


@needs_mxcsr
@pytest.mark.parametrize("flush", [False, True])
def test_helper_half_runs_in_the_callers_mode(flush: bool) -> None:
    seen: dict[int, bool] = {}

    def half(slot: int) -> bool:
        seen[slot] = not _scaled(np.full(2, TINY32)).any()
        return True

    if flush:
        with denormals.flush_denormals():
            run_pair(half, (0,), (1,))
    else:
        run_pair(half, (0,), (1,))
    assert seen == {0: flush, 1: flush}
    run_pair(half, (0,), (1,))  # the helper thread's own mode is back to normal after
    assert seen == {0: False, 1: False}


def _vanishing_case(dtype: str, inf: bool, H: int = 24, L: int = 120, N: int = 6):
    """A ReLU stack whose BPTT gradient shrinks ~x0.3 a step from the last step only:
    float32 reaches the subnormal range well before the first step. (``inf``: infinities
    among the special values too; inf * 0 in a product raises NumPy's invalid flag, and
    np.errstate does not reach a helper thread's product.)"""
    rng = np.random.default_rng(0)
    w_ih = rng.standard_normal((H, 2)).astype(dtype)
    w_hh = (np.eye(H) * 0.3).astype(dtype)
    b = np.full(H, 0.5, dtype=dtype)
    x = np.abs(rng.standard_normal((L * N, 2))).astype(dtype)
    args = (x, np.full(L, N, np.int64), np.zeros((1, N, H), dtype), [(w_ih, w_hh, b, b)], 1,
            True, None)  # fmt: skip
    g_out = np.zeros((L * N, H), dtype)
    g_out[-N:] = rng.standard_normal((N, H))
    g_out[-N:, 0] = [np.nan, np.inf if inf else 1.0, -np.inf if inf else 2.0, 1.0, 2.0, 3.0][:N]
    return args, (g_out, np.zeros((1, N, H), dtype))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("variant", ["layered-gemm", "layered-rows", "layered-outer"])
def test_backward_flushes_only_subnormals(variant: str, dtype: str) -> None:
    args, grads = _vanishing_case(dtype, inf=variant != "layered-rows")
    outs, _ = stack_ref.stack_forward(*args)
    with np.errstate(invalid="ignore"):  # (inf * 0 in the products: nan, as torch's)
        ref = stack_ref.stack_backward(*args, outs, *grads)
        before = denormals.mode()
        v = dispatch.variant(variant)
        got = stack_compiled.stack_backward(*args, outs, *grads, variant=v)
    assert denormals.mode() & denormals.FLUSH == before & denormals.FLUSH
    ref_arrays = [ref[0], ref[1], *ref[2][0]]
    got_arrays = [got[0], got[1], *got[2][0]]
    tiny = np.finfo(dtype).tiny
    rtol = 1e-12 if dtype == "float64" else 2e-5
    for r, g in zip(ref_arrays, got_arrays, strict=True):
        np.testing.assert_array_equal(np.isnan(r), np.isnan(g))
        np.testing.assert_array_equal(np.isposinf(r), np.isposinf(g))
        np.testing.assert_array_equal(np.isneginf(r), np.isneginf(g))
        finite = np.isfinite(r)
        np.testing.assert_allclose(g[finite], r[finite], rtol=rtol, atol=4 * tiny)
    dx = ref[0]
    if dtype == "float32" and denormals.AVAILABLE:  # the case does reach the subnormals
        sub = np.isfinite(dx) & (dx != 0) & (np.abs(dx) < tiny)
        assert sub.any()
        assert (got[0][sub] == 0).all()


@needs_mxcsr
def test_a_helper_made_inside_a_block_does_not_keep_flushing(monkeypatch) -> None:
    """A new thread copies its creator's floating-point mode: the helper thread made during
    a flushing backward must not flush afterwards."""
    from elman._kernels import handover

    seen: dict[int, bool] = {}

    def half(slot: int) -> bool:
        seen[slot] = not _scaled(np.full(2, TINY32)).any()
        return True

    monkeypatch.setattr(handover, "_STATE", handover._State())  # the next pair makes a helper
    with denormals.flush_denormals():
        run_pair(half, (0,), (1,))  # the helper is made here
    assert seen == {0: True, 1: True}
    run_pair(half, (0,), (1,))
    assert seen == {0: False, 1: False}
