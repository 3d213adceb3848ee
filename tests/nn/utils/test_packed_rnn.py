"""RNN on packed input: every number against torch (live, and the committed golden fixtures)
through ``pack_padded_sequence -> RNN -> pad_packed_sequence`` and through elman's
``RNN(x, hx, lengths=...)``; the behaviour of packed input (layout kept, batch_first
ignored, each sequence equal to its own unbatched run) and its float64 gradcheck.
"""

from __future__ import annotations

import itertools
import json
import zlib
from typing import Any

import numpy as np
import pytest
from packed_cases import (
    GOLDEN,
    LIVE,
    Case,
    _fixed_weights,  # noqa: F401  (an autouse fixture)
    _lib_utils,
    _packed_input,
    build_rnn,
    compare,
    make_data,
    run_packed,
)

import elman
from conftest import (
    TORCH,
    assert_close,
    expect_dropout_warning,
    requires_torch,
    to_numpy,
    torch_rnn_like,
)
from elman.nn.utils import rnn as U


def test_live_cases_cover_every_argument() -> None:
    assert len(LIVE) >= 100
    combos = {
        (c.num_layers, c.nonlinearity, c.bias, c.batch_first, c.bidirectional, c.dtype)
        for c in LIVE
    }
    assert len(combos) == 3 * 2**5
    for field in ("enforce_sorted", "with_hx"):
        assert {getattr(c, field) for c in LIVE} == {True, False}, field
    assert any(1 in c.lengths and c.T > 1 for c in LIVE)
    assert any(c.T in c.lengths and min(c.lengths) < c.T for c in LIVE)
    assert any(max(c.lengths) < c.T for c in LIVE)  # total_length pads past the longest
    assert any(len(set(c.lengths)) < len(c.lengths) for c in LIVE)  # ties
    assert any(list(c.lengths) != sorted(c.lengths, reverse=True) for c in LIVE)
    assert {1, 6} <= {len(c.lengths) for c in LIVE} and 1 in {c.T for c in LIVE}


# ---- live differential tests against torch ------------------------------------------------


@requires_torch
@pytest.mark.parametrize("case", LIVE, ids=str)
def test_packed_rnn_matches_torch(case: Case) -> None:
    rnn = build_rnn(case)
    data = make_data(case, seed=zlib.crc32(str(case).encode()))
    kw = {"batch_first": case.batch_first, "enforce_sorted": case.enforce_sorted, "T": case.T}
    expected = run_packed(TORCH, torch_rnn_like(rnn, case.dtype), data, **kw)
    compare(run_packed(elman, rnn, data, **kw), expected, str(case))
    rnn.zero_grad()
    compare(run_packed(elman, rnn, data, via="lengths", **kw), expected, str(case), "lengths")


@requires_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_training_dropout_on_packed_input_matches_torch(dtype: str, enforce_sorted: bool) -> None:
    """Dropout acts on the packed data between layers; elman draws torch's masks."""
    lengths = (5, 3, 3, 1) if enforce_sorted else (3, 5, 1, 3)
    case = Case(3, 4, 3, "tanh", True, False, True, dtype, 5, lengths, enforce_sorted, True)
    rnn = elman.nn.RNN(3, 4, 3, dropout=0.4, bidirectional=True, dtype=dtype)
    assert rnn.training
    data = make_data(case, seed=5)
    kw = {"batch_first": False, "enforce_sorted": enforce_sorted, "T": 5, "seed": 123}
    expected = run_packed(TORCH, torch_rnn_like(rnn, dtype), data, **kw)
    compare(run_packed(elman, rnn, data, **kw), expected, "train")
    rnn.zero_grad()
    compare(run_packed(elman, rnn, data, via="lengths", **kw), expected, "train", "lengths")
    rnn.zero_grad()
    rnn.eval()  # the masks did act: eval gives other numbers
    evaluated = run_packed(elman, rnn, data, **kw)
    assert not np.allclose(evaluated["out"], expected["out"])


# ---- golden fixtures (no torch needed) ----------------------------------------------------


def golden() -> dict[str, dict[str, np.ndarray]]:
    cases: dict[str, dict[str, np.ndarray]] = {}
    with np.load(GOLDEN, allow_pickle=False) as npz:
        for key in npz.files:
            case, _, rest = key.partition("/")
            cases.setdefault(case, {})[rest] = npz[key]
    return cases


