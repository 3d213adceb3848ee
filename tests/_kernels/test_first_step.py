"""The first step of a direction run apart (``elman._kernels.first_step``): from a zero h0
the forward skips its product, and a backward without dh0 (``need_dh0=False``) skips the
product that only makes dh0. Every variant against the NumPy reference (dense and packed,
both directions, one step, float32 and float64); inf in W_hh or in the first step's
gradient still gives the product's NaN; the fast lane against torch with and without hx;
a float64 gradcheck through a zero h0.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

numba = pytest.importorskip("numba")

from kernel_cases import DTYPES, VARIANTS, compare, flat, make_case  # noqa: E402

import elman  # noqa: E402
from conftest import assert_close, tol  # noqa: E402
from elman._kernels import config, dispatch, first_step, stack_compiled, stack_ref  # noqa: E402


@pytest.fixture(autouse=True)
def _apart_at_any_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """These small shapes run the first step apart (by default only products of at least
    config.FIRST_STEP_APART multiply-adds do: see test_small_first_steps_stay_in_place), a lone
    step of one row too (by default from config.LONE_STEP_APART elements of W_hh)."""
    monkeypatch.setattr(first_step, "FIRST_STEP_APART", 0)
    monkeypatch.setattr(first_step, "LONE_STEP_APART", 0)


ZERO_CASES = [
    "dense-1layer-tanh",
    "packed-shrinking-relu",
    "bi-2layers-masks",
    "bi-3layers-packed",
    "L1",
    "one-feature-bi-packed",
    "one-step-one-sequence-bi",
    "H-not-multiple-of-16",
    "split-sized",
    "lone-step-wide-bi",
]


def zero_case(name: str, dtype: str, seed: int = 0) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """A case of kernel_cases with h0 = 0."""
    args, grads = make_case(name, dtype, seed)
    return (args[0], args[1], np.zeros_like(args[2]), *args[3:]), grads


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", ZERO_CASES)
@pytest.mark.parametrize("variant", VARIANTS)
def test_zero_h0_and_no_dh0_match_the_reference(variant: str, case: str, dtype: str) -> None:
    v = dispatch.variant(variant)
    args, grads = zero_case(case, dtype)
    outs, hn = stack_ref.stack_forward(*args)
    compare(stack_compiled.stack_forward(*args, variant=v), (outs, hn), f"{variant} forward")
    last, hn_ = stack_compiled.stack_forward(*args, keep=False, variant=v)
    compare((last[-1], hn_), (outs[-1], hn), f"{variant} forward without a graph")
    dx, dh0, per_k = stack_ref.stack_backward(*args, outs, *grads)
    full = stack_compiled.stack_backward(*args, outs, *grads, variant=v)
    compare(full, (dx, dh0, per_k), f"{variant} backward")
    got = stack_compiled.stack_backward(*args, outs, *grads, variant=v, need_dh0=False)
    if not v.fused_backward:  # (the fused loop computes dh0 with the rest and returns it)
        assert got[1] is None
    compare((got[0], got[2]), (dx, per_k), f"{variant} backward without dh0")


@pytest.mark.parametrize("case", ["bi-2layers-masks", "bi-3layers-packed", "L1", "split-sized"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_no_dh0_from_a_nonzero_h0(variant: str, case: str) -> None:
    """The backward's first step apart does not depend on h0 being zero."""
    v = dispatch.variant(variant)
    args, grads = make_case(case, "float64", seed=4)
    outs, _ = stack_ref.stack_forward(*args)
    dx, _, per_k = stack_ref.stack_backward(*args, outs, *grads)
    ref = stack_ref.stack_backward(*args, outs, *grads, need_dh0=False)
    assert ref[1] is None
    got = stack_compiled.stack_backward(*args, outs, *grads, variant=v, need_dh0=False)
    compare((got[0], got[2]), (dx, per_k), f"{variant} without dh0")


def _special_close(actual: Any, expected: Any, what: str) -> None:
    """NaN and +-inf at the same places, the rest within the dtype's tolerance."""
    a, e = flat(actual), flat(expected)
    assert len(a) == len(e), what
    for k, (x, y) in enumerate(zip(a, e, strict=True)):
        assert x.dtype == y.dtype, what
        np.testing.assert_allclose(x, y, err_msg=f"{what}[{k}]", **tol(y.dtype))


