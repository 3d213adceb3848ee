"""Indexing and reshaping written so that sizes read from the input stay dynamic.

``x[:, -1]`` is a Gather of index -1 on axis 1 (any length), slices keep their own bounds
(None is "to the end", not the traced size), and a Reshape copies the sizes it keeps from
the input (``0`` at the front, the input's Shape at the back) instead of freezing them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._symbolic import ExportError, SymInt

__all__ = ["emit_index", "emit_reshape"]

_BIG = np.iinfo(np.int64).max
_SMALL = np.iinfo(np.int64).min


def _expand_ellipsis(items: tuple[Any, ...], ndim: int) -> list[Any]:
    used = sum(1 for i in items if i is not None and i is not Ellipsis)
    out: list[Any] = []
    for i in items:
        if i is Ellipsis:
            out.extend([slice(None)] * (ndim - used))
        else:
            out.append(i)
    while sum(1 for i in out if i is not None) < ndim:
        out.append(slice(None))
    return out


def emit_index(tr: Any, t: Any, index: Any) -> str:
    """``t[index]`` for integers, slices, None and Ellipsis, or one integer array on one
    axis with full slices elsewhere."""
    items = _expand_ellipsis(index if isinstance(index, tuple) else (index,), t.ndim)
    arrays = [k for k, i in enumerate(items) if isinstance(i, np.ndarray)]
    if arrays:
        return _gather(tr, t, items, arrays)
    x = tr.name_of(t)
    starts, ends, axes, steps = [], [], [], []
    picks: list[tuple[int, int]] = []  # (input axis, index)
    news: list[int] = []  # output positions of None
    axis = pos = 0
    for item in items:
        if item is None:
            news.append(pos)
            pos += 1
            continue
        if isinstance(item, slice):
            step = 1 if item.step is None else int(item.step)
            if item != slice(None) and item != slice(None, None, 1):
                lo, hi = (0, _BIG) if step > 0 else (_BIG, _SMALL)
                starts.append(lo if item.start is None else int(item.start))
                ends.append(hi if item.stop is None else int(item.stop))
                axes.append(axis)
                steps.append(step)
            pos += 1
        else:
            picks.append((axis, int(item)))
        axis += 1
    if axes:
        x = tr.g.node(
            "Slice", [x, tr.g.ints(starts), tr.g.ints(ends), tr.g.ints(axes), tr.g.ints(steps)]
        )
    for ax, i in reversed(picks):  # last axis first: the earlier axes keep their numbers
        x = tr.g.node("Gather", [x, tr.g.const(np.asarray(i, dtype=np.int64))], axis=ax)
    if news:
        x = tr.g.node("Unsqueeze", [x, tr.g.ints(news)])
    if x == tr.name_of(t):
        x = tr.g.node("Identity", [x])
    return x  # type: ignore[no-any-return]


def _gather(tr: Any, t: Any, items: list[Any], arrays: list[int]) -> str:
    k = arrays[0]
    plain = all(isinstance(i, slice) and i == slice(None) for j, i in enumerate(items) if j != k)
    arr = items[k]
    if len(arrays) != 1 or not plain or arr.dtype.kind not in "iu" or None in items:
        raise ExportError(
            "advanced indexing is exportable as one integer index array on one axis with "
            f"full slices elsewhere (x[idx], x[:, idx]){tr.where()}"
        )
    name = tr.traced_array(arr)
    if name is None:
        name = tr.g.const(np.asarray(arr, dtype=np.int64))
    else:
        name = tr.cast(name, arr.dtype, np.int64)
    return tr.g.node("Gather", [tr.name_of(t), name], axis=k)  # type: ignore[no-any-return]


def emit_reshape(tr: Any, t: Any, shape: tuple[Any, ...]) -> str:
    """Reshape ``t`` to ``shape`` (ints, SymInts, one -1).

    Sizes given as SymInts are computed in the graph. Plain ints that repeat the input's
    leading sizes become ``0`` (ONNX: copy the input's size), ones that repeat its trailing
    sizes are read from its Shape, and a single remaining size becomes ``-1``: so the
    sizes elman itself passes when it unsqueezes, squeezes or flattens follow the input.
    """
    x = tr.name_of(t)
    if any(isinstance(n, SymInt) for n in shape):
        return tr.g.node("Reshape", [x, tr.shape_value(shape)])  # type: ignore[no-any-return]
    have = t._data.shape
    want = [int(n) for n in shape]
    lead = 0
    while lead < min(len(have), len(want)) and want[lead] == have[lead] and want[lead] > 0:
        lead += 1
    tail = 0
    while (
        tail < min(len(have), len(want)) - lead
        and want[-1 - tail] == have[-1 - tail]
        and want[-1 - tail] > 0
    ):
        tail += 1
    middle = want[lead : len(want) - tail]
    if len(middle) == 1 and -1 not in want:
        middle = [-1]
    pieces = [tr.g.ints([0] * lead + middle)] if lead or middle else []
    if tail:
        shp = tr.shape_of(t)
        n = len(have)
        pieces.append(tr.g.node("Slice", [shp, tr.g.ints([n - tail]), tr.g.ints([n])]))
    if not pieces:  # a 0-d result
        target = tr.g.const(np.zeros(0, dtype=np.int64))
    else:
        target = tr.g.node("Concat", pieces, axis=0) if len(pieces) > 1 else pieces[0]
    return tr.g.node("Reshape", [x, target])  # type: ignore[no-any-return]
