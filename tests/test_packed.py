"""Variable-length batches: PackedSequence, ``elman.nn.utils.rnn`` and RNN on packed input.

The RNN tests run the same data through three routes and compare every number (padded
output, h_n, gradients of input, hx and every parameter, and the packed arrays):
``pack_padded_sequence -> RNN -> pad_packed_sequence(total_length=T)`` in torch (live, or
from the committed golden fixtures) and in elman, and elman's ``RNN(x, hx, lengths=...)``.
Errors are pinned in two tables: torch's behaviour that elman copies, and the cases where
elman deliberately does better (each row also checks torch still behaves as documented).
"""

from __future__ import annotations

import itertools
import json
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

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
from elman.nn.utils._stdsort import _heap_sort, argsort_descending

GOLDEN = Path(__file__).parent / "fixtures" / "packed_golden.npz"
TU = None if TORCH is None else TORCH.nn.utils.rnn  # torch's utils, the oracle

SORTED_MSG = (
    "`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. You "
    "can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to sidestep "
    "this requirement if you do not need ONNX exportability."
)
LEN0_MSG = (
    "Length of all samples has to be greater than 0, but found an element in 'lengths' that is <= 0"
)


def _lib_utils(lib: Any) -> Any:
    return U if lib is elman else TU


@pytest.fixture(autouse=True)
def _fixed_weights() -> None:
    """elman's global generator starts from a random seed, as torch's: fix the weights."""
    elman.manual_seed(0)


# ---- configurations -----------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    input_size: int
    hidden_size: int
    num_layers: int
    nonlinearity: str
    bias: bool
    batch_first: bool
    bidirectional: bool
    dtype: str
    T: int
    lengths: tuple[int, ...]
    enforce_sorted: bool
    with_hx: bool

    def __str__(self) -> str:
        flags = [
            self.nonlinearity,
            "bias" if self.bias else "nobias",
            "bf" if self.batch_first else "tm",
            "bi" if self.bidirectional else "uni",
            "sorted" if self.enforce_sorted else "unsorted",
            "hx" if self.with_hx else "nohx",
        ]
        lens = "_".join(map(str, self.lengths))
        sizes = f"I{self.input_size}H{self.hidden_size}x{self.num_layers}-T{self.T}-len{lens}"
        return f"{sizes}-{'-'.join(flags)}-{self.dtype[5:]}"

    def module_kwargs(self) -> dict[str, Any]:
        names = ("num_layers", "nonlinearity", "bias", "batch_first", "bidirectional")
        return {n: getattr(self, n) for n in names}


def draw_case(
    rng: np.random.Generator, layers: int, nl: str, bias: bool, bf: bool, bi: bool, dtype: str
) -> Case:
    T = int(rng.choice([1, 2, 3, 5, 7]))
    N = int(rng.choice([1, 2, 3, 4, 6]))
    lengths = rng.integers(1, T + 1, size=N)
    if rng.random() < 0.5:
        lengths[rng.integers(N)] = T  # half the cases fill T, the others may stop short
    sort = bool(rng.random() < 0.4)
    if sort:
        lengths = np.sort(lengths)[::-1]
    return Case(
        input_size=int(rng.integers(1, 5)),
        hidden_size=int(rng.choice([1, 2, 3, 5])),
        num_layers=layers,
        nonlinearity=nl,
        bias=bias,
        batch_first=bf,
        bidirectional=bi,
        dtype=dtype,
        T=T,
        lengths=tuple(int(n) for n in lengths),
        enforce_sorted=sort,
        with_hx=bool(rng.random() < 0.6),
    )


def live_cases(seed: int = 31, extra: int = 32) -> list[Case]:
    """Every combination of the boolean/enum arguments once, plus ``extra`` random ones."""
    rng = np.random.default_rng(seed)
    grid = itertools.product(
        (1, 2, 3),
        ("tanh", "relu"),
        (True, False),
        (True, False),
        (True, False),
        ("float32", "float64"),
    )
    cases = [draw_case(rng, *g) for g in grid]
    for _ in range(extra):
        flags = [bool(b) for b in rng.random(3) < 0.5]
        g = (
            int(rng.integers(1, 4)),
            str(rng.choice(["tanh", "relu"])),
            *flags,
            str(rng.choice(["float32", "float64"])),
        )
        cases.append(draw_case(rng, *g))
    return cases


LIVE = live_cases()


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


def make_data(case: Case, seed: int) -> dict[str, Any]:
    """Padded input (noise in the padding too), hx, lengths and cotangents for ``case``."""
    rng = np.random.default_rng(seed)
    N, D = len(case.lengths), 2 if case.bidirectional else 1
    x_shape = (N, case.T, case.input_size) if case.batch_first else (case.T, N, case.input_size)
    h_shape = (case.num_layers * D, N, case.hidden_size)

    def draw(shape: tuple[int, ...]) -> np.ndarray:
        return rng.standard_normal(shape).astype(case.dtype)

    return {
        "x": draw(x_shape),
        "hx": draw(h_shape) if case.with_hx else None,
        "gy": draw((*x_shape[:-1], D * case.hidden_size)),
        "gh": draw(h_shape),
        "lengths": np.array(case.lengths, dtype=np.int64),
    }


# ---- one helper runs pack -> RNN -> pad (or lengths=) forward and backward ---------------


