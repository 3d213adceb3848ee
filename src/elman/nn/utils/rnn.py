"""Variable-length batches: PackedSequence and torch's ``nn.utils.rnn`` helpers.

A PackedSequence stores sequences of different lengths time-major without padding: step t
holds one row for each sequence longer than t, longest sequences first, so the active batch
shrinks over time (``batch_sizes``). Packing, padding and unpacking are differentiable.

Where torch is defective elman does better: lengths longer than the padded length are
rejected, and no function mutates its input (torch's ``unpad_sequence`` transposes it).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from ... import _kernels
from ..._kernels import packing_ref
from ...autograd import Tensor
from ...autograd._checks import check_allocation, check_flag, check_int
from ...autograd.trace_hook import HOOK
from .._checks import as_input
from ._pack_ops import _Pack, _Unpack
from ._padding import (
    _int_array,
    _lengths_array,
    check_padding_value,
    pad_sequence,
    unpad_sequence,
)
from ._stdsort import argsort_descending

__all__ = [
    "PackedSequence",
    "invert_permutation",
    "pack_padded_sequence",
    "pad_packed_sequence",
    "pad_sequence",
    "unpad_sequence",
    "pack_sequence",
    "unpack_sequence",
]


def invert_permutation(permutation: Any) -> Tensor | None:
    """The inverse of a permutation: ``out[permutation[i]] = i``.

    Args:
        permutation: (N,) a permutation of 0..N-1 (list, ndarray or Tensor), or None;
            anything else raises (torch returns uninitialised memory).

    Returns:
        (N,) int64 Tensor, or None for None.

    Example:
        >>> from elman.nn.utils.rnn import invert_permutation
        >>> invert_permutation([2, 0, 1])
        tensor([1, 2, 0])
    """
    if permutation is None:
        return None
    given = np.asarray(permutation)
    if given.size and given.dtype.kind not in "iu":  # torch: scatter() refuses it
        raise RuntimeError("invert_permutation: expected an integer permutation (int32/int64)")
    perm = _int_array(permutation)
    if perm.ndim != 1 or not np.array_equal(np.sort(perm), np.arange(perm.size)):
        # torch scatters anyway and leaves uninitialised memory in the result
        raise RuntimeError(
            f"invert_permutation: expected a permutation of 0..N-1, got {perm.tolist()}"
        )
    return Tensor._make(_inverse(perm))


def _inverse(perm: np.ndarray) -> np.ndarray:
    """The inverse of an int64 permutation known to be valid."""
    out = np.empty_like(perm)
    out[perm] = np.arange(perm.size, dtype=np.int64)
    return out


_NO_ORDER = np.empty(0, dtype=np.int64)  # packed column j is batch column j


class _PackedBase(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


class PackedSequence(_PackedBase):
    """Sequences of different lengths packed time-major, longest first.

    Fields:
        data: (sum of lengths, *) rows of every step, step after step.
        batch_sizes: (L,) int64, the number of sequences active at each step.
        sorted_indices: original batch index of each packed column (None when the input
            was already sorted by decreasing length).
        unsorted_indices: the inverse of sorted_indices.

    Build it with :func:`pack_padded_sequence` or :func:`pack_sequence`, not by hand. Like
    torch's it is a named tuple; ``.to(dtype)``, ``.float()``, ``.double()``, ``.half()``,
    ``.long()``, ``.int()``, ``.short()``, ``.char()`` and ``.byte()`` convert ``data`` and
    return ``self`` when nothing changes.

    Example:
        >>> import elman
        >>> from elman.nn.utils.rnn import pack_sequence
        >>> a, b = elman.tensor([1.0, 2.0, 3.0]), elman.tensor([4.0, 5.0])
        >>> pack_sequence([a, b]).batch_sizes
        tensor([2, 2, 1])
    """

    def __new__(
        cls,
        data: Any,
        batch_sizes: Any = None,
        sorted_indices: Any = None,
        unsorted_indices: Any = None,
    ) -> PackedSequence:
        if batch_sizes is None:
            raise ValueError("PackedSequence needs batch_sizes; build it with pack_padded_sequence")
        bs = Tensor._make(_int_array(batch_sizes))
        srt = None if sorted_indices is None else Tensor._make(_int_array(sorted_indices))
        if unsorted_indices is None:
            uns = invert_permutation(srt)
        else:
            uns = Tensor._make(_int_array(unsorted_indices))
        data_t = data if isinstance(data, Tensor) else as_input(data)
        return super().__new__(cls, data_t, bs, srt, uns)

    # True when built by pack_padded_sequence / pack_sequence or returned by an RNN: the
    # layout is right by construction and RNN.forward skips checking it again
    _checked = False

    def _with_data(self, data: Tensor) -> PackedSequence:
        """The same layout around new rows, without re-converting the index arrays."""
        out = tuple.__new__(
            type(self), (data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)
        )
        out._checked = self._checked
        return out

    def to(self, *args: Any, **kwargs: Any) -> PackedSequence:
        """``self.data.to(*args, **kwargs)`` in a PackedSequence (``self`` when the data
        did not change); the index tensors keep their dtype, as in torch."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def float(self) -> PackedSequence:
        return self.to(np.float32)

    def double(self) -> PackedSequence:
        return self.to(np.float64)

    def half(self) -> PackedSequence:
        return self.to(np.float16)

    def long(self) -> PackedSequence:
        return self.to(np.int64)

    def int(self) -> PackedSequence:
        return self.to(np.int32)

    def short(self) -> PackedSequence:
        return self.to(np.int16)

    def char(self) -> PackedSequence:
        return self.to(np.int8)

    def byte(self) -> PackedSequence:
        return self.to(np.uint8)

    def cpu(self) -> PackedSequence:
        return self

    @property
    def is_cuda(self) -> bool:
        return False

    def is_pinned(self) -> bool:
        return False


