"""The layers around the RNN in a language model, on the paths made fast for training: the
Embedding's backward (a scatter-add in torch's order), the Linear head over a batch-first view
of the RNN's output (read in memory order), cross-entropy's fused log-softmax; against torch
(when installed), float64 gradcheck, special values."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from nn_parity import (
    DTYPES,
    assert_like_reference,
    linear_reference,
    one_torch_thread,  # noqa: F401  (an autouse fixture)
    parity,
    tol_for,
    torch,
)

import elman
import elman.nn.functional as EF
from conftest import assert_close, requires_torch
from elman.autograd import gradcheck

# ---- Embedding backward ----------------------------------------------------------------------


def _embedding_grads(lib: Any, w: np.ndarray, idx: np.ndarray, g: np.ndarray, **kw: Any) -> Any:
    wt = lib.tensor(w, requires_grad=True)
    lib.nn.functional.embedding(lib.tensor(idx), wt, **kw).backward(lib.tensor(g))
    return wt.grad.numpy()


def _embedding_case(dtype: Any) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(11)
    w = rng.standard_normal((6, 5)).astype(dtype)
    idx = rng.integers(0, 6, (40, 60))  # 2,400 lookups of 6 rows: long float32 sums
    g = (rng.standard_normal((40, 60, 5)) * 10.0 ** rng.integers(-3, 4, (40, 60, 1))).astype(dtype)
    return w, idx, g


@requires_torch
@pytest.mark.parametrize("kw", [{}, {"padding_idx": 4}], ids=["plain", "padding"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_embedding_backward_sums_in_torchs_order(dtype: Any, kw: dict[str, Any]) -> None:
    w, idx, g = _embedding_case(dtype)
    ours = _embedding_grads(elman, w, idx, g, **kw)
    np.testing.assert_array_equal(ours, _embedding_grads(torch, w, idx, g, **kw))  # bit for bit
    if kw:
        assert not ours[kw["padding_idx"]].any()


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
def test_embedding_backward_scaled_by_frequency(dtype: Any) -> None:
    w, idx, g = _embedding_case(dtype)
    kw = {"scale_grad_by_freq": True, "padding_idx": 1}
    ours, theirs = (
        _embedding_grads(elman, w, idx, g, **kw),
        _embedding_grads(torch, w, idx, g, **kw),
    )
    assert_close(ours, theirs, "scaled", **tol_for(dtype))


def test_embedding_backward_against_add_at_and_gradcheck() -> None:
    w, idx, g = _embedding_case(np.float64)
    expected = np.zeros_like(w)
    keep = idx != 3
    np.add.at(expected, idx[keep], g[keep])
    np.testing.assert_allclose(_embedding_grads(elman, w, idx, g, padding_idx=3), expected)
    wt = elman.tensor(w, requires_grad=True)
    small = elman.tensor(np.array([[0, 3, 5, 0], [5, 5, 1, 3]]))
    assert gradcheck(lambda a: EF.embedding(small, a) ** 2, [wt])  # (padding and frequency scaling
    # change the gradient by design: torch covers them above)


def test_embedding_backward_special_values() -> None:
    w = elman.zeros(3, 2, requires_grad=True)
    g = np.array([[[np.inf, 1.0], [np.nan, 2.0], [-np.inf, 3.0]]])
    EF.embedding(elman.tensor([[1, 0, 1]]), w).backward(elman.tensor(g))
    out = w.grad.numpy()
    assert np.isnan(out[1, 0]) and np.isnan(out[0, 0]) and out[1, 1] == 4.0 and not out[2].any()


# ---- Linear over a batch-first view ----------------------------------------------------------


def _batch_first_view(dtype: Any, L: int = 7, N: int = 3, H: int = 9) -> np.ndarray:
    """(N, L, H): the layout of the RNN's batch-first output (memory in (L, N, H))."""
    return np.random.default_rng(12).standard_normal((L, N, H)).astype(dtype).transpose(1, 0, 2)


@requires_torch
@pytest.mark.parametrize("out_features", [4, 9, 13])  # fewer, as many, more than in
@pytest.mark.parametrize("dtype", DTYPES)
def test_linear_on_a_batch_first_view_matches_torch(dtype: Any, out_features: int) -> None:
    x = _batch_first_view(dtype)
    rng = np.random.default_rng(13)
    w = rng.standard_normal((out_features, 9)).astype(dtype)
    b = rng.standard_normal(out_features).astype(dtype)

    def run(lib: Any) -> tuple[Any, ...]:
        xt = lib.tensor(np.ascontiguousarray(x.transpose(1, 0, 2)), requires_grad=True)
        wt, bt = lib.tensor(w, requires_grad=True), lib.tensor(b, requires_grad=True)
        y = lib.nn.functional.linear(xt.transpose(0, 1), wt, bt)  # (N, L, out)
        g = np.random.default_rng(14).standard_normal(tuple(y.shape)).astype(dtype)
        y.backward(lib.tensor(g))
        return y.detach().numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()

    for name, e, t in zip(("y", "dx", "dw", "db"), run(elman), run(torch), strict=True):
        assert_close(e, t, name, **tol_for(dtype))