def run_packed(
    lib: Any,
    rnn: Any,
    data: dict[str, Any],
    *,
    batch_first: bool,
    enforce_sorted: bool,
    T: int,
    via: str = "packed",
    seed: int | None = None,
) -> dict[str, np.ndarray]:
    """Every number worth comparing; ``via='lengths'`` uses elman's ``lengths=`` keyword."""
    u = _lib_utils(lib)
    x = lib.tensor(data["x"], requires_grad=True)
    hx = None if data.get("hx") is None else lib.tensor(data["hx"], requires_grad=True)
    result: dict[str, Any] = {}
    if seed is not None:
        lib.manual_seed(seed)  # training-mode dropout masks: the same stream in both
    if via == "lengths":
        out, hn = rnn(x, hx, lengths=data["lengths"])
    else:
        packed = u.pack_padded_sequence(
            x, data["lengths"], batch_first=batch_first, enforce_sorted=enforce_sorted
        )
        packed_out, hn = rnn(packed, hx)
        out, out_lengths = u.pad_packed_sequence(
            packed_out, batch_first=batch_first, total_length=T
        )
        result.update(
            {
                "packed/data": packed.data,
                "packed/batch_sizes": packed.batch_sizes,
                "packed_out/data": packed_out.data,
                "out_lengths": out_lengths,
            }
        )
        if packed.sorted_indices is not None:
            result["packed/sorted_indices"] = packed.sorted_indices
            result["packed/unsorted_indices"] = packed.unsorted_indices
        for key in ("batch_sizes", "sorted_indices", "unsorted_indices"):  # kept as is
            assert np.array_equal(
                to_numpy(getattr(packed_out, key)), to_numpy(getattr(packed, key))
            ), key
    loss = (out * lib.tensor(data["gy"])).sum() + (hn * lib.tensor(data["gh"])).sum()
    loss.backward()
    result.update({"out": out, "hn": hn, "grad/x": x.grad})
    if hx is not None:
        result["grad/hx"] = hx.grad
    for name, p in rnn.named_parameters():
        result[f"grad/{name}"] = p.grad
    return {k: to_numpy(v) for k, v in result.items()}


EXACT = ("packed/", "out_lengths")  # gathers and integers: bitwise equal
PACKED_ONLY = ("packed/", "packed_out/", "out_lengths")


def compare(
    actual: dict[str, np.ndarray], expected: dict[str, np.ndarray], label: str, via: str = "packed"
) -> None:
    if via == "lengths":
        expected = {k: v for k, v in expected.items() if not k.startswith(PACKED_ONLY)}
    assert sorted(actual) == sorted(expected), label
    for key, want in expected.items():
        assert actual[key] is not None, f"{label}: elman gave no {key}"
        if key.startswith(EXACT):
            assert actual[key].dtype == want.dtype, f"{label}: {key}"
            np.testing.assert_array_equal(actual[key], want, err_msg=f"{label}: {key}")
        else:
            assert_close(actual[key], want, f"{label} via {via}: {key}")


def build_rnn(case: Case) -> elman.nn.RNN:
    return elman.nn.RNN(case.input_size, case.hidden_size, dtype=case.dtype, **case.module_kwargs())


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


# ---- PackedSequence and the packing helpers -----------------------------------------------


def _example() -> U.PackedSequence:
    """The torch docs example (reference §3.2)."""
    x = elman.tensor([[1, 2, 0], [3, 0, 0], [4, 5, 6]])
    return U.pack_padded_sequence(x, [2, 1, 3], batch_first=True, enforce_sorted=False)


def test_reference_example() -> None:
    packed = _example()
    assert packed.data.tolist() == [4, 1, 3, 5, 2, 6]
    assert packed.batch_sizes.tolist() == [3, 2, 1]
    assert packed.sorted_indices.tolist() == [2, 0, 1]
    assert packed.unsorted_indices.tolist() == [1, 2, 0]
    padded, lengths = U.pad_packed_sequence(packed, batch_first=True)
    assert padded.tolist() == [[1, 2, 0], [3, 0, 0], [4, 5, 6]] and lengths.tolist() == [2, 1, 3]


@requires_torch
def test_reference_example_matches_torch() -> None:
    x = TORCH.tensor([[1, 2, 0], [3, 0, 0], [4, 5, 6]])
    want = TU.pack_padded_sequence(x, [2, 1, 3], batch_first=True, enforce_sorted=False)
    assert repr(_example()) == repr(want)


def test_packed_sequence_fields_and_repr() -> None:
    packed = U.pack_sequence([elman.tensor([1, 2, 3]), elman.tensor([4, 5]), elman.tensor([6])])
    assert isinstance(packed, tuple)
    assert packed._fields == ("data", "batch_sizes", "sorted_indices", "unsorted_indices")
    data, batch_sizes, sorted_indices, unsorted_indices = packed
    assert data.tolist() == [1, 4, 6, 2, 5, 3] and batch_sizes.dtype == np.int64
    assert sorted_indices is None and unsorted_indices is None
    assert repr(packed) == (
        "PackedSequence(data=tensor([1, 4, 6, 2, 5, 3]), batch_sizes=tensor([3, 2, 1]), "
        "sorted_indices=None, unsorted_indices=None)"
    )
    assert repr(_example()) == (
        "PackedSequence(data=tensor([4, 1, 3, 5, 2, 6]), batch_sizes=tensor([3, 2, 1]), "
        "sorted_indices=tensor([2, 0, 1]), unsorted_indices=tensor([1, 2, 0]))"
    )
    assert not packed.is_cuda and not packed.is_pinned() and packed.cpu() is packed


def test_packed_sequence_conversions() -> None:
    packed = _example()
    assert packed.to(np.int64) is packed and packed.long() is packed  # nothing changes
    for method, dtype in (
        ("double", np.float64),
        ("float", np.float32),
        ("half", np.float16),
        ("int", np.int32),
        ("short", np.int16),
        ("char", np.int8),
        ("byte", np.uint8),
    ):
        converted = getattr(packed, method)()
        assert converted.data.dtype == dtype, method
        assert converted.data.tolist() == [4, 1, 3, 5, 2, 6], method
        for key in ("batch_sizes", "sorted_indices", "unsorted_indices"):
            assert getattr(converted, key).tolist() == getattr(packed, key).tolist()
    doubled = packed.to(dtype=elman.float64)
    assert doubled.data.dtype == np.float64 and doubled.double() is doubled
    assert packed.to("cpu") is packed
    assert "dtype=float64" in repr(doubled)


@requires_torch
def test_packed_sequence_conversions_match_torch() -> None:
    seqs = [[1, 2, 3], [4, 5], [6]]
    mine = U.pack_sequence([elman.tensor(s) for s in seqs])
    theirs = TU.pack_sequence([TORCH.tensor(s) for s in seqs])
    for method in ("double", "float", "long", "int"):
        got = repr(getattr(mine, method)())
        assert got == repr(getattr(theirs, method)()).replace("torch.", ""), method


