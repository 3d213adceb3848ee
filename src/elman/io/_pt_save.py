"""Writing torch's zip format: the storages of an object's tensors, then the archive.

Tensors and arrays that view one memory block (tied weights, slices of one array) are
written as one storage spanning the bytes they use, each with its offset and strides in
elements, so ``torch.load`` gives them back sharing one storage. A view torch cannot
express (negative strides, a misaligned offset) is written as a contiguous copy of its own.
Every entry's data starts at a multiple of 64 bytes, as torch's writer aligns them (what
``mmap`` loads rely on).
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import struct
import sys
import zipfile
from pathlib import Path
from typing import IO, Any

import numpy as np

from ..autograd import Tensor
from ._pt_pickler import Pickler, torch_dtype_name
from ._pt_tensors import STORAGE_CLASSES

__all__ = ["save_to"]

_STORAGE_OF = {dtype: cls for cls, dtype in STORAGE_CLASSES.items()}
_UNTYPED = {"uint16", "uint32", "uint64"}  # written as torch does: untyped storage + dtype
_ALIGN = 64


class _Span:
    """An array interface over ``n`` bytes at address ``lo`` inside ``owner``'s memory."""

    def __init__(self, owner: np.ndarray, lo: int, n: int) -> None:
        self.__array_interface__ = {"data": (lo, True), "shape": (n,), "typestr": "|u1"}
        self.__array_interface__["version"] = 3
        self._owner = owner


def _root(arr: np.ndarray) -> Any:
    """The object that owns ``arr``'s memory (an ndarray, bytearray, mmap, ...)."""
    obj: Any = arr
    while getattr(obj, "base", None) is not None:
        obj = obj.base
    return obj


def _bounds(a: np.ndarray) -> tuple[int, int]:
    ptr = a.__array_interface__["data"][0]
    lo = ptr + sum(min(0, (n - 1) * s) for n, s in zip(a.shape, a.strides, strict=True))
    hi = ptr + sum(max(0, (n - 1) * s) for n, s in zip(a.shape, a.strides, strict=True))
    return lo, hi + a.itemsize