def _with(weights: list, k: int, which: int, at: tuple, value: float) -> list:
    weights = [list(w) for w in weights]
    weights[k][which] = weights[k][which].copy()
    weights[k][which][at] = value
    return [tuple(w) for w in weights]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", ["dense-1layer-tanh", "packed-shrinking-relu", "L1"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_inf_in_w_hh_from_a_zero_h0_gives_the_products_nan(
    variant: str, case: str, dtype: str
) -> None:
    """0 * inf is NaN: the first step's product is not skipped when W_hh holds inf/NaN."""
    v = dispatch.variant(variant)
    args, grads = zero_case(case, dtype)
    weights = _with(args[3], 0, 1, (2, 3), np.inf)
    if len(weights) > 1:
        weights = _with(weights, len(weights) - 1, 1, (1, 0), np.nan)
    args = (*args[:3], weights, *args[4:])
    with np.errstate(all="ignore"):  # (NaN is the point)
        outs, hn = stack_ref.stack_forward(*args)
        got = stack_compiled.stack_forward(*args, variant=v)
    assert np.isnan(outs[0][: args[1][0], 2]).all()  # the first step's column 2 already
    _special_close(got, (outs, hn), f"{variant} forward")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", ["dense-1layer-tanh", "H-not-multiple-of-16"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_inf_gradient_at_the_first_step_gives_dw_hh_its_nan(
    variant: str, case: str, dtype: str
) -> None:
    """dW_hh's first-step term delta_0.T @ 0 is NaN where delta_0 is inf: not skipped."""
    v = dispatch.variant(variant)
    args, (g, g_hn) = zero_case(case, dtype)
    g = g.copy()
    g[0, 1] = np.inf  # the first step's first row (the forward direction)
    outs, _ = stack_ref.stack_forward(*args)
    with np.errstate(all="ignore"):  # (NaN is the point)
        expected = stack_ref.stack_backward(*args, outs, g, g_hn)
        got = [
            stack_compiled.stack_backward(*args, outs, g, g_hn, variant=v, need_dh0=need)[2]
            for need in (True, False)
        ]
    assert np.isnan(expected[2][0][1][1]).all()  # row 1 of dW_hh
    for grads in got:
        _special_close(grads, expected[2], f"{variant} weight gradients")


def test_zero_start_runs_only_from_a_zero_state_with_finite_weights() -> None:
    rng = np.random.default_rng(0)
    sizes = np.array([3, 3, 2, 2], dtype=np.int64)
    T, H = int(sizes.sum()), 4
    w_hh, bias = rng.standard_normal((H, H)), rng.standard_normal(H)
    out = rng.standard_normal((T, H))
    zeros = np.zeros((3, H))
    for reverse in (False, True):
        work = out.copy()
        o, n, rest, rest_sizes = first_step.first_rows(T, sizes, reverse)
        assert (o, n) == ((T - 2, 2) if reverse else (0, 3))
        got = first_step.zero_start(work, 0, sizes, bias, zeros, w_hh, reverse, False)
        assert got is not None
        rows, s, h = got
        np.testing.assert_array_equal(s, sizes[:-1] if reverse else sizes[1:])
        first = np.tanh(out[o : o + n] + bias)
        np.testing.assert_allclose(work[o : o + n], first, rtol=1e-15)
        np.testing.assert_allclose(h[:n], first, rtol=1e-15)
        assert not h[n:].any() and np.shares_memory(rows, work) and len(rows) == T - n
    h_one = zeros.copy()
    h_one[1, 2] = 1e-300
    assert first_step.zero_start(out.copy(), 0, sizes, bias, h_one, w_hh, False, False) is None
    one_row = np.array([3, 2, 1], dtype=np.int64)  # reverse: one row starts (no gain)
    assert first_step.zero_start(out[:6].copy(), 0, one_row, bias, zeros, w_hh, True, False) is None
    for bad in (np.inf, -np.inf, np.nan):
        w = w_hh.copy()
        w[3, 0] = bad
        assert not first_step.all_finite(w)
        assert first_step.zero_start(out.copy(), 0, sizes, bias, zeros, w, False, False) is None
    assert first_step.all_finite(np.full((5, 7), np.finfo(np.float32).max, dtype=np.float32))


