"""Sequential, Dropout, Embedding and Identity against torch, and models that train.

Layers are compared through :func:`nn_parity.parity` (values and every input's gradient)
or, for modules with parameters, by building them in both libraries from the same seed
(weights bit-identical) and comparing outputs and parameter gradients. The end-to-end tests
run a few manual SGD steps of user-defined Modules in both libraries side by side.
"""

from __future__ import annotations

import doctest
from collections import OrderedDict
from typing import Any

import numpy as np
import pytest
from nn_parity import DTYPES, one_torch_thread, parity, tol_for  # noqa: F401  (a fixture)

import elman
import elman.nn.functional as EF
from conftest import TORCH, assert_close, requires_torch

torch = TORCH
TORCH_DTYPE = {} if torch is None else {np.float32: torch.float32, np.float64: torch.float64}


def _same_weights(em: Any, tm: Any) -> None:
    """The two modules' state dicts hold bit-identical arrays under the same names."""
    es, ts = em.state_dict(), tm.state_dict()
    assert list(es) == list(ts)
    for k in es:
        np.testing.assert_array_equal(es[k].numpy(), ts[k].numpy(), err_msg=k)


def _same_grads(em: Any, tm: Any, dtype: Any) -> None:
    for (name, ep), (_, tp) in zip(em.named_parameters(), tm.named_parameters(), strict=True):
        assert ep.grad is not None, f"{name}: no grad"
        assert_close(ep.grad, tp.grad, name, **tol_for(dtype))


# ---- Sequential -----------------------------------------------------------------------------


def _blocks(lib: Any) -> list[Any]:
    nn = lib.nn
    return [nn.Linear(4, 3), nn.Dropout(0.25), nn.Identity(), nn.Linear(3, 2)]


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("train", [True, False])
def test_sequential_matches_torch(dtype: Any, train: bool) -> None:
    elman.manual_seed(3)
    em = elman.nn.Sequential(*_blocks(elman)).to(dtype).train(train)
    torch.manual_seed(3)
    tm = torch.nn.Sequential(*_blocks(torch)).to(TORCH_DTYPE[dtype]).train(train)
    _same_weights(em, tm)
    assert repr(em) == repr(tm)
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(dtype)
    parity(lambda F, a: (em if F is EF else tm)(a), x)  # same dropout mask: same seed
    _same_grads(em, tm, dtype)


@requires_torch
def test_sequential_ordered_dict_and_container_protocol() -> None:
    blocks = {lib: _blocks(lib) for lib in (elman, torch)}
    es = elman.nn.Sequential(OrderedDict(zip("abcd", blocks[elman], strict=True)))
    ts = torch.nn.Sequential(OrderedDict(zip("abcd", blocks[torch], strict=True)))
    assert repr(es) == repr(ts)
    assert [n for n, _ in es.named_parameters()] == [n for n, _ in ts.named_parameters()]
    assert len(es) == 4 and list(es) == blocks[elman]
    assert es[0] is blocks[elman][0] and es[-1] is blocks[elman][3]
    tail = es[1:]
    assert isinstance(tail, elman.nn.Sequential) and list(tail._modules) == ["b", "c", "d"]
    assert repr(tail) == repr(ts[1:])
    es = elman.nn.Sequential(*blocks[elman])
    ts = torch.nn.Sequential(*blocks[torch])
    for seq in (es, ts):  # the same edits on both, then the same structure
        seq.append(type(seq[2])())
        seq.insert(1, type(seq[2])())
        seq[0] = type(seq[2])()
        del seq[-2]
        seq.pop(2)
        seq.extend([type(seq[2])()])
    assert repr(es) == repr(ts)
    assert repr(es + elman.nn.Sequential(elman.nn.Identity())) == repr(
        ts + torch.nn.Sequential(torch.nn.Identity())
    )
    es += elman.nn.Sequential(elman.nn.Identity())
    ts += torch.nn.Sequential(torch.nn.Identity())
    assert repr(es) == repr(ts)
    assert repr(elman.nn.Sequential()) == repr(torch.nn.Sequential()) == "Sequential()"
    x = elman.ones(2)
    assert elman.nn.Sequential()(x) is x