def pack_padded_sequence(
    input: Any, lengths: Any, batch_first: bool = False, enforce_sorted: bool = True
) -> PackedSequence:
    """Pack a padded batch of sequences of different lengths.

    Step t of the result holds ``input[t, i]`` for every sequence i with ``lengths[i] > t``,
    longest sequences first, so ``batch_sizes[t] = #{i : lengths[i] > t}``. Gradients flow
    back to the valid positions of ``input`` (padding gets zero).

    Args:
        input: (T, N, *) padded batch, or (N, T, *) if ``batch_first``.
        lengths: the N lengths, each in [1, T]: a list, ndarray or Tensor (floats are cast
            to int64, as in torch).
        batch_first: the batch axis comes first. Default: ``False``.
        enforce_sorted: demand lengths in decreasing order. With ``False`` they are sorted
            here (ties in torch's order) and the permutation is kept in ``sorted_indices``.
            Default: ``True``.

    Returns:
        a :class:`PackedSequence`.

    Unlike torch, a length greater than T raises instead of building a corrupt sequence.

    Example:
        >>> import elman
        >>> from elman.nn.utils.rnn import pack_padded_sequence
        >>> x = elman.tensor([[1, 2, 0], [3, 0, 0], [4, 5, 6]])
        >>> packed = pack_padded_sequence(x, [2, 1, 3], batch_first=True, enforce_sorted=False)
        >>> packed.data, packed.batch_sizes, packed.sorted_indices
        (tensor([4, 1, 3, 5, 2, 6]), tensor([3, 2, 1]), tensor([2, 0, 1]))
    """
    tracer = HOOK.tracer
    if tracer is not None and not tracer.depth:  # elman.onnx.export: lengths as a graph input
        return tracer.pack_padded(pack_padded_sequence, input, lengths, batch_first, enforce_sorted)  # type: ignore[no-any-return]
    lens = _int_array(lengths)  # torch's order: convert the lengths, check the flag, then
    batch_first = check_flag("batch_first", batch_first, "_pack_padded_sequence")
    x = as_input(input)
    # the empty input, the batch_first transpose, the lengths' rank, then the batch dimension
    # (an empty input with malformed lengths is "empty" first)
    if x.numel() == 0:
        raise RuntimeError("Cannot pack empty tensors.")
    if batch_first and x.ndim < 2:
        raise IndexError("Dimension out of range (expected to be in range of [-1, 0], but got 1)")
    lens = _lengths_array(lens)
    if x.ndim == 0:
        raise IndexError("Dimension specified as 1 but tensor has no dimensions")
    if x.ndim == 1:
        raise IndexError("Dimension out of range (expected to be in range of [-1, 0], but got 1)")
    batch_dim = 0 if batch_first else 1
    batch, total = x.shape[batch_dim], x.shape[1 - batch_dim]
    if lens.size != batch:
        raise RuntimeError(
            f"Expected `len(lengths)` to be equal to batch_size, but got {lens.size} "
            f"(batch_size={batch})"
        )
    if enforce_sorted:
        sorted_idx = order = None
        lens_sorted = lens
    else:
        order = argsort_descending(lens)  # ties in torch's order
        sorted_idx = order
        lens_sorted = lens[order]
    ls = lens_sorted.tolist()  # (Python scalars: small numpy ops cost a microsecond each)
    if ls[-1] <= 0:
        raise RuntimeError(
            "Length of all samples has to be greater than 0, but found an element in "
            "'lengths' that is <= 0"
        )
    if ls != sorted(ls, reverse=True):  # (one C-level sort and compare: no per-pair Python)
        raise RuntimeError(
            "`lengths` array must be sorted in decreasing order when `enforce_sorted` is "
            "True. You can pass `enforce_sorted=False` to pack_padded_sequence and/or "
            "pack_sequence to sidestep this requirement if you do not need ONNX exportability."
        )
    if ls[0] > total:  # torch silently builds a corrupt PackedSequence here
        raise RuntimeError(
            f"Length of all samples has to be at most the padded length {total}, but found "
            f"an element in 'lengths' that is {ls[0]}"
        )
    batch_sizes = _kernels.batch_sizes_of(lens_sorted)  # (lengths checked above)
    order = _NO_ORDER if order is None else order
    src, pad = _kernels.packed_rows(batch_sizes, order, total, batch_first)
    data = _Pack.apply(x, src, pad)
    srt = None if sorted_idx is None else Tensor._make(sorted_idx)
    uns = None if sorted_idx is None else Tensor._make(_inverse(sorted_idx))
    packed = tuple.__new__(PackedSequence, (data, Tensor._make(batch_sizes), srt, uns))
    packed._checked = True  # right by construction: RNN.forward does not check it again
    return packed