def test_small_first_steps_stay_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    """Below config.FIRST_STEP_APART multiply-adds the product is cheaper than the Python
    around a step apart: zero_start leaves it to the recurrence (and the results agree)."""
    monkeypatch.setattr(first_step, "FIRST_STEP_APART", config.FIRST_STEP_APART)
    assert not first_step.pays(3, 100) and first_step.pays(2, 1024)
    rng = np.random.default_rng(1)
    sizes = np.array([3, 3], dtype=np.int64)
    out, w_hh = rng.standard_normal((6, 100)), rng.standard_normal((100, 100))
    zeros = np.zeros((3, 100))
    assert first_step.zero_start(out, 0, sizes, np.zeros(100), zeros, w_hh, False, False) is None
    args, grads = zero_case("bi-2layers-masks", "float64")
    outs, hn = stack_ref.stack_forward(*args)
    v = dispatch.variant("layered-gemm")
    compare(stack_compiled.stack_forward(*args, variant=v), (outs, hn), "in place")
    dx, _, per_k = stack_ref.stack_backward(*args, outs, *grads)
    got = stack_compiled.stack_backward(*args, outs, *grads, variant=v, need_dh0=False)
    assert got[1] is None
    compare((got[0], got[2]), (dx, per_k), "in place without dh0")


