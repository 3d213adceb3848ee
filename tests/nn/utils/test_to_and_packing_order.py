"""``Tensor.to`` / ``PackedSequence.to`` with torch's overloads, and the order of
``pack_padded_sequence``'s checks on empty inputs (found by running torch's own tests)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import elman
from conftest import requires_torch
from elman.nn.utils.rnn import pack_padded_sequence


def test_to_without_a_dtype_returns_the_tensor_unchanged() -> None:
    t = elman.tensor([16777217])  # int64: a cast to float32 would give 16777216
    for call in (t.to, lambda: t.to(device="cpu"), lambda: t.to("cpu"), lambda: t.to(None)):
        out = call()
        assert out is t
        assert out.dtype == np.int64 and out.item() == 16777217


def test_to_with_a_device_and_a_dtype() -> None:
    t = elman.tensor([16777217])
    for out in (
        t.to("cpu", dtype=elman.float64),
        t.to("cpu", elman.float64),
        t.to(device="cpu", dtype="float64"),
        t.to("cpu:0", np.float64, False, False),
    ):
        assert out.dtype == np.float64 and out.item() == 16777217.0
    assert t.to(elman.zeros(1, dtype=elman.float64)).dtype == np.float64  # to(other)
    with pytest.raises(ValueError, match="CPU only"):
        t.to("cuda", elman.float64)


def test_to_copy_returns_a_new_tensor_with_the_same_values() -> None:
    x = elman.tensor([1.0, 2.0], requires_grad=True)
    y = x.to(copy=True)
    assert y is not x and np.array_equal(y.detach().numpy(), [1.0, 2.0])
    y.sum().backward()  # the copy stays in the graph
    assert np.array_equal(x.grad.numpy(), [1.0, 1.0])
    assert x.to(elman.float32, copy=True) is not x


@requires_torch
def test_to_takes_a_torch_device(torch_or_skip) -> None:
    torch = torch_or_skip
    t = elman.tensor([16777217])
    assert t.to(torch.device("cpu")) is t
    assert t.to(torch.device("cpu"), elman.float64).dtype == np.float64
    # and torch agrees on what each form does
    tt = torch.tensor([16777217])
    assert tt.to() is tt and tt.to(device="cpu") is tt
    assert tt.to("cpu", dtype=torch.float64).item() == t.to("cpu", dtype=elman.float64).item()


def test_packed_sequence_to() -> None:
    p = pack_padded_sequence(elman.tensor([[1, 2], [3, 0]]), [2, 1], batch_first=True)
    assert p.to() is p and p.to(device="cpu") is p and p.to("cpu") is p
    q = p.to("cpu", dtype=elman.float64)
    assert q is not p and q.data.dtype == np.float64
    assert np.array_equal(q.data.numpy(), [1.0, 3.0, 2.0])
    assert np.array_equal(q.batch_sizes.numpy(), p.batch_sizes.numpy())
    assert p.to(np.int64) is p and p.to("cpu", dtype=np.int64) is p  # already int64
    assert np.array_equal(p.long().data.numpy(), p.to(np.int64).data.numpy())


_SHAPES = [(), (3,), (0,), (3, 2), (0, 2, 3), (2, 0, 3), (2, 2, 0)]
_LENGTHS = [[1, 2], [[1], [2]], [], [2, 1], [0, 0]]


def _outcome(fn, lib, shape, lengths, batch_first) -> str:
    try:
        x = lib.ones(*shape) if shape else lib.tensor(1.0)
        fn(x, lengths, batch_first=batch_first, enforce_sorted=True)
        return "ok"
    except Exception as e:  # noqa: BLE001 - comparing exception types and texts
        return f"{type(e).__name__}: {e}"


@requires_torch
def test_pack_padded_sequence_reports_errors_in_torchs_order(torch_or_skip) -> None:
    """Every combination of ranks, empty dimensions and malformed lengths gives torch's
    exception and text (with enforce_sorted=True; the unsorted path differs on purpose,
    docs/differences.md)."""
    torch = torch_or_skip
    from torch.nn.utils.rnn import pack_padded_sequence as torch_pack

    for shape, lengths, bf in itertools.product(_SHAPES, _LENGTHS, [False, True]):
        want = _outcome(torch_pack, torch, shape, lengths, bf)
        got = _outcome(pack_padded_sequence, elman, shape, lengths, bf)
        assert got == want, (shape, lengths, bf)


def test_empty_input_is_reported_before_malformed_lengths() -> None:
    # torch's own test: a (0, 1, 10) batch-first input with 4-D float "lengths"
    with pytest.raises(RuntimeError, match="empty tensor"):
        pack_padded_sequence(elman.randn(0, 1, 10), elman.randn(11, 14, 14, 2), True)
    with pytest.raises(RuntimeError, match="empty tensor"):
        pack_padded_sequence(elman.randn(0, 0), [])
    for shape in [(0,), (0, 2, 3), (2, 2, 0)]:
        for lengths in ([[1], [2]], [], [5, 7]):
            with pytest.raises(RuntimeError, match="Cannot pack empty tensors"):
                pack_padded_sequence(elman.zeros(*shape), lengths)