def test_unsorted_indices_are_computed_from_sorted_indices() -> None:
    data = elman.tensor([[1.0], [2.0], [3.0], [4.0]])
    packed = U.PackedSequence(data, [3, 1], elman.tensor([2, 0, 1]))
    assert packed.unsorted_indices.tolist() == [1, 2, 0]
    assert packed.batch_sizes.dtype == np.int64
    given = U.PackedSequence(data, np.array([3, 1]), [2, 0, 1], [1, 2, 0])
    assert given.unsorted_indices.tolist() == [1, 2, 0]
    assert U.PackedSequence(data, [3, 1]).unsorted_indices is None


def test_invert_permutation() -> None:
    for perm in ([2, 0, 1], np.array([2, 0, 1]), elman.tensor([2, 0, 1])):
        assert U.invert_permutation(perm).tolist() == [1, 2, 0]
    assert U.invert_permutation(None) is None
    rng = np.random.default_rng(0)
    perm = rng.permutation(50)
    inv = U.invert_permutation(perm).numpy()
    np.testing.assert_array_equal(inv[perm], np.arange(50))
    np.testing.assert_array_equal(perm[inv], np.arange(50))


LENGTH_FORMS: list[tuple[str, Callable[[], Any]]] = [
    ("list", lambda: [2, 1, 3]),
    ("tuple", lambda: (2, 1, 3)),
    ("ndarray", lambda: np.array([2, 1, 3])),
    ("ndarray-int32", lambda: np.array([2, 1, 3], dtype=np.int32)),
    ("ndarray-float", lambda: np.array([2.0, 1.0, 3.0])),
    ("Tensor", lambda: elman.tensor([2, 1, 3])),
    ("float-Tensor", lambda: elman.tensor([2.9, 1.2, 3.0])),  # cast to int64, as torch
    ("float64-Tensor", lambda: elman.tensor([2.0, 1.0, 3.0], dtype=elman.float64)),
]


@pytest.mark.parametrize("form", [f for f, _ in LENGTH_FORMS])
def test_lengths_forms(form: str) -> None:
    lengths = dict(LENGTH_FORMS)[form]()
    x = elman.tensor([[1, 2, 0], [3, 0, 0], [4, 5, 6]])
    packed = U.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    assert repr(packed) == repr(_example())
    rnn = elman.nn.RNN(1, 2, batch_first=True, dtype=elman.float64)
    xs = x.to(elman.float64).unsqueeze(-1)
    out, hn = rnn(xs, lengths=lengths)
    want, want_hn = rnn(
        U.pack_padded_sequence(xs, [2, 1, 3], batch_first=True, enforce_sorted=False)
    )
    padded, _ = U.pad_packed_sequence(want, batch_first=True, total_length=3)
    np.testing.assert_array_equal(to_numpy(out), to_numpy(padded))
    np.testing.assert_array_equal(to_numpy(hn), to_numpy(want_hn))


@requires_torch
@pytest.mark.parametrize("form", [f for f, _ in LENGTH_FORMS if "Tensor" not in f])
def test_lengths_forms_match_torch(form: str) -> None:
    x = TORCH.tensor([[1, 2, 0], [3, 0, 0], [4, 5, 6]])
    theirs = TU.pack_padded_sequence(
        x, dict(LENGTH_FORMS)[form](), batch_first=True, enforce_sorted=False
    )
    assert repr(_example()) == repr(theirs)


@requires_torch
def test_tensor_lengths_match_torch() -> None:
    """Tensor lengths of any dtype (floats are cast), and torch tensors given to elman."""
    x = [[1, 2, 0], [3, 0, 0], [4, 5, 6]]
    for lengths in ([2, 1, 3], [2.9, 1.2, 3.0]):
        theirs = TU.pack_padded_sequence(
            TORCH.tensor(x), TORCH.tensor(lengths), batch_first=True, enforce_sorted=False
        )
        mine = U.pack_padded_sequence(
            elman.tensor(x), TORCH.tensor(lengths), batch_first=True, enforce_sorted=False
        )
        assert repr(mine) == repr(theirs) == repr(_example())


@requires_torch
def test_argsort_descending_matches_torch_sort() -> None:
    rng = np.random.default_rng(3)
    sizes = [*range(1, 70), 100, 257, 1000, 3000]
    for n, hi in itertools.product(sizes, (2, 4, 30)):
        keys = rng.integers(1, hi + 1, size=n)
        want = TORCH.sort(TORCH.tensor(keys), descending=True).indices.numpy()
        np.testing.assert_array_equal(argsort_descending(keys), want, err_msg=f"{n} {hi}")
    for keys in (
        np.ones(40, np.int64),
        np.tile([1, 2, 3], 30),
        np.arange(50),
        np.r_[np.ones(20, np.int64), 2 * np.ones(20, np.int64)],
    ):
        want = TORCH.sort(TORCH.tensor(keys), descending=True).indices.numpy()
        np.testing.assert_array_equal(argsort_descending(keys), want)


@requires_torch
@pytest.mark.parametrize("N", [3, 16, 17, 64, 500])
def test_pack_with_ties_matches_torch(N: int) -> None:
    rng = np.random.default_rng(N)
    x = rng.standard_normal((N, 6, 2))
    lengths = rng.integers(1, 7, size=N)
    mine = U.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    theirs = TU.pack_padded_sequence(
        TORCH.tensor(x), TORCH.tensor(lengths), batch_first=True, enforce_sorted=False
    )
    for key in ("data", "batch_sizes", "sorted_indices", "unsorted_indices"):
        np.testing.assert_array_equal(
            to_numpy(getattr(mine, key)), to_numpy(getattr(theirs, key)), err_msg=key
        )


def test_argsort_descending_sorts_and_keeps_small_ties_in_order() -> None:
    rng = np.random.default_rng(4)
    for n in (0, 1, 5, 16, 17, 100, 2000):
        keys = rng.integers(1, 6, size=n)
        order = argsort_descending(keys)
        assert sorted(order.tolist()) == list(range(n))
        assert np.all(np.diff(keys[order]) <= 0)
        if n <= 16:
            np.testing.assert_array_equal(order, np.argsort(-keys, kind="stable"))