def test_a_lone_step_runs_apart_from_a_wide_enough_w_hh(monkeypatch: pytest.MonkeyPatch) -> None:
    """A direction of one step (sequences of length one) saves the variant's copy of W_hh
    as well as the product: from config.LONE_STEP_APART elements of W_hh it runs apart
    whatever its rows, one row included; with a step after it, one row stays in place."""
    monkeypatch.setattr(first_step, "FIRST_STEP_APART", config.FIRST_STEP_APART)
    monkeypatch.setattr(first_step, "LONE_STEP_APART", config.LONE_STEP_APART)
    small, wide = 64, 96  # 64^2 = 4096 < 2^13 <= 96^2
    assert small * small < config.LONE_STEP_APART <= wide * wide
    assert first_step.pays(1, wide, alone=True) and not first_step.pays(1, wide)
    assert not first_step.pays(1, small, alone=True)
    rng = np.random.default_rng(2)
    for H, apart in ((small, False), (wide, True)):
        w_hh, bias = rng.standard_normal((H, H)), rng.standard_normal(H)
        out = rng.standard_normal((1, H))
        for reverse in (False, True):
            work = out.copy()
            lone = np.array([1], dtype=np.int64)
            got = first_step.zero_start(work, 0, lone, bias, np.zeros((1, H)), w_hh, reverse, False)
            assert (got is not None) == apart
            if apart:
                rows, s, h = got
                assert len(rows) == 0 and len(s) == 0
                np.testing.assert_allclose(h, np.tanh(out + bias), rtol=1e-15)
        two = np.array([1, 1], dtype=np.int64)  # a step follows: one row stays in place
        args = (rng.standard_normal((2, H)), 0, two, bias, np.zeros((1, H)), w_hh, False, False)
        assert first_step.zero_start(*args) is None


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("variant", VARIANTS)
def test_a_lone_step_of_one_row_matches_the_reference(
    variant: str, dtype: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One step of one sequence, H = 96: past config.LONE_STEP_APART at the default
    thresholds, so it runs apart; forward, and backward with and without dh0, against the
    reference."""
    monkeypatch.setattr(first_step, "FIRST_STEP_APART", config.FIRST_STEP_APART)
    monkeypatch.setattr(first_step, "LONE_STEP_APART", config.LONE_STEP_APART)
    v = dispatch.variant(variant)
    args, grads = zero_case("lone-step-wide-bi", dtype)
    outs, hn = stack_ref.stack_forward(*args)
    compare(stack_compiled.stack_forward(*args, variant=v), (outs, hn), f"{variant} forward")
    dx, dh0, per_k = stack_ref.stack_backward(*args, outs, *grads)
    got = stack_compiled.stack_backward(*args, outs, *grads, variant=v)
    compare(got, (dx, dh0, per_k), f"{variant} backward")
    got = stack_compiled.stack_backward(*args, outs, *grads, variant=v, need_dh0=False)
    compare((got[0], got[2]), (dx, per_k), f"{variant} backward without dh0")


# ---- through the fast lane, against torch ---------------------------------------------------

LANE_VARIANTS = ["layered-gemm", "layered-outer", "layered-rows", "layered-pairs", "layered-split"]


def _models(torch: Any, I: int, H: int, layers: int, bi: bool, dtype: str) -> tuple[Any, Any]:
    torch.manual_seed(5)
    ref = torch.nn.RNN(I, H, layers, bidirectional=bi, dtype=getattr(torch, dtype))
    ours = elman.nn.RNN(I, H, layers, bidirectional=bi, dtype=dtype)
    ours.load_state_dict(
        {k: elman.from_numpy(v.numpy().copy()) for k, v in ref.state_dict().items()}
    )
    return ref, ours


@pytest.mark.parametrize("hx", ["none", "zeros", "random"])
@pytest.mark.parametrize(
    "shape", [(1, 6, 3, 40, 2, True), (2, 5, 4, 33, 1, False), (3, 7, 2, 36, 2, True)]
)
@pytest.mark.parametrize("variant", LANE_VARIANTS)
def test_few_steps_through_the_lane_match_torch(
    variant: str, shape: tuple, hx: str, torch_or_skip: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    torch = torch_or_skip
    monkeypatch.setattr(dispatch, "FORCED", variant)
    L, N, I, H, layers, bi = shape
    ref, ours = _models(torch, I, H, layers, bi, "float64")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((L, N, I))
    h = None
    if hx != "none":
        h = np.zeros((layers * (2 if bi else 1), N, H))
        if hx == "random":
            h = rng.standard_normal(h.shape)
    packed = L == 3  # the last shape: packed, lengths 3, 2 and 1
    lengths = np.array([3, 3, 2, 2, 1, 1, 1])
    tx = torch.from_numpy(x).requires_grad_(True)
    th = None if h is None else torch.from_numpy(h).requires_grad_(True)
    ex = elman.from_numpy(x).requires_grad_(True)
    eh = None if h is None else elman.from_numpy(h).requires_grad_(True)
    if packed:
        t_out, t_hn = ref(
            torch.nn.utils.rnn.pack_padded_sequence(tx, torch.from_numpy(lengths)), th
        )
        e_out, e_hn = ours(elman.nn.utils.rnn.pack_padded_sequence(ex, lengths), eh)
        t_out, e_out = t_out.data, e_out.data
    else:
        t_out, t_hn = ref(tx, th)
        e_out, e_hn = ours(ex, eh)
    assert_close(e_out, t_out, "output")
    assert_close(e_hn, t_hn, "h_n")
    g = rng.standard_normal(tuple(t_out.shape))
    gh = rng.standard_normal(tuple(t_hn.shape))
    (t_out * torch.from_numpy(g)).sum().add((t_hn * torch.from_numpy(gh)).sum()).backward()
    ((e_out * elman.from_numpy(g)).sum() + (e_hn * elman.from_numpy(gh)).sum()).backward()
    assert_close(ex.grad, tx.grad, "dx")
    if h is not None:
        assert_close(eh.grad, th.grad, "dh0")
    for (name, p), q in zip(ours.named_parameters(), ref.parameters(), strict=True):
        assert_close(p.grad, q.grad, name)


@pytest.mark.parametrize("variant", ["layered-gemm", "layered-pairs", "layered-rows"])
def test_gradcheck_through_a_zero_h0(variant: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """h0 = 0 takes the skip; gradcheck's perturbed h0 does not: the two must agree."""
    monkeypatch.setattr(dispatch, "FORCED", variant)
    elman.manual_seed(2)
    rnn = elman.nn.RNN(3, 9, num_layers=2, bidirectional=True, dtype=elman.float64)
    rng = np.random.default_rng(3)
    x = elman.from_numpy(rng.standard_normal((2, 4, 3))).requires_grad_(True)
    h = elman.from_numpy(np.zeros((4, 4, 9))).requires_grad_(True)
    assert elman.autograd.gradcheck(lambda x, h: rnn(x, h)[0], (x, h))
    assert elman.autograd.gradcheck(lambda x, h: rnn(x, h)[1], (x, h))
