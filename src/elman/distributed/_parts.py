"""Outputs on disk chunk by chunk: each part written once, whole, by whichever worker gets
there first; nothing is gathered in one process.

A part is written to a temporary name in its folder, flushed, then hard-linked to its final
name: the link fails when the name exists, so a part that a retried task computes again
(Dask recomputes the tasks of a worker that died, and a worker can die after writing but
before reporting) is never written twice, and a killed writer leaves only a temporary file,
removed at the end. A rerun skips the parts already there.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from pathlib import Path
from typing import Any

import dask
import dask.array as da
import numpy as np

__all__ = ["write_parts", "write_once", "assemble", "part_path"]

MANIFEST = "parts.json"


def part_path(folder: Path, index: int) -> Path:
    return folder / f"part-{index:06d}.npy"


def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{secrets.token_hex(8)}")


def write_once(path: str | os.PathLike[str], array: np.ndarray) -> bool:
    """Write ``array`` as the ``.npy`` file ``path`` unless it exists; True when this call
    wrote it. Readers see the whole file or none (temporary file, fsync, link)."""
    path = Path(path)
    if path.exists():
        return False
    tmp = _tmp_name(path)
    try:
        with open(tmp, "xb") as f:
            np.save(f, np.ascontiguousarray(array))
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:  # another attempt of the same task won
            return False
        return True
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass


def remove_leftovers(folder: Path) -> None:
    """Temporary files of writers that were killed mid-write."""
    for p in folder.glob(".*.tmp-*"):
        try:
            p.unlink()
        except OSError:
            pass


def write_parts(
    array: da.Array,
    folder: str | os.PathLike[str],
    *,
    axis: int = 0,
    client: Any = None,
    progress: bool = False,
) -> Path:
    """Compute ``array`` block by block along ``axis`` into ``folder/part-NNNNNN.npy``.

    Blocks are computed and written on the workers (``client``, default: the current Dask
    client or scheduler) and never come back here; parts already present are skipped, so
    an interrupted call can simply be run again. ``folder/parts.json`` (shape, dtype, axis,
    rows per part) is written last: its presence means every part is there. Returns
    ``folder``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if array.ndim and len(array.chunks) > 1:
        array = array.rechunk({i: -1 for i in range(array.ndim) if i != axis})
    blocks = array.to_delayed()
    blocks = np.moveaxis(blocks, axis, 0).reshape(len(array.chunks[axis]), -1)[:, 0]
    todo = [
        dask.delayed(write_once, pure=True)(str(part_path(folder, i)), block)
        for i, block in enumerate(blocks)
        if not part_path(folder, i).exists()
    ]
    _run(todo, client, progress, f"{folder.name}: parts")
    remove_leftovers(folder)
    manifest = {
        "shape": list(array.shape),
        "dtype": np.dtype(array.dtype).str,
        "axis": axis,
        "rows": [int(c) for c in array.chunks[axis]],
    }
    from elman.io._atomic import atomic_write_file

    atomic_write_file(folder / MANIFEST, json.dumps(manifest).encode())
    return folder


def _run(tasks: list[Any], client: Any, progress: bool, label: str) -> None:
    if not tasks:
        return
    if client is None:
        dask.compute(*tasks)
        return
    from distributed import as_completed
    from tqdm import tqdm

    futures = client.compute(tasks)
    bar = tqdm(total=len(futures), disable=not progress, desc=label, unit="part", file=sys.stderr)
    try:
        for future in as_completed(futures):
            future.result()  # raises the task's error, if any
            bar.update(1)
    finally:
        bar.close()


def assemble(folder: str | os.PathLike[str], path: str | os.PathLike[str]) -> Path:
    """Join the parts of ``folder`` into one ``.npy`` file ``path``, streaming one part at a
    time through a memory map (bounded memory); written under a temporary name, renamed at
    the end."""
    folder, path = Path(folder), Path(path)
    manifest = json.loads((folder / MANIFEST).read_text())
    axis, rows = manifest["axis"], manifest["rows"]
    tmp = _tmp_name(path)
    try:
        out = np.lib.format.open_memmap(
            tmp, mode="w+", dtype=np.dtype(manifest["dtype"]), shape=tuple(manifest["shape"])
        )
        start = 0
        for i, n in enumerate(rows):
            index = [slice(None)] * out.ndim
            index[axis] = slice(start, start + n)
            out[tuple(index)] = np.load(part_path(folder, i))
            start += n
        out.flush()
        del out
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
