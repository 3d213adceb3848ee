"""Padding helpers of ``elman.nn.utils.rnn``: pad_sequence, unpad_sequence, length checks."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ...autograd import Tensor
from ...autograd._checks import broadcast_shapes, check_flag
from ...autograd._operands import unbroadcast
from ...autograd.function import Context, Function
from .._checks import as_input
from .._module_state import to_ndarray


def _int_array(value: Any, name: str = "lengths") -> np.ndarray:
    """Integers as an int64 array; finite floats are truncated (torch casts float lengths).

    TypeError for what is not numbers; ValueError for integers beyond int64 (torch:
    "Overflow when unpacking long long"), RuntimeError for floats that are NaN, inf or beyond
    int64 (torch's "value cannot be converted to type int64 without overflow").
    """
    if type(value) is np.ndarray and value.dtype == np.int64:
        return value  # what the conversions below return for it (pack_padded_sequence
        # converts its lengths twice: once before its flag check, as torch, once for the rank)
    if isinstance(value, (list, tuple, range, int, np.integer)):
        try:
            arr = np.asarray(value)
        except ValueError:  # ragged nesting
            raise ValueError(f"{name} must be a flat sequence of integers, got {value!r}") from None
    else:
        arr = to_ndarray(value)
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all() or np.abs(arr).max(initial=0) >= 2.0**63:
            raise RuntimeError(  # torch's text
                f"value cannot be converted to type int64 without overflow: {name} {arr.tolist()}"
            )
        arr = arr.astype(np.int64)  # torch casts float lengths too
    if arr.dtype.kind == "O" or arr.dtype == np.uint64 and arr.max(initial=0) >= 2**63:
        raise ValueError(f"{name} must fit in int64 (Overflow when unpacking long long)")
    if arr.dtype.kind not in "biu":
        raise TypeError(f"{name} must be integers, got an array of {arr.dtype}")
    return np.asarray(arr, dtype=np.int64)


def check_padding_value(value: Any, where: str) -> None:
    """A padding value is a number (torch: "argument 'padding_value' must be float")."""
    if not isinstance(value, (int, float, np.number, np.bool_)):
        raise TypeError(
            f"{where}(): argument 'padding_value' must be float, not {type(value).__name__}"
        )


def _lengths_array(lengths: Any) -> np.ndarray:
    arr = _int_array(lengths)
    if arr.ndim != 1:
        raise RuntimeError(
            f"'lengths' argument should be a 1D CPU int64 tensor, but got {arr.ndim}D cpu "
            "Long tensor"
        )
    return arr


def pad_sequence(
    sequences: Any,
    batch_first: bool = False,
    padding_value: float = 0.0,
    padding_side: str = "right",
) -> Tensor:
    """Stack sequences of different lengths into one batch, padded with ``padding_value``.

    Sequence i of shape (L_i, *) fills ``out[:L_i, i]`` (``padding_side='left'``:
    ``out[T - L_i:, i]``) of the (T, N, *) output, T = max L_i. As in torch, the trailing
    dimensions are those of the first sequence and the others are broadcast to them; the
    output has the first sequence's dtype. Gradients flow back to every sequence.

    Args:
        sequences: an iterable of N tensors (L_i, *); a Tensor is taken row by row.
        batch_first: return (N, T, *) instead of (T, N, *). Default: ``False``.
        padding_value: the value of padding positions. Default: ``0``.
        padding_side: ``'right'`` (default) or ``'left'``.

    Returns:
        a Tensor (T, N, *), or (N, T, *) if ``batch_first``.

    Example:
        >>> import elman
        >>> from elman.nn.utils.rnn import pad_sequence
        >>> pad_sequence([elman.tensor([1, 2, 3]), elman.tensor([4])], batch_first=True)
        tensor([[1, 2, 3],
                [4, 0, 0]])
    """
    if not isinstance(sequences, Iterable):
        raise RuntimeError(
            "pad_sequence: Expected iterable for input sequences, but got arg of type: "
            f"{type(sequences)}"
        )
    check_padding_value(padding_value, "pad_sequence")  # (the arguments' types first)
    batch_first = check_flag("batch_first", batch_first, "pad_sequence")
    if not isinstance(padding_side, str):
        raise TypeError(
            "pad_sequence(): argument 'padding_side' (position 4) must be str, not "
            f"{type(padding_side).__name__}"
        )
    seqs = [as_input(s) for s in sequences]
    if not seqs:
        raise RuntimeError("received an empty list of sequences")
    if padding_side not in ("left", "right"):
        raise RuntimeError(
            f"Expected padding_side to be one of left or right, but got {padding_side}."
        )
    _check_pad_shapes([s.shape for s in seqs])
    dtype = seqs[0].dtype
    seqs = [s if s.dtype == dtype else s.to(dtype) for s in seqs]
    out = _PadSequence.apply(*seqs, pad=padding_value, left=padding_side == "left")
    return out.transpose(0, 1) if batch_first else out


def _check_pad_shapes(shapes: list[tuple[int, ...]]) -> None:
    """torch's checks: each (L_i, *) copies into (L_i, *first trailing dims) by broadcasting."""
    if len(shapes[0]) == 0:  # torch: "ArrayRef: invalid slice, N = 1; size = 0"
        raise RuntimeError(
            "pad_sequence: expected sequences of at least one dimension (the length), got a "
            "0-D tensor first"
        )
    if any(len(s) == 0 for s in shapes):
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    trailing = tuple(shapes[0][1:])
    for src in shapes[1:]:
        dest = (src[0], *trailing)
        if broadcast_shapes(dest, tuple(src)) != dest:
            raise RuntimeError(
                f"output with shape {list(dest)} doesn't match the broadcast shape "
                f"{list(broadcast_shapes(dest, tuple(src)))}"
            )


class _PadSequence(Function):
    backward_name = "PadSequenceBackward0"

    @staticmethod
    def forward(ctx: Context, *seqs: np.ndarray, pad: Any, left: bool) -> np.ndarray:
        lengths = [len(s) for s in seqs]
        total = max(lengths)
        out = np.full((total, len(seqs), *seqs[0].shape[1:]), pad, dtype=seqs[0].dtype)
        starts = [total - n if left else 0 for n in lengths]
        for i, (s, a) in enumerate(zip(seqs, starts, strict=True)):
            out[a : a + len(s), i] = s  # broadcasts s to the first sequence's trailing dims
        ctx.spans = [(a, a + n) for a, n in zip(starts, lengths, strict=True)]
        ctx.shapes = [s.shape for s in seqs]
        return out

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[np.ndarray, ...]:
        return tuple(
            unbroadcast(g[a:b, i], shape)
            for i, ((a, b), shape) in enumerate(zip(ctx.spans, ctx.shapes, strict=True))
        )


def unpad_sequence(padded_sequences: Any, lengths: Any, batch_first: bool = False) -> list[Tensor]:
    """Split a padded batch back into its sequences (the inverse of :func:`pad_sequence`).

    Unlike torch's, this never modifies ``padded_sequences``, and lengths outside [0, T]
    raise instead of being cut to T or wrapped around.

    Args:
        padded_sequences: (T, N, *), or (N, T, *) if ``batch_first``.
        lengths: the N lengths (list, ndarray or Tensor).
        batch_first: the batch axis comes first. Default: ``False``.

    Returns:
        a list of N Tensors of shape (L_i, *), views that carry gradients.

    Example:
        >>> import elman
        >>> from elman.nn.utils.rnn import unpad_sequence
        >>> padded = elman.tensor([[1, 4], [2, 0], [3, 0]])
        >>> unpad_sequence(padded, [3, 1])
        [tensor([1, 2, 3]), tensor([4])]
    """
    x = as_input(padded_sequences)
    lens = _lengths_array(lengths)
    if not batch_first:
        x = x.transpose(0, 1)
    batch, total = x.shape[0], x.shape[1]
    if lens.size != batch:  # torch: "zip() argument 2 is longer than argument 1"
        raise ValueError(
            f"unpad_sequence: got {lens.size} lengths for a padded batch of {batch} sequences"
        )
    if np.any(lens > total) or np.any(lens < 0):
        raise RuntimeError(
            f"unpad_sequence: lengths must be in [0, {total}] (the padded length), got "
            f"{lens.tolist()}"
        )
    return [x[i, : int(n)] for i, n in enumerate(lens)]