@requires_torch
def test_sequential_errors_match_torch() -> None:
    cases = [
        (lambda lib: lib.nn.Sequential(3), TypeError),
        (lambda lib: lib.nn.Sequential({"a": lib.nn.Identity()}), TypeError),
        (lambda lib: lib.nn.Sequential(lib.nn.Identity())[1], IndexError),
        (lambda lib: lib.nn.Sequential(lib.nn.Identity())[-2], IndexError),
        (lambda lib: lib.nn.Sequential(lib.nn.Identity())["0"], TypeError),
        (lambda lib: lib.nn.Sequential().append(3), TypeError),
        (lambda lib: lib.nn.Sequential().insert(2, lib.nn.Identity()), IndexError),
        (lambda lib: lib.nn.Sequential() + [lib.nn.Identity()], ValueError),
    ]
    for case, exc in cases:
        with pytest.raises(exc) as got:
            case(elman)
        with pytest.raises(exc) as want:
            case(torch)
        assert str(got.value) == str(want.value)


# ---- Identity -------------------------------------------------------------------------------


def test_identity() -> None:
    x = elman.tensor([1.0, 2.0], requires_grad=True)
    ident = elman.nn.Identity(3, any_keyword=True)
    assert ident(x) is x and repr(ident) == "Identity()"
    assert list(ident.parameters()) == []


# ---- Dropout --------------------------------------------------------------------------------


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [0.0, 0.1, 0.5, 0.9, 1.0])
@pytest.mark.parametrize("shape", [(7,), (3, 40), (2, 3, 5)], ids=str)
def test_dropout_masks_and_grads_match_torch(shape: Any, p: float, dtype: Any) -> None:
    x = np.random.default_rng(1).uniform(0.5, 1.5, shape).astype(dtype)
    out, _ = parity(lambda F, a: F.dropout(a, p=p), x)
    kept = out.detach().numpy() != 0
    scale = (
        np.asarray(1, dtype) / np.asarray(1 - p, dtype) if p < 1 else 0
    )  # torch: x * (1 / (1-p))
    np.testing.assert_array_equal(out.detach().numpy()[kept], (x * scale)[kept])
    # and the module, from the same generator state
    parity(lambda F, a: (elman.nn.Dropout(p) if F is EF else torch.nn.Dropout(p))(a), x)


@requires_torch
def test_dropout_generator_stream_continues_like_torch() -> None:
    """Consecutive masks keep matching: both consume the same number of draws per call."""
    ed, td = elman.nn.Dropout(0.3), torch.nn.Dropout(0.3)
    for shape in [(5,), (17, 3), (1,), (64,)]:
        e = ed(elman.ones(*shape)).numpy()
        t = td(torch.ones(*shape)).numpy()
        np.testing.assert_array_equal(e, t)


def test_dropout_eval_identity_and_empty() -> None:
    x = elman.tensor([1.0, 2.0])
    drop = elman.nn.Dropout(0.5)
    assert drop.eval()(x) is x
    assert EF.dropout(x, 0.5, training=False) is x
    empty = elman.zeros(0)
    assert EF.dropout(empty, 0.5) is empty
    state = elman.get_rng_state()
    EF.dropout(x, 1.0)  # p = 1 zeroes without drawing, as torch
    np.testing.assert_array_equal(elman.get_rng_state(), state)


@requires_torch
def test_dropout_inplace() -> None:
    x = np.ones((4, 6), np.float32)
    e, t = elman.tensor(x), torch.tensor(x)
    assert EF.dropout(e, 0.5, inplace=True) is e
    TF_out = torch.nn.functional.dropout(t, 0.5, inplace=True)
    np.testing.assert_array_equal(e.numpy(), TF_out.numpy())
    assert repr(elman.nn.Dropout(0.2, inplace=True)) == repr(torch.nn.Dropout(0.2, inplace=True))
    leaf = elman.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        EF.dropout(leaf, inplace=True)
    # in the graph: a new tensor with the same values and gradients (differences.md)
    mid = leaf * 2
    out = EF.dropout(mid, 0.5, inplace=True)
    out.sum().backward()
    np.testing.assert_array_equal(leaf.grad.numpy(), 2 * (out.detach().numpy() != 0) * 2)


