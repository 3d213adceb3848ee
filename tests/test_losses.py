"""Losses and (log-)softmax against torch: values, gradients of every input, errors.

:func:`parity` runs one lambda ``fn(F, *tensors)`` with ``F`` = ``elman.nn.functional`` or
``torch.nn.functional`` on tensors made from the same arrays, compares the outputs (dtype,
shape, values), backpropagates the same random cotangent through both and compares the
gradient of every input. float64 gradients are also checked by finite differences.
"""

from __future__ import annotations

import doctest
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import pytest

import elman
import elman.nn.functional as EF
from conftest import TORCH, assert_close, requires_torch, to_numpy
from elman.autograd import gradcheck

torch = TORCH
TF = None if torch is None else torch.nn.functional
DTYPES = [np.float64, np.float32]


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread() -> Iterator[None]:
    """torch's intra-op threads cost milliseconds per tiny op on a busy machine; the tensors
    here are tiny, so run torch on one thread for this module (and restore it after)."""
    if torch is None:
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tol_for(dtype: Any) -> dict[str, float]:
    """float32 within torch.testing.assert_close's defaults; float64 to ~1e-12 (DESIGN.md)."""
    if np.dtype(dtype) == np.float32:
        return {"rtol": 1.3e-6, "atol": 1e-5}
    return {"rtol": 1e-10, "atol": 1e-12}


def _close(actual: Any, expected: Any, what: str, tol: dict[str, float] | None) -> None:
    """assert_close (which records the worst error per dtype) at DESIGN.md's tolerances, or
    a plain comparison at ``tol`` for results that inherit another dtype's rounding."""
    if tol is None:
        assert_close(actual, expected, what, equal_nan=True, **tol_for(to_numpy(expected).dtype))
    else:
        a, e = to_numpy(actual), to_numpy(expected)
        assert a.dtype == e.dtype and a.shape == e.shape, what
        np.testing.assert_allclose(a, e, err_msg=what, equal_nan=True, **tol)


def parity(
    fn: Callable[..., Any],
    *arrays: np.ndarray,
    grad: Sequence[bool] | None = None,
    seed: int = 0,
    tol: dict[str, float] | None = None,
) -> tuple[Any, Any]:
    """Compare ``fn(F, *tensors)`` in elman and torch: outputs, then every input's gradient.

    Floating arrays require grad unless ``grad`` says otherwise; ``tol`` overrides the
    tolerances of each array's dtype. Returns both outputs.
    """
    needs = [a.dtype.kind == "f" for a in arrays] if grad is None else list(grad)
    ex = [elman.tensor(a, requires_grad=n) for a, n in zip(arrays, needs, strict=True)]
    tx = [torch.tensor(a, requires_grad=n) for a, n in zip(arrays, needs, strict=True)]
    eo, to = fn(EF, *ex), fn(TF, *tx)
    expected = to.detach().numpy()
    assert eo.dtype == expected.dtype and eo.shape == expected.shape
    _close(eo, expected, "output", tol)
    if not to.requires_grad:
        assert not eo.requires_grad
        return eo, to
    cot = np.random.default_rng(seed).standard_normal(expected.shape).astype(expected.dtype)
    elman.autograd.backward([eo], [cot])
    torch.autograd.backward([to], [torch.from_numpy(cot)])
    for i, (e, t) in enumerate(zip(ex, tx, strict=True)):
        if t.grad is None:
            assert e.grad is None, f"input {i}: elman has a grad, torch has none"
        else:
            assert e.grad is not None, f"input {i}: no grad"
            _close(e.grad, t.grad, f"grad of input {i}", tol)
    return eo, to


def arrays(*shapes: Any, dtype: Any = np.float64, seed: int = 1) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def targets(high: int, shape: Any, seed: int = 2, ignore: int | None = None) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = rng.integers(0, high, shape)
    if ignore is not None and t.size > 1:
        t.reshape(-1)[1] = ignore
    return t


def probabilities(shape: tuple[int, ...], axis: int, dtype: Any, seed: int = 3) -> np.ndarray:
    p = np.random.default_rng(seed).uniform(0.05, 1.0, shape)
    return (p / p.sum(axis=axis, keepdims=True)).astype(dtype)


# ---- mse_loss and l1_loss -------------------------------------------------------------------

REDUCTIONS = ["mean", "sum", "none"]
REGRESSION = ["mse_loss", "l1_loss"]


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", REGRESSION)
@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 5), (7,), ()], ids=str)
def test_regression_values_and_grads(name: str, reduction: str, dtype: Any, shape: Any) -> None:
    x, t = arrays(shape, shape, dtype=dtype)
    parity(lambda F, a, b: getattr(F, name)(a, b, reduction=reduction), x, t)


@requires_torch
@pytest.mark.parametrize("name", REGRESSION)
@pytest.mark.parametrize("shapes", [((3, 4), (4,)), ((4,), (3, 4)), ((3, 1), (1, 4))], ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_broadcasting_warns_and_matches(name: str, shapes: Any, reduction: str) -> None:
    x, t = arrays(*shapes)
    with pytest.warns(UserWarning, match=r"Using a target size \(elman.Size\(\["):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r".*torch.Size")  # torch's own warning
            parity(lambda F, a, b: getattr(F, name)(a, b, reduction=reduction), x, t)


