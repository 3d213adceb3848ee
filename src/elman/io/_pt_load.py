"""Reading ``torch.save`` files (zip and legacy) under the allowlist."""

from __future__ import annotations

import io
import struct
from typing import Any

import numpy as np

from ._errors import CheckpointError, UnsafeFileError
from ._pt_archive import LEGACY_PROTOCOL, MAGIC_NUMBER, Blob, ZipArchive, open_blob, sniff
from ._pt_inert import InertPolicy
from ._pt_strict import LoadPolicy
from ._pt_tensors import TORCH_DTYPES, Storage, StorageRef, StorageType
from ._pt_vm import run_pickle

__all__ = ["load_blob", "load_path_or_file", "read_zip_pickle", "legacy_layout"]


def load_path_or_file(f: Any, mmap: bool) -> Any:
    blob, closer = open_blob(f, mmap)
    try:
        return load_blob(blob)
    finally:
        if closer is not None:
            closer.close()


def load_blob(blob: Blob) -> Any:
    kind = sniff(blob)
    if kind == "zip":
        return _load_zip(blob)
    if kind == "legacy":
        return _load_legacy(blob)
    raise CheckpointError(
        f"{blob.name}: the tar format of torch < 0.4 is not read (torch refuses it with "
        "weights_only=True too); re-save it with a recent torch"
    )


def _itemsize(stype: StorageType, where: str) -> int:
    stored = TORCH_DTYPES.get(stype.dtype)
    if stored is None:
        raise CheckpointError(
            f"{where}: a storage of dtype {stype.dtype} ({stype.name}), which elman cannot hold"
        )
    return int(np.dtype(stored).itemsize)


def read_zip_pickle(archive: ZipArchive) -> io.BytesIO:
    return io.BytesIO(bytes(archive.read("data.pkl", "the object's pickle (data.pkl)")))


def _load_zip(blob: Blob) -> Any:
    archive = ZipArchive(blob)
    where = f"{blob.name}"
    storages: dict[str, Storage] = {}

    def storage(stype: StorageType, key: str, location: str, numel: int, view: Any) -> Any:
        if view is not None:
            raise CheckpointError(f"{where}: storage {key!r} has a legacy view in a zip file")
        nbytes = numel * _itemsize(stype, where)
        st = storages.get(key)
        if st is None:
            what = f"storage {key!r}"
            entry = archive.entry(f"data/{key}", what)
            if entry.size != nbytes:
                raise CheckpointError(
                    f"{where}: storage {key!r} holds {entry.size} bytes but the pickle says "
                    f"{numel} {stype.dtype} elements ({nbytes} bytes)"
                )
            raw = archive.read(f"data/{key}", what, verify=not blob.mapped)
            st = Storage(raw, key, archive.byteorder)
            storages[key] = st
        elif st.raw.nbytes != nbytes:
            raise CheckpointError(
                f"{where}: storage {key!r} is referred to with two sizes "
                f"({st.raw.nbytes} and {nbytes} bytes)"
            )
        return StorageRef(st, stype.dtype, 0, numel, location, stype.untyped)

    return run_pickle(read_zip_pickle(archive), LoadPolicy(where, storage))


def _read_plain(stream: Any, where: str, what: str) -> Any:
    """A pickle that may hold only plain values (no globals, no persistent ids)."""
    policy = InertPolicy(f"{where} ({what})")
    value = run_pickle(stream, policy)
    if policy.globals or policy.storages:
        names = ", ".join(policy.globals) or "a persistent id"
        raise UnsafeFileError(
            f"{where}: the legacy {what} names {names}; torch writes plain values there, "
            "so the file was refused (nothing in it ran)"
        )
    return value


def legacy_layout(
    blob: Blob,
) -> tuple[InertPolicy, bytes, Any, dict[str, tuple[int, int]], str]:
    """Parse a legacy file's pickles without building anything they name.

    Returns the inert pass over the object (its storages), the object's pickle bytes, the
    inert object, ``{key: (data offset, element count)}`` and the byte order.
    """
    where = blob.name
    stream = blob.stream(0)
    if _read_plain(stream, where, "magic number") != MAGIC_NUMBER:
        raise CheckpointError(f"{where}: invalid magic number; not a torch.save file")
    protocol = _read_plain(stream, where, "protocol version")
    if protocol != LEGACY_PROTOCOL:
        raise CheckpointError(f"{where}: unknown legacy protocol version {protocol!r}")
    info = _read_plain(stream, where, "system info")
    if type(info) is not dict:
        raise CheckpointError(f"{where}: malformed legacy system info")
    byteorder = "little" if info.get("little_endian", True) else "big"
    start = stream.tell()
    inert = InertPolicy(where)
    obj = run_pickle(stream, inert)
    end = stream.tell()
    keys = _read_plain(stream, where, "storage keys")
    if type(keys) is not list or not all(type(k) is str for k in keys):
        raise CheckpointError(f"{where}: malformed legacy storage key list")
    pos = stream.tell()
    layout: dict[str, tuple[int, int]] = {}
    fmt = "<q" if byteorder == "little" else ">q"
    for key in keys:
        info_k = inert.storages.get(key)
        if info_k is None or key in layout:
            raise CheckpointError(f"{where}: storage key {key!r} listed but not used, or twice")
        count = struct.unpack(fmt, bytes(blob.array(pos, 8, f"storage {key!r} header")))[0]
        stored = TORCH_DTYPES.get(info_k.dtype)
        if stored is None:
            raise CheckpointError(
                f"{where}: a storage of dtype {info_k.dtype}, which elman cannot hold"
            )
        if count != info_k.numel or count < 0:
            raise CheckpointError(
                f"{where}: storage {key!r} holds {count} elements but the pickle says "
                f"{info_k.numel}"
            )
        nbytes = count * np.dtype(stored).itemsize
        blob.check_range(pos + 8, nbytes, f"storage {key!r}")
        layout[key] = (pos + 8, count)
        pos += 8 + nbytes
    missing = set(inert.storages) - set(layout)
    if missing:
        raise CheckpointError(f"{where}: storage(s) {sorted(missing)} have no data in the file")
    pickled = bytes(blob.array(start, end - start, "the object's pickle"))
    return inert, pickled, obj, layout, byteorder


def _load_legacy(blob: Blob) -> Any:
    where = blob.name
    _, pickled, _, layout, byteorder = legacy_layout(blob)
    storages: dict[str, Storage] = {}

    def storage(stype: StorageType, key: str, location: str, numel: int, view: Any) -> Any:
        if key not in layout:
            raise CheckpointError(f"{where}: storage {key!r} has no data in the file")
        offset, count = layout[key]
        nbytes = count * _itemsize(stype, where)
        if count != numel:
            raise CheckpointError(f"{where}: storage {key!r} is referred to with two sizes")
        st = storages.get(key)
        if st is None:
            raw = blob.array(offset, nbytes, f"storage {key!r}")
            st = storages[key] = Storage(raw, key, byteorder)
        start, length = 0, numel
        if view is not None:
            ok = type(view) is tuple and len(view) == 3
            ok = ok and type(view[1]) is int and type(view[2]) is int
            if not ok or view[1] < 0 or view[2] < 0 or view[1] + view[2] > numel:
                raise CheckpointError(f"{where}: storage view {view!r} outside storage {key!r}")
            start, length = view[1], view[2]
        return StorageRef(st, stype.dtype, start, length, location, stype.untyped)

    return run_pickle(io.BytesIO(pickled), LoadPolicy(where, storage))