@requires_torch
@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_dropout_errors_match_torch(p: float) -> None:
    for make in (
        lambda lib: lib.nn.Dropout(p),
        lambda lib: lib.nn.functional.dropout(lib.ones(2), p),
    ):
        with pytest.raises(ValueError) as got:
            make(elman)
        with pytest.raises(ValueError) as want:
            make(torch)
        assert str(got.value) == str(want.value)


# ---- Embedding ------------------------------------------------------------------------------

EMB_CONFIGS = {
    "plain": {},
    "padding": {"padding_idx": 2},
    "padding-negative": {"padding_idx": -1},
    "freq": {"scale_grad_by_freq": True, "padding_idx": 0},
    "max_norm": {"max_norm": 1.5},
    "max_norm-l1": {"max_norm": 2.0, "norm_type": 1.0},
}


def _embeddings(dtype: Any, **kw: Any) -> tuple[Any, Any]:
    elman.manual_seed(5)
    em = elman.nn.Embedding(7, 4, dtype=dtype, **kw)
    torch.manual_seed(5)
    tm = torch.nn.Embedding(7, 4, dtype=TORCH_DTYPE[dtype], **kw)
    return em, tm


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("config", EMB_CONFIGS)
def test_embedding_matches_torch(config: str, dtype: Any) -> None:
    kw = EMB_CONFIGS[config]
    em, tm = _embeddings(dtype, **kw)
    _same_weights(em, tm)  # N(0, 1) init, bit for bit; padding row zero
    assert repr(em) == repr(tm)
    idx = np.array([[0, 2, 6, 2], [1, 2, 3, 6]])  # repeats, the padding row, the last row
    eo, to = em(elman.tensor(idx)), tm(torch.tensor(idx))
    assert_close(eo, to, "output", **tol_for(dtype))
    cot = np.random.default_rng(2).standard_normal(to.shape).astype(dtype)
    eo.backward(elman.tensor(cot))
    to.backward(torch.tensor(cot))
    _same_grads(em, tm, dtype)
    assert_close(em.weight, tm.weight, "weight after max_norm", **tol_for(dtype))
    if "padding_idx" in kw:
        assert not em.weight.grad.numpy()[em.padding_idx].any()


@requires_torch
def test_embedding_index_forms() -> None:
    em, tm = _embeddings(np.float32)
    for idx in (np.array(3), np.arange(7), np.zeros((2, 0), np.int64), np.array([[1], [5]])):
        assert_close(em(elman.tensor(idx)), tm(torch.tensor(idx)), str(idx.shape))
    idx32 = np.array([1, 4], np.int32)
    assert_close(em(elman.tensor(idx32)), tm(torch.tensor(idx32)), "int32")
    assert_close(em([1, 4]), tm(torch.tensor([1, 4])), "list")


@requires_torch
def test_embedding_from_pretrained_and_functional() -> None:
    w = np.random.default_rng(3).standard_normal((5, 3))
    em = elman.nn.Embedding.from_pretrained(elman.tensor(w), padding_idx=1)
    tm = torch.nn.Embedding.from_pretrained(torch.tensor(w), padding_idx=1)
    assert repr(em) == repr(tm) and em.weight.requires_grad is tm.weight.requires_grad is False
    assert em.weight.dtype == np.float64
    em2 = elman.nn.Embedding.from_pretrained(elman.tensor(w), freeze=False)
    assert em2.weight.requires_grad
    idx = np.array([[4, 1, 1, 0]])
    indices = {EF: elman.tensor(idx), torch.nn.functional: torch.tensor(idx)}
    parity(lambda F, a: F.embedding(indices[F], a, padding_idx=1), w)
    parity(lambda F, a: F.embedding(indices[F], a, scale_grad_by_freq=True), w)