def test_heap_sort_fallback_matches_libstdcxx() -> None:
    """std::sort's depth-limit fallback (std::partial_sort), pinned with g++ 13's output."""
    cases = [
        (
            [3, 1, 2, 3, 3, 1, 2, 2, 3, 1, 1, 2, 3, 3, 2, 1, 2, 3, 1, 2],
            [8, 4, 3, 17, 0, 12, 13, 7, 16, 19, 2, 11, 6, 14, 15, 18, 1, 9, 10, 5],
        ),
        ([2, 2, 1, 2, 1, 1, 2, 2, 1], [7, 1, 3, 0, 6, 8, 4, 2, 5]),
    ]
    for keys, want in cases:
        pairs = [(k, i) for i, k in enumerate(keys)]
        _heap_sort(pairs, 0, len(pairs))
        assert [i for _, i in pairs] == want


@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_pack_sequence_unpack_sequence_round_trip(enforce_sorted: bool) -> None:
    rng = np.random.default_rng(8)
    lengths = [5, 3, 3, 1] if enforce_sorted else [3, 5, 1, 3]
    seqs = [elman.tensor(rng.standard_normal((n, 2))) for n in lengths]
    packed = U.pack_sequence(seqs, enforce_sorted=enforce_sorted)
    assert packed.batch_sizes.tolist() == [4, 3, 3, 1, 1]
    assert (packed.sorted_indices is None) == enforce_sorted
    back = U.unpack_sequence(packed)
    assert len(back) == len(seqs)
    for got, want in zip(back, seqs, strict=True):
        np.testing.assert_array_equal(to_numpy(got), to_numpy(want))
    padded = U.pad_sequence(seqs, batch_first=True)
    for got, want in zip(U.unpad_sequence(padded, lengths, batch_first=True), seqs, strict=True):
        np.testing.assert_array_equal(to_numpy(got), to_numpy(want))


@requires_torch
@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_pack_sequence_matches_torch(enforce_sorted: bool) -> None:
    rng = np.random.default_rng(9)
    lengths = [4, 4, 2, 1] if enforce_sorted else [2, 4, 1, 4]
    seqs = [rng.standard_normal((n, 3)).astype(np.float32) for n in lengths]
    mine = U.pack_sequence([elman.tensor(s) for s in seqs], enforce_sorted=enforce_sorted)
    theirs = TU.pack_sequence([TORCH.tensor(s) for s in seqs], enforce_sorted=enforce_sorted)
    for key in ("data", "batch_sizes", "sorted_indices", "unsorted_indices"):
        np.testing.assert_array_equal(
            to_numpy(getattr(mine, key)), to_numpy(getattr(theirs, key)), err_msg=key
        )
    for got, want in zip(U.unpack_sequence(mine), TU.unpack_sequence(theirs), strict=True):
        np.testing.assert_array_equal(to_numpy(got), to_numpy(want))


@pytest.mark.parametrize("batch_first", [False, True])
def test_pad_packed_sequence_padding_value_and_total_length(batch_first: bool) -> None:
    seqs = [elman.tensor([1.0, 2.0]), elman.tensor([3.0, 4.0, 5.0]), elman.tensor([6.0])]
    packed = U.pack_sequence(seqs, enforce_sorted=False)
    padded, lengths = U.pad_packed_sequence(
        packed, batch_first=batch_first, padding_value=-7.0, total_length=5
    )
    want = np.array([[1, 2, -7, -7, -7], [3, 4, 5, -7, -7], [6, -7, -7, -7, -7]], np.float32)
    np.testing.assert_array_equal(to_numpy(padded), want if batch_first else want.T)
    assert lengths.tolist() == [2, 3, 1] and lengths.dtype == np.int64
    tight, _ = U.pad_packed_sequence(packed, batch_first, padding_value=-7.0, total_length=3)
    np.testing.assert_array_equal(to_numpy(tight), to_numpy(padded)[:3, :3])
    default, _ = U.pad_packed_sequence(packed)
    np.testing.assert_array_equal(to_numpy(default), np.where(want == -7, 0, want)[:, :3].T)


@requires_torch
@pytest.mark.parametrize("batch_first", [False, True])
def test_pad_packed_sequence_matches_torch(batch_first: bool) -> None:
    rng = np.random.default_rng(10)
    x = rng.standard_normal((4, 5, 2))
    lengths = [2, 4, 1, 4, 3]
    outs = []
    for lib in (elman, TORCH):
        u = _lib_utils(lib)
        packed = u.pack_padded_sequence(lib.tensor(x), lengths, enforce_sorted=False)
        outs.append(
            u.pad_packed_sequence(
                packed, batch_first=batch_first, padding_value=2.5, total_length=6
            )
        )
    for got, want in zip(outs[0], outs[1], strict=True):
        np.testing.assert_array_equal(to_numpy(got), to_numpy(want))


@requires_torch
@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_pad_sequence_matches_torch(side: str, batch_first: bool) -> None:
    rng = np.random.default_rng(11)
    shapes = [(3, 2, 2), (5, 2, 2), (1, 2, 1), (4, 1, 2)]  # the last two broadcast
    seqs = [rng.standard_normal(s) for s in shapes]
    kw = {"batch_first": batch_first, "padding_value": 0.25, "padding_side": side}
    mine = U.pad_sequence([elman.tensor(s) for s in seqs], **kw)
    theirs = TU.pad_sequence([TORCH.tensor(s) for s in seqs], **kw)
    np.testing.assert_array_equal(to_numpy(mine), to_numpy(theirs))
    block = rng.standard_normal((3, 4))  # a tensor is taken row by row
    np.testing.assert_array_equal(
        to_numpy(U.pad_sequence(elman.tensor(block), **kw)),
        to_numpy(TU.pad_sequence(TORCH.tensor(block), **kw)),
    )
    mixed = [TORCH.tensor([1.5, 2.5]), TORCH.tensor([3])], [TORCH.tensor([1]), TORCH.tensor([2.5])]
    for pair in mixed:  # the dtype of the first sequence
        want = TU.pad_sequence(pair, **kw)
        got = U.pad_sequence([elman.tensor(t.numpy()) for t in pair], **kw)
        assert str(got.dtype) == str(want.dtype)[6:]
        np.testing.assert_array_equal(to_numpy(got), to_numpy(want))


