"""Where the sequences come from, cut into chunks that tasks read on the workers.

A dense input is an array ``(N, L, H_in)`` (``batch_first``) or ``(L, N, H_in)``: a NumPy
array, a dask array, or a ``.npy`` file (a path, or ``np.load(path, mmap_mode="r")``).
A ragged input (:class:`Ragged`) is N sequences of their own lengths: flat values
``(sum L_i, H_in)`` with offsets ``(N + 1,)``, or one ``.npy`` file per sequence.

A ``.npy`` file never travels: each task opens it by memory map on its worker and copies out
its own rows (a NumPy memmap pickled into a graph would carry its whole contents).
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "MIN_ROWS",
    "Files",
    "NpyFile",
    "Ragged",
    "Rows",
    "materialize",
    "as_npy_file",
    "cuts",
    "read_rows",
]


@dataclass(frozen=True)
class NpyFile:
    """An on-disk ``.npy`` array, described by what a memory map of it needs (picklable,
    a few hundred bytes: this is what travels instead of the data)."""

    path: str
    offset: int
    shape: tuple[int, ...]
    dtype: str
    fortran: bool

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> NpyFile:
        """Read the header of ``path`` (no data)."""
        return _from_memmap(np.load(os.fspath(path), mmap_mode="r", allow_pickle=False))

    def memmap(self) -> np.memmap:
        order = "F" if self.fortran else "C"
        return np.memmap(
            self.path, dtype=self.dtype, mode="r", offset=self.offset, shape=self.shape, order=order
        )


def _from_memmap(m: np.memmap) -> NpyFile:
    fortran = m.ndim > 1 and m.flags.f_contiguous and not m.flags.c_contiguous
    return NpyFile(os.path.abspath(m.filename), int(m.offset), m.shape, m.dtype.str, fortran)


def as_npy_file(x: Any) -> NpyFile | None:
    """The file behind ``x`` when it is a ``.npy`` path or a whole-file memmap from
    ``np.load(..., mmap_mode="r")``; None for anything else (a view of a memmap included:
    it is read as an in-memory array)."""
    if isinstance(x, (str, os.PathLike)):
        return NpyFile.open(x)
    if isinstance(x, np.memmap) and isinstance(x.base, mmap.mmap) and x.filename:
        return _from_memmap(x)
    return None


def read_rows(src: NpyFile, axis: int, start: int, stop: int) -> np.ndarray:
    """Rows ``start:stop`` along ``axis`` of the file, copied into memory (the map closes)."""
    m = src.memmap()
    index = [slice(None)] * len(src.shape)
    index[axis] = slice(start, stop)
    block = np.array(m[tuple(index)])
    del m
    return block


# elman runs a batch of one sequence, and tiny batches (N*H <= 128 with H <= 32), on loop
# kernels whose sums round in another order than the batched kernels' (differences of about
# 1 ulp: 2e-7 measured in float32); every batch of 129 sequences or more takes the batched
# kernels, whose numbers for a sequence do not depend on the others in its batch. So chunks
# of at least this many sequences give the numbers of one call on the whole batch.
MIN_ROWS = 129


@dataclass(frozen=True)
class Rows:
    """Rows ``start:stop`` along ``axis`` of a ``.npy`` file, read by the task that needs
    them (one task fewer per chunk than a separate read: on a busy machine each Dask task
    costs milliseconds)."""

    src: NpyFile
    axis: int
    start: int
    stop: int

    def read(self) -> np.ndarray:
        return read_rows(self.src, self.axis, self.start, self.stop)


@dataclass(frozen=True)
class Files:
    """Whole ``.npy`` files, one sequence each, concatenated along time when read."""

    paths: tuple[str, ...]

    def read(self) -> np.ndarray:
        return np.concatenate([read_rows(NpyFile.open(p), 0, 0, None) for p in self.paths])  # type: ignore[arg-type]


def materialize(block: Any) -> np.ndarray:
    """The array of a block: a :class:`Rows`/:class:`Files` reference is read here."""
    return block.read() if isinstance(block, (Rows, Files)) else block


def cuts(n: int, rows: int) -> list[tuple[int, int]]:
    """``[start, stop)`` ranges of ``rows`` rows covering ``range(n)``, each of at least
    :data:`MIN_ROWS` rows (``rows`` is raised to it; a short last range joins the one
    before), unless ``n`` itself is smaller: then one range."""
    if rows < 1:
        raise ValueError(f"chunk_rows must be >= 1, got {rows}")
    rows = max(rows, MIN_ROWS)
    ranges = [(s, min(s + rows, n)) for s in range(0, n, rows)]
    if len(ranges) >= 2 and ranges[-1][1] - ranges[-1][0] < MIN_ROWS:
        ranges[-2:] = [(ranges[-2][0], n)]
    return ranges


class Ragged:
    """N sequences of their own lengths: sequence i is ``values[offsets[i]:offsets[i+1]]``
    (shape ``(L_i, H_in)``), or the whole of ``files[i]``.

    Build it with :meth:`from_lengths` (flat values and lengths), :meth:`from_offsets`, or
    :meth:`from_files` (one ``.npy`` per sequence; only headers are read here).
    ``values`` may be a NumPy array, a dask array, a ``.npy`` path or memmap.
    """

    def __init__(
        self, values: Any = None, offsets: Any = None, files: Sequence[str] | None = None
    ) -> None:
        if (files is None) == (values is None):
            raise ValueError("Ragged needs either values and offsets, or files")
        self.files = None if files is None else [os.path.abspath(os.fspath(f)) for f in files]
        self.values = values
        if files is not None:
            heads = [NpyFile.open(f) for f in self.files]
            lengths = np.array([h.shape[0] for h in heads], dtype=np.int64)
            offsets = np.concatenate([[0], np.cumsum(lengths)])
            self.feature_shape = heads[0].shape[1:] if heads else ()
            self.dtype = np.dtype(heads[0].dtype) if heads else np.dtype(np.float32)
        else:
            self.feature_shape = tuple(values.shape[1:])
            self.dtype = np.dtype(values.dtype)
        self.offsets = np.asarray(offsets, dtype=np.int64)
        self._check()

    @classmethod
    def from_offsets(cls, values: Any, offsets: Any) -> Ragged:
        return cls(values=values, offsets=offsets)

    @classmethod
    def from_lengths(cls, values: Any, lengths: Any) -> Ragged:
        lengths = np.asarray(lengths, dtype=np.int64)
        return cls(values=values, offsets=np.concatenate([[0], np.cumsum(lengths)]))

    @classmethod
    def from_files(cls, files: Sequence[str | os.PathLike[str]]) -> Ragged:
        return cls(files=[os.fspath(f) for f in files])

    def _check(self) -> None:
        o = self.offsets
        if o.ndim != 1 or len(o) < 2 or o[0] != 0:
            raise ValueError("offsets must be 1-D, start at 0 and hold N + 1 >= 2 entries")
        if np.any(np.diff(o) < 1):
            raise ValueError("every sequence must have length >= 1 (offsets strictly increase)")
        if self.values is not None and int(o[-1]) != self.values.shape[0]:
            raise ValueError(
                f"offsets end at {int(o[-1])}, but values hold {self.values.shape[0]} steps"
            )

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)