PAD = "Padding_idx must be within num_embeddings"
EMB_ERRORS = [  # (make, exception, the start both messages share)
    (lambda lib: lib.nn.functional.embedding(lib.tensor([0, 5]), lib.ones(5, 2)), IndexError,
     "index out of range in self"),
    (lambda lib: lib.nn.functional.embedding(lib.tensor([-1]), lib.ones(5, 2)), IndexError,
     "index out of range in self"),
    (lambda lib: lib.nn.functional.embedding(lib.tensor([1]), lib.ones(5)), RuntimeError,
     "'weight' must be 2-D"),
    (lambda lib: lib.nn.functional.embedding(lib.tensor([1.0]), lib.ones(5, 2)), RuntimeError,
     "Expected tensor for argument #1 'indices' to have one of the following scalar types: "),
    (lambda lib: lib.nn.functional.embedding(lib.tensor([1]), lib.ones(5, 2), 5), AssertionError,
     PAD),
    (lambda lib: lib.nn.functional.embedding(lib.tensor([1]), lib.ones(5, 2), -6),
     AssertionError, PAD),
    (lambda lib: lib.nn.Embedding(5, 3, padding_idx=5), AssertionError, PAD),
    (lambda lib: lib.nn.Embedding(5, 3, _weight=lib.ones(3, 3)), AssertionError,
     "Shape of weight does not match num_embeddings and embedding_dim"),
    (lambda lib: lib.nn.Embedding.from_pretrained(lib.ones(4)), AssertionError,
     "Embeddings parameter is expected to be 2-dimensional"),
]  # fmt: skip


@requires_torch
@pytest.mark.parametrize("case", range(len(EMB_ERRORS)))
def test_embedding_errors(case: int) -> None:
    make, exc, start = EMB_ERRORS[case]
    with pytest.raises(exc) as got:
        make(elman)
    with pytest.raises(exc) as want:
        make(torch)
    # torch's texts; elman adds the offending index, and names NumPy dtypes
    assert str(got.value).startswith(start) and str(want.value).startswith(start)


def test_embedding_elman_specifics() -> None:
    with pytest.raises(IndexError, match=r"index 9 is not in \[0, 5\)"):
        elman.nn.Embedding(5, 2)(elman.tensor([1, 9]))
    with pytest.raises(ValueError, match="num_embeddings must be zero or greater"):
        elman.nn.Embedding(-1, 2)
    emb = elman.nn.Embedding(4, 2, sparse=True)  # accepted; the gradient is dense
    emb(elman.tensor([1, 1])).sum().backward()
    np.testing.assert_array_equal(emb.weight.grad.numpy(), [[0, 0], [2, 2], [0, 0], [0, 0]])
    assert elman.nn.Embedding(0, 3).weight.shape == (0, 3)


# ---- models that train ----------------------------------------------------------------------


def simple_rnn(lib: Any, D: int, M: int, K: int) -> Any:
    """The seed's SimpleRNN (RNN + Linear), written once for either library."""
    nn = lib.nn

    class SimpleRNN(nn.Module):  # type: ignore[name-defined,misc]
        def __init__(self) -> None:
            super().__init__()
            self.rnn = nn.RNN(input_size=D, hidden_size=M, nonlinearity="tanh", batch_first=True)
            self.fc = nn.Linear(M, K)

        def forward(self, X: Any) -> Any:
            h0 = lib.zeros(1, X.size(0), M, dtype=X.dtype)
            out, _ = self.rnn(X, h0)
            return self.fc(out)

    return SimpleRNN()