class StoragePlan:
    """Collects the arrays of an object (first pass), then lays out their storages."""

    def __init__(self) -> None:
        self.arrays: dict[int, tuple[Any, np.ndarray, str]] = {}
        self.order: list[int] = []
        self.fields: dict[int, tuple[Any, ...]] = {}
        self.storages: list[tuple[str, np.ndarray]] = []

    def collect(self, obj: Any, where: str) -> tuple[Any, ...]:
        arr = obj._data if isinstance(obj, Tensor) else obj
        if arr.dtype.byteorder == ">" or (arr.dtype.byteorder == "=" and sys.byteorder == "big"):
            arr = arr.astype(arr.dtype.newbyteorder("<"))
        name = torch_dtype_name(arr.dtype, where)
        if id(obj) not in self.arrays:
            self.arrays[id(obj)] = (obj, arr, name)
            self.order.append(id(obj))
        return (("torch", "FloatStorage"), "0", 0), 0, (), (), None

    def lookup(self, obj: Any, where: str) -> tuple[Any, ...]:
        return self.fields[id(obj)]

    def layout(self) -> None:
        groups: dict[tuple[int, str], list[int]] = {}
        for oid in self.order:
            obj, arr, name = self.arrays[oid]
            ok = arr.size > 0 and all(s >= 0 and s % arr.itemsize == 0 for s in arr.strides)
            if ok:
                groups.setdefault((id(_root(arr)), name), []).append(oid)
            else:  # torch has no negative strides; empty tensors get their own storage
                copy = np.ascontiguousarray(arr)
                self.arrays[oid] = (obj, copy, name)
                groups[(id(copy), name)] = [oid]
        for (_, name), members in groups.items():
            arrays = [self.arrays[oid][1] for oid in members]
            bounds = [_bounds(a) for a in arrays]
            lo, hi = min(b[0] for b in bounds), max(b[1] for b in bounds)
            item = arrays[0].itemsize
            if any((b[0] - lo) % item for b in bounds):
                for oid in members:  # misaligned views of one block: copies, one storage each
                    self._add(name, [oid], [np.ascontiguousarray(self.arrays[oid][1])])
                continue
            self._add(name, members, arrays, (lo, hi))

    def _add(
        self, name: str, members: list[int], arrays: list[np.ndarray], span: Any = None
    ) -> None:
        item = arrays[0].itemsize
        if span is None:
            lo, hi = _bounds(arrays[0])
            if arrays[0].size == 0:
                lo = hi = arrays[0].__array_interface__["data"][0]
        else:
            lo, hi = span
        key = str(len(self.storages))
        data = np.asarray(_Span(arrays[0], lo, hi - lo)) if hi > lo else np.empty(0, np.uint8)
        self.storages.append((key, data))
        untyped = name in _UNTYPED
        pid_class = ("torch.storage", "UntypedStorage") if untyped else ("torch", _STORAGE_OF[name])
        numel = (hi - lo) if untyped else (hi - lo) // item
        for oid, arr in zip(members, arrays, strict=True):
            self.arrays[oid] = (self.arrays[oid][0], arr, name)
            ptr = arr.__array_interface__["data"][0]
            offset = (ptr - lo) // item if arr.size else 0
            stride = tuple(s // item for s in arr.strides) if arr.size else _c_strides(arr.shape)
            self.fields[oid] = (
                (pid_class, key, numel),
                offset,
                tuple(arr.shape),
                stride,
                name if untyped else None,
            )


def _c_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    """torch's strides of a contiguous tensor (what an empty one is saved with)."""
    out, step = [], 1
    for n in reversed(shape):
        out.append(step)
        step *= max(n, 1)
    return tuple(reversed(out))


def _folder(f: Any) -> str:
    if isinstance(f, (str, os.PathLike)):
        stem = Path(os.fspath(f)).stem
        if re.fullmatch(r"[A-Za-z0-9_.\-]{1,100}", stem):
            return stem
    return "archive"


def _entry(zf: zipfile.ZipFile, name: str, data: Any) -> None:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    n = memoryview(data).nbytes
    info.file_size = n
    zip64 = n * 1.05 > zipfile.ZIP64_LIMIT
    assert zf.fp is not None
    base = zf.fp.tell() + 30 + len(name.encode()) + 4 + (20 if zip64 else 0)
    pad = (-base) % _ALIGN
    info.extra = b"FB" + struct.pack("<H", pad) + b"\0" * pad
    with zf.open(info, "w", force_zip64=zip64) as w:
        w.write(memoryview(data).cast("B") if n else b"")


def _write_zip(out: IO[bytes], folder: str, pickled: bytes, plan: StoragePlan) -> None:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        _entry(zf, f"{folder}/data.pkl", pickled)
        _entry(zf, f"{folder}/.format_version", b"1")
        _entry(zf, f"{folder}/.storage_alignment", str(_ALIGN).encode())
        _entry(zf, f"{folder}/byteorder", b"little")
        for key, data in plan.storages:
            _entry(zf, f"{folder}/data/{key}", data)
        _entry(zf, f"{folder}/version", b"3\n")
        ident = str(int(hashlib.sha1(pickled).hexdigest(), 16))[:40].zfill(40)
        _entry(zf, f"{folder}/.data/serialization_id", ident.encode())


def save_to(obj: Any, f: Any) -> None:
    """Write ``obj`` to a path (atomically: a temporary sibling, then renamed) or a
    seekable binary file object."""
    plan = StoragePlan()
    Pickler(plan.collect).dump(obj)  # first pass: which arrays, in which order
    plan.layout()
    pickled = Pickler(plan.lookup).dump(obj)
    folder = _folder(f)
    if not isinstance(f, (str, os.PathLike)):
        if not hasattr(f, "write"):
            raise TypeError(f"f must be a path or a binary file object, got {type(f).__qualname__}")
        _write_zip(f, folder, pickled, plan)
        return
    path = Path(os.fspath(f))
    tmp = path.with_name(f".{path.name}.tmp-{secrets.token_hex(8)}")
    try:
        with open(tmp, "xb") as out:
            _write_zip(out, folder, pickled, plan)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