def test_pad_sequence_dtype_sides_and_tensor_input() -> None:
    seqs = [elman.tensor([1, 2, 3]), elman.tensor([4])]
    assert U.pad_sequence(seqs, padding_side="left").tolist() == [[1, 0], [2, 0], [3, 4]]
    assert U.pad_sequence(seqs, batch_first=True, padding_value=9).tolist() == [
        [1, 2, 3],
        [4, 9, 9],
    ]
    mixed = U.pad_sequence([elman.tensor([1.5]), elman.tensor([2, 3])])
    assert mixed.dtype == np.float32 and mixed.tolist() == [[1.5, 2.0], [0.0, 3.0]]
    ints = U.pad_sequence([elman.tensor([1, 2]), elman.tensor([2.5])])
    assert ints.dtype == np.int64 and ints.tolist() == [[1, 2], [2, 0]]
    rows = U.pad_sequence(elman.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]))
    assert rows.tolist() == [[1, 3, 5], [2, 4, 6]]


def test_unpad_sequence_leaves_its_input_alone() -> None:
    padded = elman.tensor([[1.0, 4.0], [2.0, 0.0], [3.0, 0.0]])
    before = to_numpy(padded)
    parts = U.unpad_sequence(padded, elman.tensor([3, 1]))
    assert [p.tolist() for p in parts] == [[1, 2, 3], [4]]
    assert padded.shape == (3, 2)
    np.testing.assert_array_equal(to_numpy(padded), before)
    assert [p.tolist() for p in U.unpad_sequence(padded, [0, 2])] == [[], [4, 0]]


@requires_torch
def test_torch_unpad_sequence_mutates_its_input() -> None:
    """The torch quirk elman does not copy (listed in docs/differences.md)."""
    padded = TORCH.tensor([[1.0, 4.0], [2.0, 0.0], [3.0, 0.0]])
    parts = TU.unpad_sequence(padded, TORCH.tensor([3, 1]))
    assert [p.tolist() for p in parts] == [[1, 2, 3], [4]]
    assert tuple(padded.shape) == (2, 3)


# ---- errors -------------------------------------------------------------------------------


def _rnn(lib: Any) -> Any:
    return lib.nn.RNN(3, 4, 2, bidirectional=True)


def _packed_input(lib: Any, enforce_sorted: bool = False) -> Any:
    x = lib.tensor(np.zeros((5, 3, 3), np.float32))
    lengths = [5, 4, 2] if enforce_sorted else [5, 2, 4]
    return _lib_utils(lib).pack_padded_sequence(x, lengths, enforce_sorted=enforce_sorted)


def _hand_packed(lib: Any, batch_sizes: list[int], *indices: list[int]) -> Any:
    data = lib.tensor(np.zeros((4, 3), np.float32))
    return _lib_utils(lib).PackedSequence(
        data, lib.tensor(batch_sizes), *(lib.tensor(i) for i in indices)
    )


def _zeros(lib: Any, *shape: int, dtype: Any = np.float32) -> Any:
    return lib.tensor(np.zeros(shape, dtype=dtype))