def token_model(lib: Any, V: int, E: int, H: int, K: int) -> Any:
    """Embedding -> RNN -> Dropout -> Linear over the last step: a small classifier."""
    nn = lib.nn

    class Classifier(nn.Module):  # type: ignore[name-defined,misc]
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(V, E, padding_idx=0)
            self.rnn = nn.RNN(E, H, batch_first=True)
            self.head = nn.Sequential(nn.Dropout(0.2), nn.Linear(H, K))

        def forward(self, tokens: Any) -> Any:
            out, _ = self.rnn(self.embed(tokens))
            return self.head(out[:, -1])

    return Classifier()


def _sgd_side_by_side(
    models: dict[Any, Any],
    batches: dict[Any, tuple[Any, Any]],
    loss_name: str,
    dtype: Any,
    clip: float | None = None,
    steps: int = 4,
) -> None:
    lr = 0.1
    initial = [p.detach().numpy().copy() for p in models[elman].parameters()]
    for step in range(steps):
        losses = {}
        for lib, model in models.items():
            x, y = batches[lib]
            model.zero_grad()
            loss = getattr(lib.nn, loss_name)()(model(x), y)
            loss.backward()
            for name, p in model.named_parameters():
                assert p.grad is not None, f"{name} has no grad at step {step}"
            if clip is not None:
                norm = lib.nn.utils.clip_grad_norm_(model.parameters(), clip)
                losses[lib, "norm"] = norm
            with lib.no_grad():
                for p in model.parameters():
                    p -= lr * p.grad
            losses[lib] = loss
        assert_close(losses[elman], losses[torch], f"loss at step {step}", **tol_for(dtype))
        if clip is not None:
            assert_close(losses[elman, "norm"], losses[torch, "norm"], "norm", **tol_for(dtype))
        em, tm = models[elman], models[torch]
        for (name, ep), (_, tp) in zip(em.named_parameters(), tm.named_parameters(), strict=True):
            assert_close(ep, tp, f"{name} after step {step}", **tol_for(dtype))
    for (name, p), before in zip(models[elman].named_parameters(), initial, strict=True):
        assert not np.array_equal(p.detach().numpy(), before), f"{name} never moved"


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
def test_simple_rnn_trains_like_torch(dtype: Any) -> None:
    N, T, D, M, K = 3, 6, 3, 5, 2
    models = {}
    for lib in (elman, torch):
        lib.manual_seed(0)
        models[lib] = simple_rnn(lib, D, M, K).to(TORCH_DTYPE[dtype] if lib is torch else dtype)
    _same_weights(models[elman], models[torch])
    rng = np.random.default_rng(0)
    X, Y = (
        rng.standard_normal((N, T, D)).astype(dtype),
        rng.standard_normal((N, T, K)).astype(dtype),
    )
    batches = {lib: (lib.from_numpy(X), lib.from_numpy(Y)) for lib in (elman, torch)}
    _sgd_side_by_side(models, batches, "MSELoss", dtype)


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
def test_token_classifier_trains_like_torch(dtype: Any) -> None:
    """Embedding, RNN, dropout in training mode, cross-entropy and gradient clipping: the same
    seed gives the same weights and dropout masks, so every step matches torch's."""
    V, E, H, K, N, T = 11, 4, 6, 3, 5, 7
    models = {}
    for lib in (elman, torch):
        lib.manual_seed(1)
        models[lib] = token_model(lib, V, E, H, K).to(TORCH_DTYPE[dtype] if lib is torch else dtype)
    _same_weights(models[elman], models[torch])
    rng = np.random.default_rng(1)
    tokens, labels = rng.integers(0, V, (N, T)), rng.integers(0, K, N)
    batches = {lib: (lib.from_numpy(tokens), lib.from_numpy(labels)) for lib in (elman, torch)}
    for lib in (elman, torch):
        lib.manual_seed(2)  # the dropout masks
    _sgd_side_by_side(models, batches, "CrossEntropyLoss", dtype, clip=0.5)


def test_doctests() -> None:
    from elman.nn import functional, functional_embedding, layers

    for module in (layers, functional_embedding, functional):
        failed, attempted = doctest.testmod(module, raise_on_error=False, verbose=False)
        assert attempted > 0 and failed == 0, module.__name__
