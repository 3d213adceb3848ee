"""A model over many sequences, chunk by chunk on Dask workers.

The model travels once per worker as one graph key (a Module, pickled by Dask; or a
checkpoint path that a ``loader`` opens on a worker), and every chunk task reads its own rows
(from a ``.npy`` file by memory map on the worker, or from a dask array's block), runs one
``model(chunk)`` under ``no_grad`` and hands back ``(output, h_n)`` NumPy blocks. Each
sequence's numbers do not depend on which others share its batch, so the stitched result is
bit for bit one ``model(x)`` call (chunks are never so small that other kernels run: see
:func:`._sources.cuts`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import dask
import dask.array as da
import numpy as np

from ._parts import write_parts
from ._sources import Files, Ragged, Rows, as_npy_file, cuts, materialize, read_rows

__all__ = ["predict", "write_parts"]

Prepare = Callable[[np.ndarray], np.ndarray]


def predict(
    model_or_checkpoint: Any,
    x: Any,
    *,
    batch_first: bool | None = None,
    lengths: Any = None,
    chunk_rows: int = 256,
    loader: Callable[[str], Any] | None = None,
    prepare: Prepare | None = None,
) -> tuple[da.Array, da.Array | None]:
    """``model(x)`` on Dask, ``chunk_rows`` sequences per task: lazy ``(output, h_n)``.

    Args:
        model_or_checkpoint: an elman Module (e.g. ``nn.RNN``; it returns ``(output, h_n)``
            or one tensor), or a path that ``loader(path)`` turns into one on the workers.
        x: dense ``(N, L, H_in)`` if ``batch_first`` else ``(L, N, H_in)``: a NumPy array, a
            dask array, a ``.npy`` path or ``np.load(path, mmap_mode="r")``; or a
            :class:`Ragged` of N sequences ``(L_i, H_in)``.
        batch_first: the layout of dense ``x``; default: the model's own ``batch_first``.
        lengths: ``(N,)`` valid steps of each padded sequence of dense ``x``: every chunk is
            packed (``pack_padded_sequence(..., enforce_sorted=False)``) and its output padded
            back to ``L`` with zeros, as ``pad_packed_sequence(total_length=L)`` does.
        chunk_rows: sequences per task, at least 129 (``MIN_ROWS``: smaller batches run
            kernels that round differently; a short last chunk joins the one before).
        loader: opens a checkpoint path (needed with a path).
        prepare: applied to each input block on the worker before the model (a picklable
            function, e.g. a reshape or dtype cast).

    Returns:
        ``(output, h_n)`` dask arrays: dense: ``output`` as ``model(x)``'s, chunked along the
        batch axis; ragged: ``output`` flat ``(sum L_i, D*H_out)``, sequence i at
        ``x.offsets[i]:x.offsets[i+1]``. ``h_n`` ``(num_layers*D, N, H_out)``, or None when
        the model returns one tensor. Nothing runs until ``.compute()``/:func:`write_parts`.
    """
    model, remote = _model(model_or_checkpoint, loader)
    if batch_first is None:
        batch_first = _batch_first_of(model)
    if isinstance(x, Ragged):
        if lengths is not None:
            raise ValueError("a Ragged input carries its own lengths; do not pass lengths=")
        return _predict_ragged(model, remote, x, chunk_rows, prepare)
    return _predict_dense(model, remote, x, batch_first, lengths, chunk_rows, prepare)


# ---- the model -----------------------------------------------------------------------------


def _model(model_or_checkpoint: Any, loader: Callable[[str], Any] | None) -> tuple[Any, Any]:
    """The model here (for shapes) and its graph key (what the workers receive)."""
    if isinstance(model_or_checkpoint, (str, os.PathLike)):
        if loader is None:
            raise TypeError("predict: a checkpoint path needs loader= (a function path -> Module)")
        path = os.fspath(model_or_checkpoint)
        # opened on a worker (once, then fetched by the others): the weights never pass
        # through this process's graph
        remote = dask.delayed(loader, pure=True)(path, dask_key_name=f"elman-model-{_digest(path)}")
        return loader(path), remote
    model = model_or_checkpoint
    if not callable(model):
        raise TypeError(f"predict: expected a Module or a checkpoint path, got {type(model)}")
    return model, dask.delayed(model, name=f"elman-model-{_module_digest(model)}", pure=True)


def _digest(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _module_digest(model: Any) -> str:
    """A name for the model's graph key: its class and weights (same model, same key)."""
    from elman.io.safetensors_io import content_digest

    arrays = {k: np.asarray(v.numpy()) for k, v in model.state_dict().items()}
    cls = type(model)
    return _digest(f"{cls.__module__}.{cls.__qualname__}:{content_digest(arrays)}")