PAD = "pad_sequence"
# (id, call(lib, utils), exception type, elman's message, torch's message if different)
TORCH_ERRORS: list[tuple[str, Callable[[Any, Any], Any], type, str, str | None]] = [
    (
        "pack-unsorted",
        lambda lib, u: u.pack_padded_sequence(_zeros(lib, 4, 3, 2), [1, 3, 2]),
        RuntimeError,
        SORTED_MSG,
        None,
    ),
    (
        "pack-zero-length",
        lambda lib, u: u.pack_padded_sequence(_zeros(lib, 4, 3, 2), [3, 2, 0]),
        RuntimeError,
        LEN0_MSG,
        None,
    ),
    (
        "pack-zero-length-unsorted",
        lambda lib, u: u.pack_padded_sequence(
            _zeros(lib, 4, 3, 2), [0, 2, 3], enforce_sorted=False
        ),
        RuntimeError,
        LEN0_MSG,
        None,
    ),
    (
        "pack-negative-length",
        lambda lib, u: u.pack_padded_sequence(
            _zeros(lib, 4, 3, 2), [-1, 2, 3], enforce_sorted=False
        ),
        RuntimeError,
        LEN0_MSG,
        None,
    ),
    (
        "pack-length-count",
        lambda lib, u: u.pack_padded_sequence(_zeros(lib, 4, 3, 2), [3, 2]),
        RuntimeError,
        "Expected `len(lengths)` to be equal to batch_size, but got 2 (batch_size=3)",
        None,
    ),
    (
        "pack-length-count-bf",
        lambda lib, u: u.pack_padded_sequence(_zeros(lib, 4, 3, 2), [3, 2], batch_first=True),
        RuntimeError,
        "Expected `len(lengths)` to be equal to batch_size, but got 2 (batch_size=4)",
        None,
    ),
    (
        "pack-2d-lengths",
        lambda lib, u: u.pack_padded_sequence(_zeros(lib, 4, 3, 2), lib.tensor([[3, 2, 1]])),
        RuntimeError,
        "'lengths' argument should be a 1D CPU int64 tensor, but got 2D cpu Long tensor",
        None,
    ),
    (
        "pack-1d-input",
        lambda lib, u: u.pack_padded_sequence(_zeros(lib, 3), [3]),
        IndexError,
        "Dimension out of range (expected to be in range of [-1, 0], but got 1)",
        None,
    ),
    (
        "pack-0d-input",
        lambda lib, u: u.pack_padded_sequence(lib.tensor(1.0), [1]),
        IndexError,
        "Dimension specified as 1 but tensor has no dimensions",
        None,
    ),
    (
        "pack-empty",
        lambda lib, u: u.pack_padded_sequence(_zeros(lib, 4, 0, 2), []),
        RuntimeError,
        "Cannot pack empty tensors.",
        None,
    ),
    (
        "pad-total-length",
        lambda lib, u: u.pad_packed_sequence(
            u.pack_padded_sequence(_zeros(lib, 4, 3, 2), [4, 2, 1]), total_length=3
        ),
        ValueError,
        "Expected total_length to be at least the length of the longest sequence in input, but "
        "got total_length=3 and max sequence length being 4",
        None,
    ),
    (
        "pad-total-length-float",
        lambda lib, u: u.pad_packed_sequence(
            u.pack_padded_sequence(_zeros(lib, 4, 3, 2), [4, 2, 1]), total_length=5.0
        ),
        TypeError,
        "_pad_packed_sequence(): argument 'total_length' must be int, not float",
        "_pad_packed_sequence(): argument 'total_length' (position 5) must be int, not float",
    ),
    (
        "pad-not-packed",
        lambda lib, u: u.pad_packed_sequence(_zeros(lib, 3, 2, 1)),
        AttributeError,
        "'Tensor' object has no attribute 'batch_sizes'",
        None,
    ),
    (
        "unpack-not-packed",
        lambda lib, u: u.unpack_sequence(_zeros(lib, 3, 2, 1)),
        AttributeError,
        "'Tensor' object has no attribute 'batch_sizes'",
        None,
    ),
    (
        "pack_sequence-unsorted",
        lambda lib, u: u.pack_sequence([_zeros(lib, 1), _zeros(lib, 2)]),
        RuntimeError,
        SORTED_MSG,
        None,
    ),
    (
        "pack_sequence-empty-sequence",
        lambda lib, u: u.pack_sequence([_zeros(lib, 2), _zeros(lib, 0)]),
        RuntimeError,
        LEN0_MSG,
        None,
    ),
    (
        "pack_sequence-0d",
        lambda lib, u: u.pack_sequence([_zeros(lib, 2), lib.tensor(1.0)]),
        IndexError,
        "Dimension specified as 0 but tensor has no dimensions",
        None,
    ),
    (
        "pack_sequence-no-sequences",
        lambda lib, u: u.pack_sequence([]),
        RuntimeError,
        "received an empty list of sequences",
        None,
    ),
    (
        "pad_sequence-side",
        lambda lib, u: u.pad_sequence([_zeros(lib, 1)], padding_side="middle"),
        RuntimeError,
        "Expected padding_side to be one of left or right, but got middle.",
        None,
    ),
    (
        "pad_sequence-empty",
        lambda lib, u: u.pad_sequence([], padding_side="middle"),
        RuntimeError,
        "received an empty list of sequences",
        None,
    ),
    (
        "pad_sequence-int",
        lambda lib, u: u.pad_sequence(3),
        RuntimeError,
        f"{PAD}: Expected iterable for input sequences, but got arg of type: <class 'int'>",
        None,
    ),
    (
        "pad_sequence-trailing",
        lambda lib, u: u.pad_sequence([_zeros(lib, 2, 3), _zeros(lib, 2, 4)]),
        RuntimeError,
        "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1",
        None,
    ),
    (
        "pad_sequence-trailing-3d",
        lambda lib, u: u.pad_sequence([_zeros(lib, 2, 3, 4), _zeros(lib, 1, 2, 5)]),
        RuntimeError,
        "The size of tensor a (4) must match the size of tensor b (5) at non-singleton dimension 2",
        None,
    ),
    (
        "pad_sequence-fewer-dims",
        lambda lib, u: u.pad_sequence([_zeros(lib, 2, 3), _zeros(lib, 2)]),
        RuntimeError,
        "The size of tensor a (3) must match the size of tensor b (2) at non-singleton dimension 1",
        None,
    ),
    (
        "pad_sequence-more-dims",
        lambda lib, u: u.pad_sequence([_zeros(lib, 2, 3), _zeros(lib, 2, 1, 3)]),
        RuntimeError,
        "output with shape [2, 3] doesn't match the broadcast shape [2, 2, 3]",
        None,
    ),
    (
        "pad_sequence-first-broadcasts",
        lambda lib, u: u.pad_sequence([_zeros(lib, 2, 1), _zeros(lib, 2, 3)]),
        RuntimeError,
        "output with shape [2, 1] doesn't match the broadcast shape [2, 3]",
        None,
    ),
    (
        "pad_sequence-0d-later",
        lambda lib, u: u.pad_sequence([_zeros(lib, 2), lib.tensor(2.0)]),
        IndexError,
        "Dimension specified as 0 but tensor has no dimensions",
        None,
    ),
    (
        "pad_sequence-0d-first",
        lambda lib, u: u.pad_sequence([lib.tensor(2.0), _zeros(lib, 2)]),
        RuntimeError,
        "pad_sequence: expected sequences of at least one dimension (the length), "
        "got a 0-D tensor first",
        "ArrayRef: invalid slice, N = 1; size = 0",
    ),
    (
        "unpad-length-count",
        lambda lib, u: u.unpad_sequence(_zeros(lib, 3, 2, 1), lib.tensor([3, 2, 1])),
        ValueError,
        "unpad_sequence: got 3 lengths for a padded batch of 2 sequences",
        "zip() argument 2 is longer than argument 1",
    ),
    (
        "rnn-packed-dtype",
        lambda lib, u: _rnn(lib)(_packed_input(lib).double()),
        ValueError,
        "RNN input dtype (float64) does not match weight dtype (float32). Convert input: "
        "input.to(elman.float32), or convert model: model.to(elman.float64)",
        "RNN input dtype (torch.float64) does not match weight dtype (torch.float32). Convert "
        "input: input.to(torch.float32), or convert model: model.to(torch.float64)",
    ),
    (
        "rnn-packed-3d",
        lambda lib, u: _rnn(lib)(u.PackedSequence(_zeros(lib, 3, 2, 3), lib.tensor([2, 1]))),
        RuntimeError,
        "input must have 2 dimensions, got 3",
        None,
    ),
    (
        "rnn-packed-features",
        lambda lib, u: _rnn(lib)(u.PackedSequence(_zeros(lib, 3, 5), lib.tensor([2, 1]))),
        RuntimeError,
        "input.size(-1) must be equal to input_size. Expected 3, got 5",
        None,
    ),
    (
        "rnn-packed-hx-layers",
        lambda lib, u: _rnn(lib)(_packed_input(lib), _zeros(lib, 2, 3, 4)),
        RuntimeError,
        "Expected hidden size (4, 3, 4), got [2, 3, 4]",
        None,
    ),
    (
        "rnn-packed-hx-2d",
        lambda lib, u: _rnn(lib)(_packed_input(lib), _zeros(lib, 4, 3)),
        RuntimeError,
        "Expected hidden size (4, 3, 4), got [4, 3]",
        None,
    ),
    (
        "rnn-packed-hx-batch-sorted",
        lambda lib, u: _rnn(lib)(_packed_input(lib, True), _zeros(lib, 4, 2, 4)),
        RuntimeError,
        "Expected hidden size (4, 3, 4), got [4, 2, 4]",
        None,
    ),
    (
        "rnn-packed-hx-dtype",
        lambda lib, u: _rnn(lib)(_packed_input(lib), _zeros(lib, 4, 3, 4, dtype=np.float64)),
        RuntimeError,
        "RNN hx dtype (float64) does not match weight dtype (float32). Convert hx: "
        "hx.to(elman.float32)",
        "mat1 and mat2 must have the same dtype, but got Double and Float",
    ),
    (
        "rnn-packed-extra-argument",
        lambda lib, u: _rnn(lib)(_packed_input(lib), None, 3),
        TypeError,
        "RNN.forward() takes from 2 to 3 positional arguments but 4 were given",
        None,
    ),
]


