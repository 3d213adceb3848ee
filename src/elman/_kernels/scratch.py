"""Large per-call arrays of a training step (the layered stack's, a slice's gradient, a Linear
head's input gradient), reused from call to call.

A training step allocates the same few large arrays every step (every layer's outputs in
the forward, the dL/dz rows in the backward, a Linear head's input gradient). Fresh from
the allocator they are fresh pages: the first write of each page faults (a 3 MB array:
~800 faults, ~1.5 ms under load, more than the product that writes it). Arrays from
256 KB up count: glibc serves them from the heap once a freed one has raised its mmap
threshold, but gives the heap's top back to the system (trims it) when more than twice
that is free, so that the next step faults its pages in again (the character LM anchor,
(50, 32, 16 -> 128): ~380 faults a step of 800 KB arrays when no other library in the
process had moved glibc's thresholds; none with them pooled). :func:`empty` hands back an
earlier array of the same shape and dtype when nothing references it any more (no Tensor,
view or graph node: its reference count is back to the pool's own), else a new one; it
keeps at most :data:`PER_KEY` arrays per shape and dtype, :data:`KEYS` shapes and
:data:`TOTAL_BYTES` in all, and only arrays of :data:`MIN_BYTES` to :data:`MAX_BYTES` (small
ones come cheaply from the allocator, huge ones are not kept alive). An array is handed to
one caller at a time (under a lock, and the caller's reference makes it busy), so two
concurrent calls never share one.
"""

from __future__ import annotations

import sys
import threading
from math import prod
from typing import Any

import numpy as np

__all__ = ["empty", "zeros", "clear"]

MIN_BYTES = 1 << 18
MAX_BYTES = 1 << 27
PER_KEY = 2  # the output a caller still holds from the previous step, and the next one
KEYS = 8
TOTAL_BYTES = 1 << 28
SEEN_KEYS = 32  # shapes asked for once, remembered: the second request starts keeping

_LOCK = threading.Lock()
_POOL: dict[tuple[tuple[int, ...], str], list[np.ndarray]] = {}
_SEEN: dict[tuple[tuple[int, ...], str], None] = {}
_FREE = 3  # references of a free array in the check below: the pool's list, `a`, the argument


def empty(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """``np.empty(shape, dtype)``, an earlier array of that shape when one is free."""
    dtype = np.dtype(dtype)
    nbytes = prod(shape) * dtype.itemsize
    if not MIN_BYTES <= nbytes <= MAX_BYTES:
        return np.empty(shape, dtype=dtype)
    key = (tuple(shape), dtype.str)
    with _LOCK:
        kept = _POOL.pop(key, None)  # (re-inserted last: the most recently used key)
        if kept is None:
            if _SEEN.pop(key, False) is False:  # a first sighting: shapes that change every
                _SEEN[key] = None  # step (packed batches) would only churn the pool
                if len(_SEEN) > SEEN_KEYS:
                    del _SEEN[next(iter(_SEEN))]
                return np.empty(shape, dtype=dtype)
            kept = []
            if len(_POOL) >= KEYS:
                del _POOL[next(iter(_POOL))]
        _POOL[key] = kept
        for a in kept:
            if sys.getrefcount(a) == _FREE:
                return a
        a = np.empty(shape, dtype=dtype)
        held = sum(b.nbytes for bufs in _POOL.values() for b in bufs)
        if len(kept) < PER_KEY and held + nbytes <= TOTAL_BYTES:
            kept.append(a)
        return a


def zeros(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """``np.zeros(shape, dtype)``; a kept array filled with zeros when the size is pooled
    (a fill of reused pages is cheaper than faulting fresh zero pages in on first touch)."""
    dtype = np.dtype(dtype)
    if not MIN_BYTES <= prod(shape) * dtype.itemsize <= MAX_BYTES:
        return np.zeros(shape, dtype=dtype)
    a = empty(shape, dtype)
    a.fill(0)
    return a


def clear() -> None:
    """Let go of every kept array (and forget the shapes seen)."""
    with _LOCK:
        _POOL.clear()
        _SEEN.clear()
