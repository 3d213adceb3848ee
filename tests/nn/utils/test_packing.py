"""PackedSequence and the packing helpers of ``elman.nn.utils.rnn``: fields, conversions,
the forms of ``lengths``, torch's order of ties, pack/pad/unpad round trips against torch,
and their gradients (float64 gradcheck; padding gets none).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from packed_cases import (
    TU,
    _fixed_weights,  # noqa: F401  (an autouse fixture)
    _lib_utils,
)

import elman
from conftest import (
    TORCH,
    requires_torch,
    to_numpy,
)
from elman.nn.utils import rnn as U
from elman.nn.utils._stdsort import _heap_sort, argsort_descending

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


def test_packing_gradient_is_the_inputs_own_and_accumulates() -> None:
    # the pack's backward hands its fresh padded gradient to x.grad without a copy: it must
    # share memory with nothing of the graph, and a second backward must add to it
    x = elman.tensor(np.ones((3, 2, 2)), requires_grad=True)
    cot = elman.tensor(np.arange(1.0, 11.0).reshape(5, 2))
    packed = U.pack_padded_sequence(x, [3, 2])
    (packed.data * cot).sum().backward()
    first = to_numpy(x.grad).copy()
    want = np.zeros((3, 2, 2))
    want[[0, 0, 1, 1, 2], [0, 1, 0, 1, 0]] = np.arange(1.0, 11.0).reshape(5, 2)
    np.testing.assert_array_equal(first, want)
    for arr in (packed.data, cot, x):
        assert not np.shares_memory(x.grad.numpy(), arr.detach().numpy())
    packed = U.pack_padded_sequence(x, [3, 2])
    (packed.data * cot).sum().backward()
    np.testing.assert_array_equal(to_numpy(x.grad), 2 * want)
    np.testing.assert_array_equal(first, want)  # the first .grad array was not written into


@pytest.mark.parametrize("lengths", [[2, 3], [3, 1, 2], [1, 1, 2]])
def test_pack_refuses_unsorted_lengths(lengths: list[int]) -> None:
    with pytest.raises(RuntimeError, match="must be sorted in decreasing order"):
        U.pack_padded_sequence(elman.tensor(np.ones((3, len(lengths)))), lengths)
    lens = np.array(lengths, dtype=np.int64)  # an int64 array: the lengths' fast path
    with pytest.raises(RuntimeError, match="must be sorted in decreasing order"):
        U.pack_padded_sequence(elman.tensor(np.ones((3, len(lengths)))), lens)
    assert lens.tolist() == lengths  # left alone