@requires_torch
@pytest.mark.parametrize("name", REGRESSION)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_regression_weighted(name: str, reduction: str, dtype: Any) -> None:
    x, t = arrays((3, 4), (3, 4), dtype=dtype)
    w = np.random.default_rng(5).uniform(0.1, 2.0, (3, 4)).astype(dtype)
    parity(lambda F, a, b, c: getattr(F, name)(a, b, reduction=reduction, weight=c), x, t, w)


@requires_torch
@pytest.mark.parametrize("name", REGRESSION)
def test_regression_mixed_dtypes(name: str) -> None:
    x = arrays((3, 4), dtype=np.float32)[0]
    t64 = arrays((3, 4), dtype=np.float64, seed=7)[0]
    parity(lambda F, a, b: getattr(F, name)(a, b), x, t64)  # promotes to float64
    parity(lambda F, a, b: getattr(F, name)(a, b), t64, x)
    ints = np.arange(12).reshape(3, 4) % 3
    parity(lambda F, a, b: getattr(F, name)(a, b, reduction="sum"), x, ints)  # stays float32


@requires_torch
@pytest.mark.parametrize("name", REGRESSION)
def test_regression_empty_and_legacy_flags(name: str) -> None:
    e = np.zeros(0, np.float32)
    out, _ = parity(lambda F, a, b: getattr(F, name)(a, b), e, e)  # mean of nothing: nan
    assert np.isnan(out.item())
    parity(lambda F, a, b: getattr(F, name)(a, b, reduction="sum"), e, e)
    x, t = arrays((3, 4), (3, 4))
    for flags, red in [({"size_average": False}, "sum"), ({"reduce": False}, "none")]:
        with pytest.warns(UserWarning, match=f"please use reduction='{red}' instead"):
            parity(lambda F, a, b: getattr(F, name)(a, b, **flags), x, t)  # noqa: B023


def test_regression_d_zero_gradient() -> None:
    """|d|' at d = 0 is 0, as torch's sgn; the MSE gradient there is 0 too."""
    x = elman.tensor([1.0, 2.0, 3.0], requires_grad=True)
    EF.l1_loss(x, elman.tensor([1.0, 0.0, 5.0]), reduction="sum").backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0, -1.0])


@requires_torch
@pytest.mark.parametrize("name", REGRESSION)
def test_regression_errors_match_torch(name: str) -> None:
    x = np.ones((3, 4), np.float32)
    cases = [
        (lambda F, T: getattr(F, name)(T(x), T(x), reduction="avg"), ValueError),
        (lambda F, T: getattr(F, name)(T(x), T(x), weight=T(x[0])), ValueError),
        (lambda F, T: getattr(F, name)(T(x), T(x), reduction="bad", weight=T(x)), ValueError),
    ]
    for case, exc in cases:
        _same_error(case, exc)
    with pytest.warns(UserWarning), pytest.raises(RuntimeError) as got:
        getattr(EF, name)(elman.tensor(x), elman.tensor(np.ones(5, np.float32)))
    with pytest.warns(UserWarning), pytest.raises(RuntimeError) as want:
        getattr(TF, name)(torch.tensor(x), torch.ones(5))
    assert str(got.value) == str(want.value)


def test_regression_integer_pair_is_refused() -> None:
    ints = elman.tensor([[1, 2]])
    with pytest.raises(NotImplementedError, match="not implemented for 'int64'"):
        EF.mse_loss(ints, ints)


def _same_error(case: Callable[..., Any], exc: type[Exception]) -> None:
    """``case(F, T)`` raises the same exception type and message in elman and torch."""
    with pytest.raises(exc) as got:
        case(EF, elman.tensor)
    with pytest.raises(exc) as want:
        case(TF, torch.tensor)
    assert str(got.value) == str(want.value)


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


# ---- log_softmax and softmax ----------------------------------------------------------------


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["log_softmax", "softmax"])
@pytest.mark.parametrize(
    "shape_dim",
    [((5,), 0), ((3, 4), 1), ((3, 4), 0), ((2, 3, 4), -1), ((2, 3, 4), 1), ((), 0)],
    ids=str,
)
def test_softmaxes(name: str, shape_dim: Any, dtype: Any) -> None:
    shape, dim = shape_dim
    (x,) = arrays(shape, dtype=dtype)
    parity(lambda F, a: getattr(F, name)(a, dim=dim), x * 3)