GOLD = golden()
GOLD_RNN = sorted(k for k in GOLD if k.startswith("rnn"))


def test_golden_file_is_small_and_complete() -> None:
    assert GOLDEN.stat().st_size < 1_000_000
    assert len(GOLD_RNN) >= 18 and {"ties17", "ties40", "ties300", "padseq"} <= set(GOLD)
    configs = [json.loads(str(GOLD[k]["config"])) for k in GOLD_RNN]
    assert {c["enforce_sorted"] for c in configs} == {True, False}
    assert {c["training"] for c in configs} == {True, False}


@pytest.mark.parametrize("via", ["packed", "lengths"])
@pytest.mark.parametrize("name", GOLD_RNN)
def test_packed_rnn_matches_golden(name: str, via: str) -> None:
    stored = GOLD[name]
    cfg = json.loads(str(stored["config"]))
    with expect_dropout_warning(cfg["module"]["dropout"], cfg["module"]["num_layers"]):
        rnn = elman.nn.RNN(**cfg["module"], dtype=cfg["dtype"])
    rnn.load_state_dict({k[6:]: v for k, v in stored.items() if k.startswith("param/")})
    rnn.train(cfg["training"])
    data = {k: stored.get(k) for k in ("x", "hx", "gy", "gh", "lengths")}
    expected = {k: v for k, v in stored.items() if k.startswith(("out", "hn", "grad/", "packed"))}
    actual = run_packed(
        elman,
        rnn,
        data,
        batch_first=cfg["module"]["batch_first"],
        enforce_sorted=cfg["enforce_sorted"],
        T=cfg["T"],
        via=via,
        seed=cfg["dropout_seed"] if cfg["training"] else None,
    )
    compare(actual, expected, name, via)


@pytest.mark.parametrize("name", ["ties17", "ties40", "ties300"])
def test_ties_are_ordered_as_torch_orders_them(name: str) -> None:
    """Above 16 sequences torch's sort does not keep equal lengths in order; nor does elman."""
    stored = GOLD[name]
    packed = U.pack_padded_sequence(stored["x"], stored["lengths"], enforce_sorted=False)
    for key in ("data", "batch_sizes", "sorted_indices"):
        np.testing.assert_array_equal(to_numpy(getattr(packed, key)), stored[key], err_msg=key)
    stable = np.argsort(-stored["lengths"], kind="stable")
    assert not np.array_equal(stored["sorted_indices"], stable)  # the case is not trivial


def test_pad_sequence_matches_golden() -> None:
    stored = GOLD["padseq"]
    seqs = [elman.tensor(stored[f"seq{i}"]) for i in range(4)]
    for side, bf in itertools.product(("right", "left"), (False, True)):
        out = U.pad_sequence(seqs, batch_first=bf, padding_value=-1.5, padding_side=side)
        want = stored[f"out/{side}_{'bf' if bf else 'tm'}"]
        np.testing.assert_array_equal(to_numpy(out), want, err_msg=f"{side} {bf}")


# ---- RNN on packed input: behaviour -------------------------------------------------------


def _weights_like(rnn: elman.nn.RNN, **kwargs: Any) -> elman.nn.RNN:
    other = elman.nn.RNN(
        rnn.input_size,
        rnn.hidden_size,
        rnn.num_layers,
        bidirectional=rnn.bidirectional,
        dtype=rnn.weight_ih_l0.dtype,
        **kwargs,
    )
    other.load_state_dict(rnn.state_dict())
    return other


def test_batch_first_is_ignored_for_packed_input() -> None:
    rng = np.random.default_rng(12)
    rnn = elman.nn.RNN(3, 4, 2, bidirectional=True, dtype=elman.float64)
    twin = _weights_like(rnn, batch_first=True)
    packed = U.pack_padded_sequence(rng.standard_normal((5, 3, 3)), [2, 5, 3], enforce_sorted=False)
    hx = elman.tensor(rng.standard_normal((4, 3, 4)))
    (out_a, hn_a), (out_b, hn_b) = rnn(packed, hx), twin(packed, hx)
    np.testing.assert_array_equal(to_numpy(out_a.data), to_numpy(out_b.data))
    np.testing.assert_array_equal(to_numpy(hn_a), to_numpy(hn_b))
    assert out_a.data.shape == (10, 8) and hn_a.shape == (4, 3, 4)


