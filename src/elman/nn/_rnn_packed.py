"""RNN.forward for variable-length batches: a PackedSequence, or padded input + ``lengths``."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from ..autograd import Tensor, zeros
from ._checks import dtype_mismatch
from ._rnn_fast import fast_forward_packed
from ._rnn_function import PACKED
from .utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

if TYPE_CHECKING:
    from .rnn import RNN


def _shape_text(shape: Any, brackets: str = "()") -> str:
    return brackets[0] + ", ".join(str(n) for n in shape) + brackets[1]


def check_layout(packed: PackedSequence) -> None:
    """A hand-built PackedSequence must still describe its data (torch fails mid-run or
    silently reads the wrong rows)."""
    if packed._checked:  # built by pack_padded_sequence / pack_sequence / an RNN
        return
    bs, rows = packed.batch_sizes.numpy(), packed.data.shape[0]
    if bs.ndim != 1 or bs.size == 0 or bs[-1] <= 0 or np.any(np.diff(bs) > 0):
        raise RuntimeError(
            "PackedSequence batch_sizes must be a non-empty 1-D sequence of positive, "
            f"non-increasing counts, got {bs.tolist()}"
        )
    if int(bs.sum()) != rows:
        raise RuntimeError(
            f"PackedSequence batch_sizes add up to {int(bs.sum())} steps, but data has {rows} rows"
        )
    n = int(bs[0])
    srt, uns = packed.sorted_indices, packed.unsorted_indices
    for name, index in (("sorted_indices", srt), ("unsorted_indices", uns)):
        if index is not None and not np.array_equal(np.sort(index.numpy()), np.arange(n)):
            raise RuntimeError(
                f"PackedSequence {name} must be a permutation of the {n} sequences, "
                f"got {index.numpy().tolist()}"
            )
    if srt is not None and uns is not None:
        if not np.array_equal(uns.numpy()[srt.numpy()], np.arange(n)):
            raise RuntimeError("PackedSequence unsorted_indices must invert sorted_indices")


def check_packed(rnn: RNN, packed: PackedSequence, hx: Tensor | None) -> None:
    """dtype, rank, features, batch_sizes and hx shape of a packed input.

    hx is checked before it is permuted to the packed order, so a wrong batch gets torch's
    "Expected hidden size" message instead of an indexing error (or, for a larger batch, no
    error at all).
    """
    rnn._check_weights()
    data = packed.data
    want = rnn.weight_ih_l0.dtype
    if data.dtype != want:
        raise ValueError(dtype_mismatch("RNN input", data.dtype, want))
    if data.ndim != 2:
        raise RuntimeError(f"input must have 2 dimensions, got {data.ndim}")
    if data.shape[-1] != rnn.input_size:
        raise RuntimeError(
            f"input.size(-1) must be equal to input_size. Expected {rnn.input_size}, "
            f"got {data.shape[-1]}"
        )
    check_layout(packed)
    if hx is not None:
        N = int(packed.batch_sizes.numpy()[0])
        expected = (rnn.num_layers * rnn.num_directions, N, rnn.hidden_size)
        if tuple(hx.shape) != expected:
            raise RuntimeError(
                f"Expected hidden size {_shape_text(expected)}, got {_shape_text(hx.shape, '[]')}"
            )
        if hx.dtype != want:  # torch: "mat1 and mat2 must have the same dtype"
            raise RuntimeError(dtype_mismatch("RNN hx", hx.dtype, want, arg="hx"))


def forward_packed(
    rnn: RNN, packed: PackedSequence, hx: Tensor | None
) -> tuple[PackedSequence, Tensor]:
    """Run on a PackedSequence; hx and h_n are in the original batch order."""
    batch_sizes = packed.batch_sizes.numpy()
    result = None
    if hx is None and packed._checked:  # the lane checks once per call signature, as for
        # dense input (~4 us a call): its plan is made after check_packed passes
        check = partial(check_packed, rnn, packed, None)
        result = fast_forward_packed(rnn, packed.data, batch_sizes, None, check)
    if result is None:
        check_packed(rnn, packed, hx)
        if hx is not None and packed.sorted_indices is not None:
            hx = hx[:, packed.sorted_indices.numpy()]  # the kernels see the packed order
        result = fast_forward_packed(rnn, packed.data, batch_sizes, hx)
    if result is None:  # the general path
        if hx is None:
            shape = (rnn.num_layers * rnn.num_directions, int(batch_sizes[0]), rnn.hidden_size)
            hx = zeros(*shape, dtype=packed.data.dtype)
        result = rnn._run(packed.data, hx, PACKED, batch_sizes)
    data, h_n = result
    if packed.unsorted_indices is not None:
        h_n = h_n[:, packed.unsorted_indices.numpy()]
    return packed._with_data(data), h_n


def forward_lengths(
    rnn: RNN, input: Tensor, hx: Tensor | None, lengths: Any
) -> tuple[Tensor, Tensor]:
    """Padded input with per-sequence lengths: exactly pack -> RNN -> pad, in any order."""
    if input.ndim != 3:
        raise ValueError(
            f"lengths= needs a batched 3-D input, got a {input.ndim}D tensor; an unbatched "
            "sequence has a single length already"
        )
    rnn.check_input(input, hx)
    total = input.shape[1 if rnn.batch_first else 0]
    packed = pack_padded_sequence(input, lengths, batch_first=rnn.batch_first, enforce_sorted=False)
    out, h_n = forward_packed(rnn, packed, hx)
    padded, _ = pad_packed_sequence(out, batch_first=rnn.batch_first, total_length=total)
    return padded, h_n