def _batch_first_of(model: Any) -> bool:
    if hasattr(model, "batch_first"):
        return bool(model.batch_first)
    for sub in getattr(model, "modules", lambda: [])():
        if hasattr(sub, "batch_first"):
            return bool(sub.batch_first)
    return False


# ---- worker side: one chunk ----------------------------------------------------------------


def _pair(result: Any) -> tuple[np.ndarray, np.ndarray | None]:
    if isinstance(result, tuple):
        out, h = result[0], result[1]
        return np.asarray(out.numpy()), None if h is None else np.asarray(h.numpy())
    return np.asarray(result.numpy()), None


def run_dense(
    model: Any,
    block: np.ndarray,
    batch_first: bool,
    lengths: np.ndarray | None,
    prepare: Prepare | None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """``model(block)`` (packed by ``lengths`` when given) under no_grad, as NumPy."""
    import elman
    from elman.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    block = materialize(block)
    if prepare is not None:
        block = prepare(block)
    with elman.no_grad():
        if lengths is None:
            return _pair(model(elman.tensor(block)))
        total = block.shape[1 if batch_first else 0]
        packed = pack_padded_sequence(
            elman.tensor(block), lengths, batch_first=batch_first, enforce_sorted=False
        )
        out, h = model(packed)
        padded, _ = pad_packed_sequence(out, batch_first=batch_first, total_length=total)
        return np.asarray(padded.numpy()), np.asarray(h.numpy())


def run_ragged(
    model: Any, flat: np.ndarray, offsets: np.ndarray, prepare: Prepare | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """The sequences ``flat[offsets[i]:offsets[i+1]]`` packed into one batch: flat outputs
    ``(sum L_i, ...)`` in the same order, and ``h_n``."""
    import elman
    from elman.nn.utils.rnn import pack_sequence, unpack_sequence

    flat = materialize(flat)
    if prepare is not None:
        flat = prepare(flat)
    seqs = [elman.tensor(flat[a:b]) for a, b in zip(offsets[:-1], offsets[1:], strict=True)]
    with elman.no_grad():
        out, h = model(pack_sequence(seqs, enforce_sorted=False))
        pieces = [np.asarray(o.numpy()) for o in unpack_sequence(out)]
    return np.concatenate(pieces), np.asarray(h.numpy())


# ---- building the graph --------------------------------------------------------------------


def _blocks(x: Any, axis: int, ranges: list[tuple[int, int]]) -> list[Any]:
    """One input block per range: rows of a ``.npy`` file (read by the chunk's own task),
    or a dask array's block."""
    src = as_npy_file(x)
    if src is not None:
        return [Rows(src, axis, a, b) for a, b in ranges]
    arr = x if isinstance(x, da.Array) else da.from_array(np.asarray(x), chunks=-1)
    sizes = tuple(b - a for a, b in ranges)
    arr = arr.rechunk({i: (sizes if i == axis else -1) for i in range(arr.ndim)})
    return list(arr.to_delayed().ravel())


def _head(x: Any, axis: int, rows: int) -> np.ndarray:
    """The first ``rows`` rows along ``axis``, read here (for the shapes of the outputs)."""
    src = as_npy_file(x)
    if src is not None:
        return read_rows(src, axis, 0, rows)
    index = [slice(None)] * x.ndim
    index[axis] = slice(0, rows)
    head = x[tuple(index)]
    return np.asarray(head.compute() if isinstance(head, da.Array) else head)


def _axis(a: np.ndarray, b: np.ndarray, default: int) -> int:
    """The axis along which two probes of 2 and 3 sequences differ: the batch axis."""
    diff = [i for i, (p, q) in enumerate(zip(a.shape, b.shape, strict=True)) if p != q]
    return diff[0] if len(diff) == 1 else default


def _stitch(
    results: list[Any], probe2: Any, probe3: Any, counts: list[int], defaults: tuple[int, int]
) -> tuple[da.Array, da.Array | None]:
    """Concatenate per-chunk ``(out, h)`` delayed pairs into two dask arrays."""
    arrays: list[da.Array | None] = []
    for which in (0, 1):
        p2, p3 = probe2[which], probe3[which]
        if p2 is None:
            arrays.append(None)
            continue
        axis = _axis(p2, p3, defaults[which])
        parts = []
        for res, n in zip(results, counts, strict=True):
            shape = list(p2.shape)
            shape[axis] = n
            parts.append(da.from_delayed(res[which], shape=tuple(shape), dtype=p2.dtype))
        arrays.append(da.concatenate(parts, axis=axis))
    return arrays[0], arrays[1]  # type: ignore[return-value]


def _predict_dense(
    model: Any,
    remote: Any,
    x: Any,
    batch_first: bool,
    lengths: Any,
    chunk_rows: int,
    prepare: Prepare | None,
) -> tuple[da.Array, da.Array | None]:
    src = as_npy_file(x)
    shape = src.shape if src is not None else tuple(x.shape)
    if len(shape) < 2:
        raise ValueError(f"predict: expected batched input (N, L, H_in), got shape {shape}")
    axis = 0 if batch_first else 1
    n = shape[axis]
    if lengths is not None:
        lengths = np.asarray(lengths, dtype=np.int64)
        if lengths.shape != (n,):
            raise ValueError(f"lengths must have shape ({n},), got {lengths.shape}")
    ranges = cuts(n, chunk_rows)
    blocks = _blocks(x, axis, ranges)
    head = _head(x, axis, min(3, n))
    probes = [
        run_dense(model, _take(head, axis, k), batch_first, _lens(lengths, k), prepare)
        for k in (min(2, n), min(3, n))
    ]
    results = [
        dask.delayed(run_dense, nout=2, pure=True)(
            remote, block, batch_first, None if lengths is None else lengths[a:b], prepare
        )
        for block, (a, b) in zip(blocks, ranges, strict=True)
    ]
    counts = [b - a for a, b in ranges]
    return _stitch(results, probes[0], probes[1], counts, (axis, 1))


def _take(head: np.ndarray, axis: int, k: int) -> np.ndarray:
    return np.take(head, np.arange(k), axis=axis)


def _lens(lengths: np.ndarray | None, k: int) -> np.ndarray | None:
    return None if lengths is None else lengths[:k]


def _predict_ragged(
    model: Any, remote: Any, x: Ragged, chunk_rows: int, prepare: Prepare | None
) -> tuple[da.Array, da.Array | None]:
    off = x.offsets
    ranges = cuts(len(x), chunk_rows)
    steps = [(int(off[a]), int(off[b])) for a, b in ranges]
    if x.files is not None:
        blocks = [Files(tuple(x.files[a:b])) for a, b in ranges]
        head = Files(tuple(x.files[: min(3, len(x))])).read()
    else:
        blocks = _blocks(x.values, 0, steps)
        head = _head(x.values, 0, int(off[min(3, len(x))]))
    local = [off[a : b + 1] - off[a] for a, b in ranges]
    probes = [
        run_ragged(model, head, off[: k + 1], prepare) for k in (min(2, len(x)), min(3, len(x)))
    ]
    results = [
        dask.delayed(run_ragged, nout=2, pure=True)(remote, block, o, prepare)
        for block, o in zip(blocks, local, strict=True)
    ]
    # the flat output's rows are steps; h_n's batch axis counts sequences
    out, _ = _stitch(results, probes[0], probes[1], [b - a for a, b in steps], (0, 1))
    _, h = _stitch(results, probes[0], probes[1], [b - a for a, b in ranges], (0, 1))
    return out, h