@pytest.mark.parametrize("row", TORCH_ERRORS, ids=[r[0] for r in TORCH_ERRORS])
def test_error(row: tuple[Any, ...]) -> None:
    _, call, exc, message, _ = row
    with pytest.raises(exc) as info:
        call(elman, U)
    assert type(info.value) is exc and str(info.value) == message


@requires_torch
@pytest.mark.parametrize("row", TORCH_ERRORS, ids=[r[0] for r in TORCH_ERRORS])
def test_error_matches_torch(row: tuple[Any, ...]) -> None:
    _, call, exc, message, torch_message = row
    with pytest.raises(exc) as info:
        call(TORCH, TU)
    assert type(info.value) is exc and str(info.value) == (torch_message or message)


# Where elman deliberately differs: (id, call(lib, utils), elman's exception type and message,
# torch's outcome: None (no error) or (exception type, message)).
BETTER: list[tuple[str, Callable[[Any, Any], Any], type, str, tuple[type, str] | None]] = [
    (
        "pack-length-above-T",
        lambda lib, u: u.pack_padded_sequence(_zeros(lib, 4, 3, 2), [5, 2, 1]),
        RuntimeError,
        "Length of all samples has to be at most the padded length 4, but found an "
        "element in 'lengths' that is 5",
        None,
    ),
    (
        "pack-length-above-T-rnn",
        lambda lib, u: lib.nn.RNN(2, 3)(u.pack_padded_sequence(_zeros(lib, 4, 3, 2), [5, 2, 1])),
        RuntimeError,
        "Length of all samples has to be at most the padded length 4, but found an element in "
        "'lengths' that is 5",
        (RuntimeError, "start (7) + length (1) exceeds dimension size (7)."),
    ),
    (
        "rnn-packed-hx-small-batch",
        lambda lib, u: _rnn(lib)(_packed_input(lib), _zeros(lib, 4, 2, 4)),
        RuntimeError,
        "Expected hidden size (4, 3, 4), got [4, 2, 4]",
        (RuntimeError, "INDICES element is out of DATA bounds, id=2 axis_dim=2"),
    ),
    (
        "rnn-packed-hx-large-batch",
        lambda lib, u: _rnn(lib)(_packed_input(lib), _zeros(lib, 4, 5, 4)),
        RuntimeError,
        "Expected hidden size (4, 3, 4), got [4, 5, 4]",
        None,
    ),
    (
        "unpad-length-above-T",
        lambda lib, u: u.unpad_sequence(_zeros(lib, 3, 2), lib.tensor([4, 2])),
        RuntimeError,
        "unpad_sequence: lengths must be in [0, 3] (the padded length), got [4, 2]",
        None,
    ),
    (
        "unpad-negative-length",
        lambda lib, u: u.unpad_sequence(_zeros(lib, 3, 2), lib.tensor([-1, 2])),
        RuntimeError,
        "unpad_sequence: lengths must be in [0, 3] (the padded length), got [-1, 2]",
        None,
    ),
    (
        "hand-packed-too-few-rows",
        lambda lib, u: lib.nn.RNN(3, 4)(_hand_packed(lib, [2, 2, 1])),
        RuntimeError,
        "PackedSequence batch_sizes add up to 5 steps, but data has 4 rows",
        (RuntimeError, "start (4) + length (1) exceeds dimension size (4)."),
    ),
    (
        "hand-packed-too-many-rows",
        lambda lib, u: lib.nn.RNN(3, 4)(_hand_packed(lib, [2, 1])),
        RuntimeError,
        "PackedSequence batch_sizes add up to 3 steps, but data has 4 rows",
        None,
    ),
    (
        "hand-packed-growing",
        lambda lib, u: lib.nn.RNN(3, 4)(_hand_packed(lib, [1, 3])),
        RuntimeError,
        "PackedSequence batch_sizes must be a non-empty 1-D sequence of positive, "
        "non-increasing counts, got [1, 3]",
        (RuntimeError, "output with shape [1, 4] doesn't match the broadcast shape [3, 4]"),
    ),
    (
        "hand-packed-zero",
        lambda lib, u: lib.nn.RNN(3, 4)(_hand_packed(lib, [4, 0])),
        RuntimeError,
        "PackedSequence batch_sizes must be a non-empty 1-D sequence of positive, "
        "non-increasing counts, got [4, 0]",
        None,
    ),
    (
        "hand-packed-bad-unsorted",
        lambda lib, u: lib.nn.RNN(3, 4)(_hand_packed(lib, [3, 1], [2, 0, 1], [0, 1, 2])),
        RuntimeError,
        "PackedSequence unsorted_indices must invert sorted_indices",
        None,
    ),
    (
        "hand-packed-not-a-permutation",
        lambda lib, u: lib.nn.RNN(3, 4)(_hand_packed(lib, [2, 1, 1], [0, 2])),
        RuntimeError,
        "invert_permutation: expected a permutation of 0..N-1, got [0, 2]",
        (RuntimeError, "index 2 is out of bounds for dimension 0 with size 2"),
    ),
    (
        "hand-packed-wrong-size-unsorted",
        lambda lib, u: lib.nn.RNN(3, 4)(_hand_packed(lib, [2, 1, 1], [1, 0], [1, 0, 2])),
        RuntimeError,
        "PackedSequence unsorted_indices must be a permutation of the 2 sequences, got [1, 0, 2]",
        (RuntimeError, "INDICES element is out of DATA bounds, id=2 axis_dim=2"),
    ),
]