@requires_torch
def test_batch_first_is_ignored_for_packed_input_in_torch_too() -> None:
    rng = np.random.default_rng(13)
    rnn = elman.nn.RNN(3, 4, 2, batch_first=True, dtype=elman.float64)
    x = rng.standard_normal((5, 3, 3))  # time-major, although the module is batch_first
    outs = []
    for lib, module in ((elman, rnn), (TORCH, torch_rnn_like(rnn, "float64"))):
        packed = _lib_utils(lib).pack_padded_sequence(
            lib.tensor(x), [2, 5, 3], enforce_sorted=False
        )
        out, hn = module(packed)
        outs.append((out.data, hn))
    for got, want in zip(outs[0], outs[1], strict=True):
        assert_close(got, want, "batch_first packed")


@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_output_packed_sequence_keeps_the_layout(enforce_sorted: bool) -> None:
    rnn = elman.nn.RNN(3, 2, bidirectional=True)
    packed = _packed_input(elman, enforce_sorted)
    out, hn = rnn(packed)
    assert isinstance(out, U.PackedSequence)
    assert out.data.shape == (11, 4) and hn.shape == (2, 3, 2)
    assert out.batch_sizes.tolist() == packed.batch_sizes.tolist() == [3, 3, 2, 2, 1]
    if enforce_sorted:
        assert out.sorted_indices is None and out.unsorted_indices is None
    else:
        assert out.sorted_indices.tolist() == packed.sorted_indices.tolist() == [0, 2, 1]
        assert out.unsorted_indices.tolist() == packed.unsorted_indices.tolist() == [0, 2, 1]


def test_no_grad_on_packed_input() -> None:
    rng = np.random.default_rng(14)
    rnn = elman.nn.RNN(3, 4, 2, bidirectional=True, dtype=elman.float64)
    x = elman.tensor(rng.standard_normal((5, 3, 3)), requires_grad=True)
    hx = elman.tensor(rng.standard_normal((4, 3, 4)), requires_grad=True)
    packed = U.pack_padded_sequence(x, [5, 2, 4], enforce_sorted=False)
    out, hn = rnn(packed, hx)
    assert out.data.requires_grad and hn.requires_grad
    with elman.no_grad():
        packed_ng = U.pack_padded_sequence(x, [5, 2, 4], enforce_sorted=False)
        out_ng, hn_ng = rnn(packed_ng, hx)
        padded_ng, _ = U.pad_packed_sequence(out_ng)
        via_lengths, hn_len = rnn(x, hx, lengths=[5, 2, 4])
    for t in (packed_ng.data, out_ng.data, hn_ng, padded_ng, via_lengths, hn_len):
        assert not t.requires_grad and t.grad_fn is None
    np.testing.assert_array_equal(to_numpy(out_ng.data), to_numpy(out.data))
    np.testing.assert_array_equal(to_numpy(hn_ng), to_numpy(hn))
    np.testing.assert_array_equal(to_numpy(via_lengths), to_numpy(padded_ng))


def test_lengths_keyword_is_pack_rnn_pad() -> None:
    """``rnn(x, hx, lengths=)`` is bitwise pack(enforce_sorted=False) -> rnn -> pad(T)."""
    rng = np.random.default_rng(15)
    for bf in (False, True):
        rnn = elman.nn.RNN(2, 3, 2, bidirectional=True, batch_first=bf, dtype=elman.float64)
        x_np = rng.standard_normal((4, 6, 2) if bf else (6, 4, 2))
        h_np = rng.standard_normal((4, 4, 3))
        lengths = [3, 5, 1, 3]  # unsorted, with a tie, shorter than T = 6
        results = []
        for via in ("lengths", "explicit"):
            x = elman.tensor(x_np, requires_grad=True)
            hx = elman.tensor(h_np, requires_grad=True)
            if via == "lengths":
                out, hn = rnn(x, hx, lengths=lengths)
            else:
                packed = U.pack_padded_sequence(x, lengths, batch_first=bf, enforce_sorted=False)
                packed_out, hn = rnn(packed, hx)
                out, _ = U.pad_packed_sequence(packed_out, batch_first=bf, total_length=6)
            (out.sum() + (hn * hn).sum()).backward()
            results.append(
                [to_numpy(t) for t in (out, hn, x.grad, hx.grad)]
                + [to_numpy(p.grad) for p in rnn.parameters()]
            )
            rnn.zero_grad()
        assert results[0][0].shape == x_np.shape[:-1] + (6,)
        for got, want in zip(*results, strict=True):
            np.testing.assert_array_equal(got, want)


