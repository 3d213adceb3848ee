"""torch's CPU order of equal lengths when ``pack_padded_sequence`` sorts them.

``pack_padded_sequence(..., enforce_sorted=False)`` calls ``torch.sort(lengths,
descending=True)``, which on the CPU is libstdc++'s ``std::sort`` (an introsort) on
(length, index) pairs. The sorted lengths are unique; the order of *equal* lengths is not,
and it is visible in ``sorted_indices`` and in the packed data. ``std::sort`` keeps ties in
their original order up to 16 elements (it ends with an insertion sort) but not beyond, so
for larger batches with repeated lengths this module replays ``std::sort`` step by step.
"""

from __future__ import annotations

import numpy as np

__all__ = ["argsort_descending"]

_THRESHOLD = 16  # libstdc++'s _S_threshold: below it, only the final insertion sort runs


def argsort_descending(keys: np.ndarray) -> np.ndarray:
    """The permutation ``torch.sort(keys, descending=True).indices`` gives on the CPU.

    Args:
        keys: (N,) integers.

    Returns:
        (N,) int64 indices that sort ``keys`` in decreasing order, ties ordered as torch
        orders them.

    Example:
        >>> import numpy as np
        >>> argsort_descending(np.array([2, 3, 2, 1])).tolist()
        [1, 0, 2, 3]
    """
    keys = np.asarray(keys)
    stable = np.argsort(-keys, kind="stable").astype(np.int64)
    if keys.size <= _THRESHOLD or np.unique(keys).size == keys.size:
        return stable  # the order is the same for every correct sort here
    pairs = [(int(k), i) for i, k in enumerate(keys.tolist())]
    n = len(pairs)
    _introsort_loop(pairs, 0, n, 2 * (n.bit_length() - 1))
    _final_insertion_sort(pairs, 0, n)
    return np.array([i for _, i in pairs], dtype=np.int64)


# Each function below is the libstdc++ routine of the same name (bits/stl_algo.h and
# bits/stl_heap.h) with comp(a, b) = a.key > b.key; ``first``/``last`` are list positions.


def _introsort_loop(a: list[tuple[int, int]], first: int, last: int, depth: int) -> None:
    while last - first > _THRESHOLD:
        if depth == 0:
            _heap_sort(a, first, last)
            return
        depth -= 1
        cut = _unguarded_partition_pivot(a, first, last)
        _introsort_loop(a, cut, last, depth)
        last = cut


def _unguarded_partition_pivot(a: list[tuple[int, int]], first: int, last: int) -> int:
    mid = first + (last - first) // 2
    _move_median_to_first(a, first, first + 1, mid, last - 1)
    pivot = a[first][0]
    lo, hi = first + 1, last
    while True:
        while a[lo][0] > pivot:
            lo += 1
        hi -= 1
        while pivot > a[hi][0]:
            hi -= 1
        if not lo < hi:
            return lo
        a[lo], a[hi] = a[hi], a[lo]
        lo += 1


def _move_median_to_first(a: list[tuple[int, int]], result: int, x: int, y: int, z: int) -> None:
    kx, ky, kz = a[x][0], a[y][0], a[z][0]
    if kx > ky:
        pick = y if ky > kz else z if kx > kz else x
    else:
        pick = x if kx > kz else z if ky > kz else y
    a[result], a[pick] = a[pick], a[result]


def _final_insertion_sort(a: list[tuple[int, int]], first: int, last: int) -> None:
    if last - first > _THRESHOLD:
        _insertion_sort(a, first, first + _THRESHOLD)
        for i in range(first + _THRESHOLD, last):
            _unguarded_linear_insert(a, i)
    else:
        _insertion_sort(a, first, last)


def _insertion_sort(a: list[tuple[int, int]], first: int, last: int) -> None:
    for i in range(first + 1, last):
        if a[i][0] > a[first][0]:
            a[first : i + 1] = [a[i], *a[first:i]]
        else:
            _unguarded_linear_insert(a, i)


def _unguarded_linear_insert(a: list[tuple[int, int]], last: int) -> None:
    val = a[last]
    while val[0] > a[last - 1][0]:
        a[last] = a[last - 1]
        last -= 1
    a[last] = val


def _heap_sort(a: list[tuple[int, int]], first: int, last: int) -> None:
    """std::__partial_sort(first, last, last): make_heap, then sort_heap."""
    n = last - first
    for parent in range((n - 2) // 2, -1, -1):
        _adjust_heap(a, first, parent, n, a[first + parent])
    while last - first > 1:
        last -= 1
        value = a[last]
        a[last] = a[first]
        _adjust_heap(a, first, 0, last - first, value)


def _adjust_heap(
    a: list[tuple[int, int]], first: int, hole: int, n: int, value: tuple[int, int]
) -> None:
    top, child = hole, hole
    while child < (n - 1) // 2:
        child = 2 * (child + 1)
        if a[first + child][0] > a[first + child - 1][0]:
            child -= 1
        a[first + hole] = a[first + child]
        hole = child
    if n % 2 == 0 and child == (n - 2) // 2:
        child = 2 * (child + 1)
        a[first + hole] = a[first + child - 1]
        hole = child - 1
    parent = (hole - 1) // 2  # std::__push_heap
    while hole > top and a[first + parent][0] > value[0]:
        a[first + hole] = a[first + parent]
        hole = parent
        parent = (hole - 1) // 2
    a[first + hole] = value
