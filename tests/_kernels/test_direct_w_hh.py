"""The OUTER and GEMM recurrences on few rows a step call BLAS on the parameter's own W_hh
(``first_step.direct``: the forward with the transpose flag, no packed or transposed copy).
Every case and variant with the direct path forced on (and off) against the NumPy
reference, float32 and float64; inf and NaN in W_hh; which path runs by default.
"""

from __future__ import annotations

import numpy as np
import pytest

numba = pytest.importorskip("numba")

from kernel_cases import CASES, DTYPES, compare, make_case  # noqa: E402

from conftest import assert_close  # noqa: E402
from elman._kernels import dispatch, first_step, layered_stack, stack_compiled, stack_ref  # noqa: E402


def _force(monkeypatch: pytest.MonkeyPatch, on: bool) -> None:
    monkeypatch.setattr(first_step, "DIRECT_ROWS", 1 << 30 if on else 0)
    monkeypatch.setattr(first_step, "DIRECT_FORWARD_WORK", 1 << 60 if on else 0)


@pytest.mark.parametrize("on", [True, False])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("variant", ["layered-outer", "layered-gemm", "fused-forward-outer"])
def test_direct_w_hh_matches_the_reference(
    variant: str, case: str, dtype: str, on: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    _force(monkeypatch, on)
    v = dispatch.variant(variant)
    args, grads = make_case(case, dtype)
    w_hh = [np.copy(w[1]) for w in args[3]]
    outs, hn = stack_ref.stack_forward(*args)
    compare(stack_compiled.stack_forward(*args, variant=v), (outs, hn), f"{variant} forward")
    expected = stack_ref.stack_backward(*args, outs, *grads)
    got = stack_compiled.stack_backward(*args, outs, *grads, variant=v)
    compare(got, expected, f"{variant} backward")
    for w, before in zip(args[3], w_hh, strict=True):  # read in place, never written
        assert np.array_equal(w[1], before)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("variant", ["layered-outer", "layered-gemm"])
def test_direct_w_hh_keeps_nan_and_inf_where_the_reference_has_them(
    variant: str, dtype: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _force(monkeypatch, True)
    v = dispatch.variant(variant)
    args, grads = make_case("packed-shrinking-relu", dtype)
    w = list(args[3][0])
    w[1] = w[1].copy()
    w[1][2, 3], w[1][1, 0] = np.inf, np.nan
    args = (*args[:3], [tuple(w)], *args[4:])
    with np.errstate(all="ignore"):  # (NaN is the point)
        outs, hn = stack_ref.stack_forward(*args)
        got = stack_compiled.stack_forward(*args, variant=v)
        expected = stack_ref.stack_backward(*args, outs, *grads)
        back = stack_compiled.stack_backward(*args, outs, *grads, variant=v)
    assert np.isnan(outs[0]).any()
    for a, e in zip([*got[0], got[1]], [*outs, hn], strict=True):
        assert np.array_equal(np.isnan(a), np.isnan(e))
        assert_close(np.nan_to_num(a), np.nan_to_num(e), "forward")
    assert np.array_equal(np.isnan(back[1]), np.isnan(expected[1]))


def test_few_rows_run_direct_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """One row (any H) and two rows of a small enough W_hh go direct; nine rows do not."""
    assert first_step.direct(np.array([1, 1]), 626, True)
    assert first_step.direct(np.array([2, 2, 1]), 445, True)
    assert not first_step.direct(np.array([2, 2]), 626, True)  # forward: packed per step
    assert first_step.direct(np.array([2, 2]), 626, False)
    assert not first_step.direct(np.array([9, 9]), 220, False)
    seen: list[str] = []
    real = layered_stack.recur_forward_gemm

    def spy(out, c0, sizes, bias, h0, WT, *rest):  # type: ignore[no-untyped-def]
        seen.append("F" if WT.flags.f_contiguous and not WT.flags.c_contiguous else "C")
        return real(out, c0, sizes, bias, h0, WT, *rest)

    monkeypatch.setattr(layered_stack, "recur_forward_gemm", spy)
    args, _ = make_case("3layers-relu-nobias-masks", "float64")  # N = 2, H = 5
    stack_compiled.stack_forward(*args, variant=dispatch.variant("layered-outer"))
    assert seen == ["F"] * 3
