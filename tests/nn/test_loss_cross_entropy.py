"""cross_entropy against torch: class indices and probabilities, target forms and dtypes,
nothing to average, extreme logits, legacy flags, errors.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from nn_parity import (
    DTYPES,
    REDUCTIONS,
    TF,
    arrays,
    one_torch_thread,  # noqa: F401  (an autouse fixture)
    parity,
    probabilities,
    targets,
    tol_for,
    torch,
)

import elman
import elman.nn.functional as EF
from conftest import assert_close, requires_torch
from elman.autograd import gradcheck

# ---- cross_entropy -------------------------------------------------------------------------

CE_SHAPES = [  # (input shape, target shape)
    ((6, 5), (6,)),
    ((5,), ()),
    ((2, 4, 3), (2, 3)),
    ((2, 4, 3, 2), (2, 3, 2)),
    ((2, 3, 2, 2, 2), (2, 2, 2, 2)),
]
CE_OPTIONS = {
    "plain": {},
    "weight": {"weight": True},
    "ignore": {"ignore": -100},
    "ignore-in-range": {"ignore": 2, "ignore_index": 2},
    "smooth": {"label_smoothing": 0.25},
    "all": {"weight": True, "ignore": -100, "label_smoothing": 0.1},
}


def _ce_case(shape: Any, tshape: Any, opts: dict[str, Any], dtype: Any) -> tuple[Any, ...]:
    C = shape[0 if len(shape) == 1 else 1]
    (x,) = arrays(shape, dtype=dtype)
    t = targets(C, tshape, ignore=opts.get("ignore"))
    w = np.random.default_rng(9).uniform(0.2, 2.0, C).astype(dtype)
    kw = {k: v for k, v in opts.items() if k in ("ignore_index", "label_smoothing")}
    return x, t, (w if opts.get("weight") else None), kw


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("opts", CE_OPTIONS)
@pytest.mark.parametrize("shapes", CE_SHAPES, ids=str)
def test_cross_entropy_class_indices(shapes: Any, opts: str, reduction: str, dtype: Any) -> None:
    x, t, w, kw = _ce_case(*shapes, CE_OPTIONS[opts], dtype)
    if w is None:
        parity(lambda F, a, b: F.cross_entropy(a, b, reduction=reduction, **kw), x, t)
    else:
        parity(
            lambda F, a, b, c: F.cross_entropy(a, b, weight=c, reduction=reduction, **kw),
            x,
            t,
            w,
            grad=[True, False, False],
        )


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
@pytest.mark.parametrize("shape", [(6, 5), (5,), (2, 4, 3, 2)], ids=str)
def test_cross_entropy_probabilities(
    shape: Any, smoothing: float, reduction: str, dtype: Any
) -> None:
    """Soft targets: gradients reach the logits, the target and the class weights."""
    axis = 0 if len(shape) == 1 else 1
    (x,) = arrays(shape, dtype=dtype)
    q = probabilities(shape, axis, dtype)
    w = np.random.default_rng(4).uniform(0.2, 2.0, shape[axis]).astype(dtype)
    kw = {"reduction": reduction, "label_smoothing": smoothing}
    parity(lambda F, a, b: F.cross_entropy(a, b, **kw), x, q)
    parity(lambda F, a, b, c: F.cross_entropy(a, b, weight=c, **kw), x, q, w)


@requires_torch
def test_cross_entropy_probabilities_promote() -> None:
    """float32 logits, float64 probabilities: log-softmax in float32, then float64 (torch's
    order), so the float64 result carries float32 rounding."""
    x = arrays((4, 3), dtype=np.float32)[0]
    q = probabilities((4, 3), 1, np.float64)
    out, _ = parity(lambda F, a, b: F.cross_entropy(a, b), x, q, tol=tol_for(np.float32))
    assert out.dtype == np.float64


@requires_torch
def test_cross_entropy_target_forms() -> None:
    x = arrays((4, 5), dtype=np.float32)[0]
    parity(lambda F, a, b: F.cross_entropy(a, b), x, np.array([0, 4, 2, 1], np.uint8))
    x1 = x[0].copy()
    parity(lambda F, a, b: F.cross_entropy(a, b, reduction="none"), x1, np.array(3))
    # unbatched input with a one-element target: torch's forward takes it like a 0-d target
    # (its backward then fails); elman gives the same value and the 0-d target's gradient
    xe = elman.tensor(x1, requires_grad=True)
    out = EF.cross_entropy(xe, elman.tensor([3]), reduction="none", label_smoothing=0.1)
    out.backward()
    want = TF.cross_entropy(torch.tensor(x1), torch.tensor([3]), reduction="none")
    assert out.shape == want.shape == ()
    xt = torch.tensor(x1, requires_grad=True)
    TF.cross_entropy(xt, torch.tensor(3), label_smoothing=0.1).backward()
    assert_close(xe.grad, xt.grad, **tol_for(np.float32))
    assert_close(EF.cross_entropy(elman.tensor(x1), elman.tensor([3])), want, **tol_for(np.float32))


@requires_torch
def test_cross_entropy_int32_targets_are_accepted() -> None:
    """A difference: torch refuses int32 class indices; elman takes any integer dtype."""
    x = arrays((4, 5))[0]
    t = np.array([0, 4, 2, 1])
    got = EF.cross_entropy(elman.tensor(x), elman.tensor(t.astype(np.int32)))
    want = TF.cross_entropy(torch.tensor(x), torch.tensor(t))
    assert_close(got, want)


@requires_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_nothing_to_average(reduction: str, smoothing: float) -> None:
    """All targets ignored, or an empty batch: 'mean' is nan and the gradient zero, as torch."""
    kw = {"reduction": reduction, "label_smoothing": smoothing}
    x = arrays((3, 4))[0]
    out, _ = parity(lambda F, a, b: F.cross_entropy(a, b, **kw), x, np.full(3, -100))
    assert np.isnan(out.item()) if reduction == "mean" else not out.detach().numpy().any()
    parity(lambda F, a, b: F.cross_entropy(a, b, **kw), x[:0], np.zeros(0, np.int64))


@requires_torch
def test_cross_entropy_extreme_logits_are_stable() -> None:
    x = np.array([[1e4, -1e4, 0.0], [-3e3, 3e3, 2.9e3]], np.float32)
    out, _ = parity(lambda F, a, b: F.cross_entropy(a, b, reduction="none"), x, np.array([1, 2]))
    assert np.isfinite(out.detach().numpy()).all()


@requires_torch
def test_cross_entropy_legacy_flags() -> None:
    x, t = arrays((4, 3))[0], targets(3, 4)
    with pytest.warns(UserWarning, match="reduction='none'"):
        parity(lambda F, a, b: F.cross_entropy(a, b, reduce=False), x, t)


CE_ERRORS = {  # name: (input shape, target array, kwargs, exception)
    "batch": ((3, 5), np.array([1, 2, 3, 4]), {}, ValueError),
    "batch-0d": ((3, 5), np.array(1), {}, ValueError),
    "batch-spatial": ((2, 5, 3, 4), np.zeros((3, 3, 4), np.int64), {}, ValueError),
    "multi-target": ((3, 5), np.zeros((3, 4), np.int64), {}, RuntimeError),
    "spatial": ((2, 5, 3), np.zeros((2, 4), np.int64), {}, RuntimeError),
    "unbatched-size": ((5,), np.array([1, 2]), {}, ValueError),
    "unbatched-2d": ((5,), np.zeros((1, 1), np.int64), {}, RuntimeError),
    "oob": ((3, 5), np.array([1, 2, 5]), {}, IndexError),
    "negative": ((3, 5), np.array([1, -1, 2]), {}, IndexError),
    "oob-spatial": ((2, 5, 3), np.full((2, 3), 7), {}, IndexError),
    "ignored-not-ignored": ((3, 5), np.array([1, -100, 2]), {"ignore_index": 1}, IndexError),
    "weight-size": ((3, 5), np.array([1, 2, 3]), {"weight": np.ones(4, np.float32)}, RuntimeError),
    "weight-2d": (
        (3, 5),
        np.array([1, 2, 3]),
        {"weight": np.ones((5, 1), np.float32)},
        RuntimeError,
    ),
    "smoothing": ((3, 5), np.array([1, 2, 3]), {"label_smoothing": 1.5}, RuntimeError),
    "probs-smoothing": (
        (3, 5),
        np.full((3, 5), 0.2, np.float32),
        {"label_smoothing": 1.5},
        RuntimeError,
    ),
    "probs-ignore": ((3, 5), np.full((3, 5), 0.2, np.float32), {"ignore_index": 1}, RuntimeError),
    "reduction": ((3, 5), np.array([1, 2, 3]), {"reduction": "avg"}, ValueError),
    "0d-input": ((), np.array(0.5, np.float32), {}, ValueError),
}
SAME_TEXT = {
    "batch", "batch-0d", "batch-spatial", "multi-target", "spatial", "unbatched-size",
    "unbatched-2d", "oob", "negative", "oob-spatial", "ignored-not-ignored", "weight-size",
    "weight-2d", "smoothing", "probs-smoothing", "probs-ignore", "reduction",
}  # fmt: skip


@requires_torch
@pytest.mark.parametrize("case", CE_ERRORS)
def test_cross_entropy_errors(case: str) -> None:
    shape, t, kw, exc = CE_ERRORS[case]
    x = np.ones(shape, np.float32)

    def call(F: Any, T: Any) -> Any:
        extra = {k: (T(v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
        return F.cross_entropy(T(x), T(t), **extra)

    with pytest.raises(exc) as got:
        call(EF, elman.tensor)
    if case in SAME_TEXT:
        with pytest.raises(exc) as want:
            call(TF, torch.tensor)
        assert str(got.value) == str(want.value)


def test_cross_entropy_errors_elman_wording() -> None:
    x = elman.ones(3, 5)
    with pytest.raises(RuntimeError, match="expected target dtype to be an integer type"):
        EF.cross_entropy(x, elman.tensor([1.0, 2.0, 3.0]))
    with pytest.raises(RuntimeError, match="expected scalar type float32 but found float64"):
        EF.cross_entropy(x, elman.tensor([1, 2, 3]), weight=elman.ones(5, dtype=elman.float64))
    with pytest.raises(RuntimeError, match="label_smoothing must be between 0.0 and 1.0"):
        EF.cross_entropy(x, elman.tensor([1, 2, 3]), label_smoothing=-0.1)  # torch ignores it
    with pytest.raises(NotImplementedError, match="not implemented for 'int64'"):
        EF.cross_entropy(elman.ones(3, 5, dtype=np.int64), elman.tensor([1, 2, 3]))
    with pytest.raises(RuntimeError, match="not differentiable with respect to argument 'weight'"):
        EF.cross_entropy(x, elman.tensor([1, 2, 3]), weight=elman.ones(5, requires_grad=True))


@pytest.mark.parametrize("opts", CE_OPTIONS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shapes", [((4, 5), (4,)), ((5,), ()), ((2, 5, 3), (2, 3))], ids=str)
def test_gradcheck_cross_entropy(shapes: Any, reduction: str, opts: str) -> None:
    x, t, w, kw = _ce_case(*shapes, CE_OPTIONS[opts], np.float64)
    weight = None if w is None else elman.tensor(w)
    xt = elman.tensor(x, requires_grad=True)
    fn = lambda a: EF.cross_entropy(a, elman.tensor(t), weight, reduction=reduction, **kw)  # noqa: E731
    assert gradcheck(fn, [xt])
