"""Where packed rows live in a padded batch: the index maps behind pack_padded_sequence and
pad_packed_sequence (NumPy reference; :mod:`.packing_compiled` is the compiled twin).

A padded batch (width steps, batch columns), flattened to rows, holds step t of column c at
row ``t * batch + c`` (time-major) or ``c * width + t`` (batch-first). Packed rows come step
after step, longest sequences first: step t has ``batch_sizes[t]`` rows, packed column j of
them being batch column ``order[j]`` (``order`` empty: j itself).
"""

from __future__ import annotations

import numpy as np

__all__ = ["batch_sizes_of", "packed_rows"]


def batch_sizes_of(lengths_sorted: np.ndarray) -> np.ndarray:
    """(max length,) int64: how many of the lengths (sorted, longest first) exceed t."""
    steps = np.arange(lengths_sorted[0])
    return (lengths_sorted[None, :] > steps[:, None]).sum(axis=1, dtype=np.int64)


def packed_rows(
    batch_sizes: np.ndarray, order: np.ndarray, width: int, batch_first: bool
) -> tuple[np.ndarray, np.ndarray]:
    """(src, pad): the padded row of every packed row, in packed order, and the padded rows
    that no packed row fills (ascending). ``width`` >= len(batch_sizes) steps."""
    batch = int(batch_sizes[0])
    active = batch_sizes[:, None] > np.arange(batch)  # (steps, packed columns)
    t, j = np.nonzero(active)
    c = order[j] if order.size else j
    src = c * width + t if batch_first else t * batch + c
    filled = np.zeros(width * batch, dtype=bool)
    filled[src] = True
    return src.astype(np.int64), np.flatnonzero(~filled).astype(np.int64)