@pytest.mark.parametrize("row", BETTER, ids=[r[0] for r in BETTER])
def test_better_than_torch(row: tuple[Any, ...]) -> None:
    _, call, exc, message, _ = row
    with pytest.raises(exc) as info:
        call(elman, U)
    assert type(info.value) is exc and str(info.value) == message


@requires_torch
@pytest.mark.parametrize("row", BETTER, ids=[r[0] for r in BETTER])
def test_torch_still_behaves_as_documented(row: tuple[Any, ...]) -> None:
    _, call, _, _, outcome = row
    if outcome is None:
        call(TORCH, TU)
        return
    with pytest.raises(outcome[0]) as info:
        call(TORCH, TU)
    assert str(info.value) == outcome[1]


def test_elman_accepts_what_torch_rejects() -> None:
    """Lists where torch raises AttributeError/TypeError; float batch_sizes become int64."""
    assert [p.tolist() for p in U.unpad_sequence(elman.tensor([[1, 2], [3, 0]]), [2, 1])] == [
        [1, 3],
        [2],
    ]
    assert U.invert_permutation([1, 0]).tolist() == [1, 0]
    packed = U.PackedSequence(elman.tensor([1.0, 2.0]), elman.tensor([1.0, 1.0]))
    assert packed.batch_sizes.dtype == np.int64
    with pytest.raises(ValueError, match="PackedSequence needs batch_sizes"):
        U.PackedSequence(elman.tensor([1.0, 2.0]))  # torch: a bare AssertionError
    with pytest.raises(RuntimeError, match=re.escape("permutation of 0..N-1, got [0, 0]")):
        U.invert_permutation([0, 0])  # torch: uninitialised memory in the result


@requires_torch
def test_torch_rejects_what_elman_accepts() -> None:
    with pytest.raises(AttributeError, match="'list' object has no attribute 'device'"):
        TU.unpad_sequence(TORCH.tensor([[1, 2], [3, 0]]), [2, 1])
    with pytest.raises(TypeError, match="must be Tensor, not list"):
        TU.invert_permutation([1, 0])
    packed = TU.PackedSequence(TORCH.tensor([1.0, 2.0]), TORCH.tensor([1.0, 1.0]))
    assert packed.batch_sizes.dtype == TORCH.float32
    with pytest.raises(AssertionError):
        TU.PackedSequence(TORCH.tensor([1.0, 2.0]))


def test_lengths_keyword_errors() -> None:
    rnn = elman.nn.RNN(3, 4, 2)
    with pytest.raises(ValueError, match="lengths= needs a batched 3-D input, got a 2D tensor"):
        rnn(elman.zeros(5, 3), lengths=[5])
    with pytest.raises(ValueError, match="a PackedSequence has its own"):
        rnn(_packed_input(elman), lengths=[5, 2, 4])
    x = elman.zeros(5, 3, 3)
    with pytest.raises(RuntimeError, match="at most the padded length 5"):
        rnn(x, lengths=[6, 2, 1])
    with pytest.raises(RuntimeError, match=re.escape("but got 2 (batch_size=3)")):
        rnn(x, lengths=[5, 2])
    with pytest.raises(RuntimeError, match=re.escape(LEN0_MSG)):
        rnn(x, lengths=[5, 0, 1])
    with pytest.raises(RuntimeError, match=re.escape("size (2, 3, 4), got [2, 2, 4]")):
        rnn(x, elman.zeros(2, 2, 4), lengths=[5, 2, 1])
    with pytest.raises(RuntimeError, match="Expected sequence length to be larger than 0"):
        rnn(elman.zeros(0, 3, 3), lengths=[1, 1, 1])
    with pytest.raises(ValueError, match="does not match weight dtype"):
        rnn(elman.zeros(5, 3, 3, dtype=elman.float64), lengths=[5, 2, 1])


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


def test_gradcheck_pad_and_unpad_sequence() -> None:
    rng = np.random.default_rng(18)
    seqs = [
        elman.tensor(rng.standard_normal(s), requires_grad=True)
        for s in ((3, 2), (1, 2), (4, 1), (2, 2))
    ]  # (4, 1) broadcasts
    for side, bf in itertools.product(("right", "left"), (False, True)):
        assert elman.autograd.gradcheck(
            lambda *s, side=side, bf=bf: U.pad_sequence(
                s, batch_first=bf, padding_value=3.0, padding_side=side
            ),
            seqs,
        )
    padded = elman.tensor(rng.standard_normal((4, 3, 2)), requires_grad=True)
    for bf in (False, True):
        assert elman.autograd.gradcheck(
            lambda p, bf=bf: tuple(
                U.unpad_sequence(p, [2, 3, 1, 3] if bf else [4, 1, 3], batch_first=bf)
            ),
            [padded],
        )


def test_gradcheck_pack_sequence_and_unpack_sequence() -> None:
    rng = np.random.default_rng(19)
    seqs = [elman.tensor(rng.standard_normal((n, 2)), requires_grad=True) for n in (2, 4, 1)]

    def fn(*s: elman.Tensor) -> tuple[Any, ...]:
        packed = U.pack_sequence(s, enforce_sorted=False)
        return (packed.data * packed.data, *U.unpack_sequence(packed))

    assert elman.autograd.gradcheck(fn, seqs)


def test_packing_sends_no_gradient_to_padding() -> None:
    x = elman.tensor(np.ones((4, 3, 2)), requires_grad=True)
    packed = U.pack_padded_sequence(x, [2, 4, 1], enforce_sorted=False)
    cot = np.arange(1.0, 15.0).reshape(7, 2)
    (packed.data * elman.tensor(cot)).sum().backward()
    want = np.zeros((4, 3, 2))  # each valid position gets the cotangent of its packed row
    rows = iter(cot)
    for t, active in enumerate(packed.batch_sizes.tolist()):
        for col in range(active):
            want[t, packed.sorted_indices.tolist()[col]] = next(rows)
    np.testing.assert_array_equal(to_numpy(x.grad), want)