SANITY = [
    (1, False, "tanh", True),
    (2, True, "tanh", True),
    (3, True, "relu", False),
    (2, False, "relu", True),
]


@pytest.mark.parametrize("layers,bi,nl,bias", SANITY)
def test_each_sequence_equals_its_own_unbatched_run(
    layers: int, bi: bool, nl: str, bias: bool
) -> None:
    """padded_out[:len_i, i], h_n[:, i] and the gradients of sequence i equal a standalone
    run of sequence i from h0[:, i]; padding gets ``padding_value`` and no gradient."""
    rng = np.random.default_rng(16)
    D, T, lengths = 2 if bi else 1, 6, [4, 6, 1, 4, 2]
    rnn = elman.nn.RNN(
        3, 4, layers, nonlinearity=nl, bias=bias, bidirectional=bi, dtype=elman.float64
    )
    x_np = rng.standard_normal((T, 5, 3))
    h_np = rng.standard_normal((layers * D, 5, 4))
    gy, gh = rng.standard_normal((T, 5, D * 4)), rng.standard_normal((layers * D, 5, 4))
    x = elman.tensor(x_np, requires_grad=True)
    hx = elman.tensor(h_np, requires_grad=True)
    packed_out, hn = rnn(U.pack_padded_sequence(x, lengths, enforce_sorted=False), hx)
    out, _ = U.pad_packed_sequence(packed_out, padding_value=7.5, total_length=T)
    ((out * elman.tensor(gy)).sum() + (hn * elman.tensor(gh)).sum()).backward()
    batch_grads = [to_numpy(p.grad) for p in rnn.parameters()]
    param_sums = [np.zeros_like(g) for g in batch_grads]
    tight = {"rtol": 1e-12, "atol": 1e-12}
    for i, n in enumerate(lengths):
        rnn.zero_grad()
        xi = elman.tensor(x_np[:n, i], requires_grad=True)
        hi = elman.tensor(h_np[:, i], requires_grad=True)
        out_i, hn_i = rnn(xi, hi)
        ((out_i * elman.tensor(gy[:n, i])).sum() + (hn_i * elman.tensor(gh[:, i])).sum()).backward()
        np.testing.assert_allclose(to_numpy(out)[:n, i], to_numpy(out_i), **tight)
        np.testing.assert_allclose(to_numpy(hn)[:, i], to_numpy(hn_i), **tight)
        assert np.all(to_numpy(out)[n:, i] == 7.5)
        np.testing.assert_allclose(to_numpy(x.grad)[:n, i], to_numpy(xi.grad), **tight)
        assert np.all(to_numpy(x.grad)[n:, i] == 0)
        np.testing.assert_allclose(to_numpy(hx.grad)[:, i], to_numpy(hi.grad), **tight)
        for acc, p in zip(param_sums, rnn.parameters(), strict=True):
            acc += to_numpy(p.grad)
    for got, want in zip(batch_grads, param_sums, strict=True):
        np.testing.assert_allclose(got, want, **tight)


# ---- gradients through packing and padding (float64 finite differences) ------------------


@pytest.mark.parametrize("via", ["packed", "lengths"])
def test_gradcheck_pack_rnn_pad(via: str) -> None:
    rng = np.random.default_rng(17)
    nl = "tanh" if via == "packed" else "relu"
    rnn = elman.nn.RNN(
        2,
        3,
        2,
        nonlinearity=nl,
        bidirectional=True,
        batch_first=via == "lengths",
        dtype=elman.float64,
    )
    lengths = [2, 4, 1]
    shape = (3, 4, 2) if via == "lengths" else (4, 3, 2)
    x = elman.tensor(rng.standard_normal(shape), requires_grad=True)
    hx = elman.tensor(rng.standard_normal((4, 3, 3)), requires_grad=True)

    def fn(x: elman.Tensor, hx: elman.Tensor, *params: Any) -> tuple[Any, Any]:
        if via == "lengths":
            return rnn(x, hx, lengths=lengths)
        packed = U.pack_padded_sequence(x, lengths, enforce_sorted=False)
        out, hn = rnn(packed, hx)
        return U.pad_packed_sequence(out, padding_value=0.5, total_length=4)[0], hn

    assert elman.autograd.gradcheck(fn, [x, hx, *rnn.parameters()])