@requires_torch
@pytest.mark.parametrize("name", ["log_softmax", "softmax"])
def test_softmaxes_extremes_implicit_dim_and_dtype(name: str) -> None:
    big = np.array([[1e4, 0.0, -1e4], [80.0, 100.0, 90.0]], np.float32)
    out, _ = parity(lambda F, a: getattr(F, name)(a, dim=1), big)
    assert np.isfinite(out.detach().numpy()).all()
    (x,) = arrays((2, 3, 4))
    for shape in [(2, 3, 4), (3, 4), (4,)]:  # the implicit dim: 0 for 1-D and 3-D, else 1
        part = x.reshape(-1)[: int(np.prod(shape))].reshape(shape)
        with pytest.warns(UserWarning, match=f"Implicit dimension choice for {name}"):
            getattr(EF, name)(elman.tensor(part))
        with pytest.warns(UserWarning, match=f"Implicit dimension choice for {name}"):
            parity(lambda F, a: getattr(F, name)(a), part)
    wide = {EF: np.float64, TF: torch.float64}
    parity(lambda F, a: getattr(F, name)(a, 1, dtype=wide[F]), x.astype(np.float32))
    parity(lambda F, a: getattr(F, name)(a, dim=1), np.zeros((2, 0), np.float32))


def test_softmaxes_refuse_integers_and_bad_dims() -> None:
    with pytest.raises(NotImplementedError):
        EF.softmax(elman.tensor([1, 2]), dim=0)
    with pytest.raises(IndexError, match="Dimension out of range"):
        EF.log_softmax(elman.ones(2, 3), dim=2)


# ---- float64 gradcheck ----------------------------------------------------------------------

GRADCHECK = {
    "mse": (lambda a, b: EF.mse_loss(a, b), [(3, 4), (3, 4)]),
    "mse-none": (lambda a, b: EF.mse_loss(a, b, reduction="none"), [(3, 4), (3, 4)]),
    "l1": (lambda a, b: EF.l1_loss(a, b, reduction="sum"), [(3, 4), (3, 4)]),
    "mse-weighted": (lambda a, b, c: EF.mse_loss(a, b, weight=c), [(3, 4), (3, 4), (3, 4)]),
    "log_softmax": (lambda a: EF.log_softmax(a, dim=1), [(3, 4)]),
    "softmax": (lambda a: EF.softmax(a, dim=0), [(3, 4)]),
    "ce-probs": (
        lambda a, b, c: EF.cross_entropy(a, b, weight=c, label_smoothing=0.2),
        [(3, 4), (3, 4), (4,)],
    ),
}


@pytest.mark.parametrize("case", GRADCHECK)
def test_gradcheck(case: str) -> None:
    fn, shapes = GRADCHECK[case]
    rng = np.random.default_rng(11)
    inputs = [elman.tensor(rng.uniform(0.1, 2.0, s), requires_grad=True) for s in shapes]
    assert gradcheck(fn, inputs)


@pytest.mark.parametrize("opts", CE_OPTIONS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shapes", [((4, 5), (4,)), ((5,), ()), ((2, 5, 3), (2, 3))], ids=str)
def test_gradcheck_cross_entropy(shapes: Any, reduction: str, opts: str) -> None:
    x, t, w, kw = _ce_case(*shapes, CE_OPTIONS[opts], np.float64)
    weight = None if w is None else elman.tensor(w)
    xt = elman.tensor(x, requires_grad=True)
    fn = lambda a: EF.cross_entropy(a, elman.tensor(t), weight, reduction=reduction, **kw)  # noqa: E731
    assert gradcheck(fn, [xt])


# ---- modules -------------------------------------------------------------------------------


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
def test_loss_modules(dtype: Any) -> None:
    x, y = arrays((4, 3), (4, 3), dtype=dtype)
    t = targets(3, 4, ignore=-100)
    w = np.array([0.5, 1.0, 2.0], dtype)
    pairs = [
        (elman.nn.MSELoss(), torch.nn.MSELoss(), y),
        (elman.nn.L1Loss(reduction="sum"), torch.nn.L1Loss(reduction="sum"), y),
        (
            elman.nn.CrossEntropyLoss(weight=elman.tensor(w), label_smoothing=0.1),
            torch.nn.CrossEntropyLoss(weight=torch.tensor(w), label_smoothing=0.1),
            t,
        ),
    ]
    for em, tm, target in pairs:
        assert repr(em) == repr(tm)
        assert list(em.state_dict()) == list(tm.state_dict())
        parity(lambda F, a, b: (em if F is EF else tm)(a, b), x, target)  # noqa: B023


def test_cross_entropy_loss_weight_follows_module_dtype() -> None:
    loss = elman.nn.CrossEntropyLoss(weight=np.ones(3, np.float32)).double()
    x = elman.tensor(np.zeros((2, 3)), requires_grad=True)
    out = loss(x, elman.tensor([0, 1]))
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.item(), np.log(3.0), rtol=1e-15)


def test_loss_module_legacy_flags_and_bad_reduction() -> None:
    with pytest.warns(UserWarning, match="reduction='sum'"):
        assert elman.nn.MSELoss(size_average=False).reduction == "sum"
    loss = elman.nn.L1Loss(reduction="avg")  # validated when called, as in torch
    with pytest.raises(ValueError, match="avg is not a valid value for reduction"):
        loss(elman.ones(2), elman.ones(2))


def test_doctests() -> None:
    from elman.nn import functional_activation, functional_ce, functional_loss, loss

    for module in (functional_activation, functional_ce, functional_loss, loss):
        failed, attempted = doctest.testmod(module, raise_on_error=False, verbose=False)
        assert attempted > 0 and failed == 0, module.__name__