def pad_packed_sequence(
    sequence: PackedSequence,
    batch_first: bool = False,
    padding_value: float = 0.0,
    total_length: int | None = None,
) -> tuple[Tensor, Tensor]:
    """Undo :func:`pack_padded_sequence`: the padded batch and the lengths, original order.

    Args:
        sequence: a :class:`PackedSequence` with ``data`` (sum of lengths, *).
        batch_first: return (N, T, *) instead of (T, N, *). Default: ``False``.
        padding_value: the value of padding positions. Default: ``0.0``.
        total_length: pad to this length T instead of the longest sequence's (at least
            that long; useful to restore the padded length of the input). Default: None.

    Returns:
        (padded, lengths): padded (T, N, *), or (N, T, *) if ``batch_first``; lengths an
        (N,) int64 Tensor. Gradients flow back to ``sequence.data``.

    Example:
        >>> import elman
        >>> from elman.nn.utils.rnn import pack_sequence, pad_packed_sequence
        >>> packed = pack_sequence([elman.tensor([1, 2]), elman.tensor([3, 4, 5])],
        ...                        enforce_sorted=False)
        >>> pad_packed_sequence(packed, batch_first=True, padding_value=-1, total_length=4)
        (tensor([[ 1,  2, -1, -1],
                [ 3,  4,  5, -1]]), tensor([2, 3]))
    """
    tracer = HOOK.tracer
    if tracer is not None and not tracer.depth:  # elman.onnx.export: the RNN's padded Y
        return tracer.pad_packed(
            pad_packed_sequence, sequence, batch_first, padding_value, total_length
        )  # type: ignore[no-any-return]
    bs = sequence.batch_sizes.numpy()
    max_len = len(bs)
    # torch's order: total_length compared first, then the types of the arguments
    if isinstance(total_length, (int, float, np.number)) and total_length < max_len:
        raise ValueError(
            "Expected total_length to be at least the length of the longest sequence in "
            f"input, but got total_length={total_length} and max sequence length being "
            f"{max_len}"
        )
    batch_first = check_flag("batch_first", batch_first, "_pad_packed_sequence")
    check_padding_value(padding_value, "_pad_packed_sequence")
    if total_length is not None:
        max_len = check_int("total_length", total_length, "_pad_packed_sequence")
    batch = int(bs[0])
    data = sequence.data
    nbytes = max_len * batch * math.prod(data.shape[1:]) * data.dtype.itemsize
    check_allocation(nbytes, f"the padded batch of {max_len} steps")
    # built by the library: the compiled maps; by hand: the reference (IndexError when bad)
    maps = _kernels if sequence._checked else packing_ref
    lengths = maps.batch_sizes_of(bs)  # steps per packed column (both sorted, longest first)
    unsorted = sequence.unsorted_indices
    # the original batch index of packed column c: uns⁻¹[c]
    order = _NO_ORDER if unsorted is None else _inverse(unsorted.numpy())
    dst, pad = maps.packed_rows(bs, order, max_len, batch_first)
    if unsorted is not None:
        lengths = lengths[unsorted.numpy()]
    shape = (batch, max_len) if batch_first else (max_len, batch)  # (no transpose node)
    padded = _Unpack.apply(data, dst, pad, (*shape, *data.shape[1:]), padding_value)
    return padded, Tensor._make(lengths)