@requires_torch
def test_linear_on_permuted_views_of_more_axes() -> None:
    base = np.random.default_rng(15).standard_normal((3, 4, 2, 8))
    w = np.random.default_rng(16).standard_normal((5, 8))
    for perm in [(1, 0, 2, 3), (2, 0, 1, 3), (1, 2, 0, 3), (0, 1, 2, 3)]:
        x = base.transpose(perm)
        parity(lambda F, a, c: F.linear(a, c), np.ascontiguousarray(x), w)  # C order
        xt = elman.tensor(base, requires_grad=True)
        tt = torch.tensor(base, requires_grad=True)
        y_e = EF.linear(xt.permute(*perm), elman.tensor(w))
        y_t = torch.nn.functional.linear(tt.permute(*perm), torch.tensor(w))
        assert_close(y_e, y_t, f"{perm} y", **tol_for(np.float64))
        g = np.random.default_rng(17).standard_normal(tuple(y_t.shape))
        y_e.backward(elman.tensor(g))
        y_t.backward(torch.tensor(g))
        assert_close(xt.grad, tt.grad, f"{perm} dx", **tol_for(np.float64))


def test_linear_on_a_batch_first_view_gradcheck_and_layout() -> None:
    x = elman.tensor(_batch_first_view(np.float64).transpose(1, 0, 2).copy(), requires_grad=True)
    w = elman.tensor(np.random.default_rng(18).standard_normal((4, 9)), requires_grad=True)
    b = elman.tensor(np.random.default_rng(19).standard_normal(4), requires_grad=True)
    assert gradcheck(lambda a, c, d: EF.linear(a.transpose(0, 1), c, d), [x, w, b])
    y = EF.linear(x.transpose(0, 1), w, b)
    assert y._data.flags.c_contiguous  # the output is C order, as torch's
    y_ref = np.matmul(x._data.transpose(1, 0, 2), w._data.T) + b._data
    np.testing.assert_allclose(y._data, y_ref, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("view", [True, False], ids=["batch-first-view", "c-order"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_linear_head_products_on_two_threads(
    monkeypatch: pytest.MonkeyPatch, dtype: Any, view: bool
) -> None:
    """A head over every step with its three products split between elman's two threads
    (forward and dX by rows, dW = g.T @ x by columns: fewer outputs than 2 x 64), on a
    batch-first view of time-major memory and on a C-order 3-D input (its leading dims
    folded into rows: one product, not one per leading index): the NumPy reference's
    values, NaN and inf where it has them; float64 gradcheck of the weight."""
    handover = pytest.importorskip("elman._kernels.handover")
    if not elman._kernels.JIT:
        pytest.skip("the compiled kernels are off: every product runs on one thread")
    split: list[tuple[int, ...]] = []
    matmul2 = handover.matmul_two_threads

    def spy(a: Any, b: Any, out: Any = None, min_work: float = 0) -> Any:
        split.append((a.shape[0], b.shape[1]))
        return matmul2(a, b, out, min_work)

    monkeypatch.setattr(handover, "matmul_two_threads", spy)
    monkeypatch.setattr(elman._kernels, "skinny_applies", lambda *a: False)  # (NumPy's path)
    monkeypatch.setattr(handover, "two_threads_allowed", lambda: True)
    monkeypatch.setattr(handover, "TWO_THREAD_PRODUCT", 1000)
    L, N, H = 40, 4, 130
    V = 5 if view else EF.SKINNY + 4  # (a C-order input folds its rows past SKINNY outputs)
    rng = np.random.default_rng(24)
    x = rng.standard_normal((L, N, H)).astype(dtype)  # time-major memory, batch-first view
    x[3, 1, 7], x[20, 2, 100] = np.nan, np.inf
    w, b = rng.standard_normal((V, H)).astype(dtype), rng.standard_normal(V).astype(dtype)
    g = rng.standard_normal((N, L, V) if view else (L, N, V)).astype(dtype)
    g[(0, 9, 2) if view else (9, 0, 2)] = -np.inf
    xt = elman.tensor(x, requires_grad=True)
    wt, bt = elman.tensor(w, requires_grad=True), elman.tensor(b, requires_grad=True)
    with np.errstate(invalid="ignore"):
        y = EF.linear(xt.transpose(0, 1) if view else xt, wt, bt)  # (N, L, V) or (L, N, V)
        y.backward(elman.tensor(g))
        ref = linear_reference(x, w, b, g, view)
    assert split == [(L * N, V), (L * N, H), (V, H)]  # forward, dX (rows), dW (columns)
    got = {"y": y, "dx": xt.grad, "dw": wt.grad}
    assert_like_reference([(k, got[k], ref[k]) for k in got], dtype)
    if dtype == np.float64:
        x_ok = elman.tensor(rng.standard_normal((L, N, H)))
        w_in = elman.tensor(w, requires_grad=True)
        assert gradcheck(lambda c: EF.linear(x_ok.transpose(0, 1), c, bt.detach()), [w_in])


# ---- cross-entropy's log-softmax -------------------------------------------------------------


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_special_values_as_torch(dtype: Any) -> None:
    x = np.random.default_rng(20).standard_normal((6, 5)).astype(dtype)
    x[1, 2], x[2, 0], x[3, :], x[4, 3] = np.nan, np.inf, -np.inf, -np.inf
    t = np.array([0, 1, 2, 3, 4, 1])
    for reduction in ("none", "sum"):
        parity(lambda F, a, b, r=reduction: F.cross_entropy(a, b, reduction=r), x, t)


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
def test_language_model_step_matches_torch(dtype: Any) -> None:
    """Embedding -> batch-first RNN -> Linear over the vocabulary -> cross-entropy."""
    V, E, H, N, L = 11, 6, 9, 4, 7
    rng = np.random.default_rng(21)
    x, y = rng.integers(0, V, (N, L)), rng.integers(0, V, N * L)
    results = []
    for lib in (elman, torch):
        lib.manual_seed(0)
        embed = lib.nn.Embedding(V, E, padding_idx=3)
        rnn = lib.nn.RNN(E, H, batch_first=True)
        fc = lib.nn.Linear(H, V)
        params = [*embed.parameters(), *rnn.parameters(), *fc.parameters()]
        if lib is torch:  # elman's initial weights
            with torch.no_grad():
                for p, q in zip(params, results[0][1], strict=True):
                    p.copy_(torch.from_numpy(q))
        else:
            results.append((None, [p.detach().numpy().copy() for p in params]))
        for p in params:
            p.data = p.data.double() if dtype == np.float64 else p.data
        out = fc(rnn(embed(lib.tensor(x)))[0])
        loss = lib.nn.functional.cross_entropy(out.reshape(-1, V), lib.tensor(y))
        loss.backward()
        results.append((loss.detach().numpy(), [p.grad.numpy() for p in params]))
    (le, ge), (lt, gt) = results[1], results[2]
    assert_close(le, lt, "loss", **tol_for(dtype))
    for k, (a, b) in enumerate(zip(ge, gt, strict=True)):
        assert_close(a, b, f"grad {k}", **tol_for(dtype))


def _ce_general(x: Any, t: Any, **kw: Any) -> Any:
    """cross_entropy by the general node (class weights of ones take it there)."""
    return EF.cross_entropy(x, t, weight=elman.ones(x.shape[1], dtype=x.dtype), **kw)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_rows_path_equals_the_general_node(dtype: Any, reduction: str) -> None:
    """The (M, C) int64 case runs its own node (one compiled pass each way): the same losses
    and gradients as the general node, special values and ignored rows included."""
    x = np.random.default_rng(22).standard_normal((40, 7)).astype(dtype) * 3
    x[1, 2], x[2, 0], x[3, :], x[4, 3] = np.nan, np.inf, -np.inf, -np.inf
    t = np.random.default_rng(23).integers(0, 7, 40)
    t[[5, 9, 3]] = -100
    out = []
    for ce in (EF.cross_entropy, _ce_general):
        xt = elman.tensor(x, requires_grad=True)
        loss = ce(xt, elman.tensor(t), reduction=reduction)
        loss.backward(elman.tensor(np.linspace(0.5, 1.5, loss.numel()).reshape(loss.shape)))
        out.append((loss, xt.grad, loss.grad_fn.name()))
    (l1, g1, n1), (l2, g2, n2) = out
    assert n1 == n2 == "NllLossBackward0"
    assert_close(l1, l2, "loss", **tol_for(dtype))
    assert_close(g1, g2, "grad", **tol_for(dtype))  # (nan and inf at the same places)
    small = elman.tensor(x[5:12].astype(np.float64), requires_grad=True)
    target = elman.tensor(t[5:12])
    assert gradcheck(lambda a: EF.cross_entropy(a, target, reduction=reduction), [small])


def test_cross_entropy_rows_path_checks_targets_in_its_pass() -> None:
    x = elman.ones(4, 5, requires_grad=True)
    with pytest.raises(IndexError, match="^Target 7 is out of bounds.$"):
        EF.cross_entropy(x, elman.tensor([1, 7, -3, 2]))
    with pytest.raises(IndexError, match="^Target -3 is out of bounds.$"):
        EF.cross_entropy(x, elman.tensor([1, -100, -3, 2]))
    loss = EF.cross_entropy(x, elman.tensor([1, 2, 2, 2]), ignore_index=2)  # inside: ignored
    loss.backward()
    np.testing.assert_allclose(loss.item(), np.log(5.0), rtol=1e-6)
    assert not x.grad.numpy()[1:].any()
    with elman.no_grad():  # no node: the same value
        assert EF.cross_entropy(x, elman.tensor([1, 2, 2, 2]), ignore_index=2).item() == loss.item()


@requires_torch
@pytest.mark.parametrize("kw", [{}, {"weight": 1}, {"label_smoothing": 0.2}], ids=str)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_ignored_rows_of_nan_or_inf_lose_nothing(reduction: str, kw: Any) -> None:
    """torch's loss of an ignored row is 0 whatever its logits (its gradient p * 0 stays nan)."""
    x = np.array([[-np.inf] * 3, [1.0, 2.0, 3.0], [np.nan, 1.0, 2.0], [np.inf, 0, 1]])
    t = np.array([-100, 1, -100, -100])
    w = np.array([1.0, 2.0, 0.5])

    def ce(F: Any, a: Any, b: Any, c: Any) -> Any:
        extra = {"weight": c} if "weight" in kw else {k: v for k, v in kw.items()}
        return F.cross_entropy(a, b, reduction=reduction, **extra)

    out, _ = parity(ce, x, t, w, grad=[True, False, False])
    assert np.isfinite(out.detach().numpy()).all()


def test_linear_input_gradient_from_the_scratch_pool_is_never_shared() -> None:
    """A large input gradient of Linear comes from the scratch pool (no fresh pages every
    step): what a caller holds of one backward is never overwritten by the next."""
    rng = np.random.default_rng(24)
    x_data = rng.standard_normal((50, 32, 128)).astype(np.float32)  # (L, N, H): 800 KB of dx
    w = elman.tensor(rng.standard_normal((16, 128)).astype(np.float32), requires_grad=True)
    grads, expected = [], []
    for _ in range(3):
        x = elman.tensor(x_data, requires_grad=True)
        y = EF.linear(x.transpose(0, 1), w)  # (N, L, 16), the input read in memory order
        g = rng.standard_normal((32, 50, 16)).astype(np.float32)
        y.backward(elman.tensor(g))
        grads.append(x.grad)
        expected.append(np.matmul(g, w.detach().numpy()).transpose(1, 0, 2))
    for k, (got, want) in enumerate(zip(grads, expected, strict=True)):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-4, err_msg=f"step {k}")


@pytest.mark.parametrize("index", [(slice(None), -1), (slice(1, None), [0, 0, 2])], ids=str)
def test_slice_gradient_comes_in_its_inputs_layout(index: Any) -> None:
    """The last step of a batch-first RNN output (a (N, L, H) view of (L, N, H) memory):
    the slice's gradient is laid out as that memory, so the RNN's backward reads it without
    a transposing copy; the values are NumPy's."""
    rng = np.random.default_rng(25)
    base = elman.tensor(rng.standard_normal((5, 3, 4)), requires_grad=True)  # (L, N, H)
    view = base * 1.0  # (a node between: the slice's gradient is not a leaf's copy)
    seen = {}

    class Spy(elman.autograd.Function):
        @staticmethod
        def forward(ctx: Any, a: np.ndarray) -> np.ndarray:
            return a

        @staticmethod
        def backward(ctx: Any, g: np.ndarray) -> np.ndarray:
            seen["g"] = g
            return g

    picked = Spy.apply(view).transpose(0, 1)[index]  # (N, L, H) view, then the slice
    g = rng.standard_normal(tuple(picked.shape))
    picked.backward(elman.tensor(g))
    expected = np.zeros((3, 5, 4))
    if isinstance(index[1], list):
        np.add.at(expected, index, g)
    else:
        expected[index] = g
    np.testing.assert_array_equal(base.grad.numpy(), expected.transpose(1, 0, 2))
    assert seen["g"].flags.c_contiguous  # (L, N, H) memory: the Spy saw it in its layout