def pack_sequence(sequences: Sequence[Any], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of sequences of different lengths: ``pack_padded_sequence(pad_sequence(
    sequences), lengths, enforce_sorted=enforce_sorted)``.

    Args:
        sequences: N tensors (L_i, *), each L_i > 0.
        enforce_sorted: demand decreasing lengths. Default: ``True``.

    Returns:
        a :class:`PackedSequence`.

    Example:
        >>> import elman
        >>> from elman.nn.utils.rnn import pack_sequence
        >>> packed = pack_sequence([elman.tensor([1, 2, 3]), elman.tensor([4, 5]),
        ...                         elman.tensor([6])])
        >>> packed.data, packed.batch_sizes
        (tensor([1, 4, 6, 2, 5, 3]), tensor([3, 2, 1]))
    """
    seqs = [as_input(s) for s in sequences]
    if any(s.ndim == 0 for s in seqs):
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    lengths = [s.shape[0] for s in seqs]
    return pack_padded_sequence(pad_sequence(seqs), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """The sequences of a PackedSequence, in their original order (inverse of
    :func:`pack_sequence`).

    Args:
        packed_sequences: a :class:`PackedSequence`.

    Returns:
        a list of N Tensors (L_i, *) that carry gradients back to ``packed_sequences.data``.

    Example:
        >>> import elman
        >>> from elman.nn.utils.rnn import pack_sequence, unpack_sequence
        >>> seqs = [elman.tensor([1, 2]), elman.tensor([3, 4, 5])]
        >>> unpack_sequence(pack_sequence(seqs, enforce_sorted=False))
        [tensor([1, 2]), tensor([3, 4, 5])]
    """
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
