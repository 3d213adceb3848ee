"""Mutations of valid ``.pt`` files, and the judgement of what elman.load makes of them.

A mutation changes one thing: a byte anywhere, a byte or a run of bytes of the pickle (the
zip re-written with correct CRCs, so the change reaches the interpreter), an integer of
the pickle (sizes, strides, offsets, element counts, memo indices), a global name, a
storage's length, or the file's length. :func:`judge` loads the result and classifies it:
``loaded`` (and then every tensor must lie inside the memory it views, and, when torch is
given and also loads the file, equal torch's result), ``unsafe`` (UnsafeFileError) or
``corrupt`` (CheckpointError). Anything else — another exception, a tensor reaching outside
its buffer, a value different from torch's — is a failure (AssertionError).
"""

from __future__ import annotations

import io
import pickletools
import random
import struct
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

import elman
from elman.io import CheckpointError, UnsafeFileError

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "pt"
BASES = [
    "rnn_state",
    "views",
    "checkpoint",
    "optimizers",
    "dtypes",
    "tied",
    "legacy_state",
    "legacy_views",
    "whole_module",
]
KINDS = ["byte", "pickle_byte", "pickle_run", "pickle_int", "global", "storage_len", "truncate"]
GLOBALS = [
    ("os", "system"),
    ("builtins", "eval"),
    ("collections", "OrderedDict"),
    ("torch", "FloatStorage"),
    ("torch", "LongStorage"),
    ("torch", "BFloat16Storage"),
    ("torch.storage", "UntypedStorage"),
    ("torch._utils", "_rebuild_tensor_v2"),
    ("torch._utils", "_rebuild_tensor_v3"),
    ("torch._utils", "_rebuild_parameter"),
    ("torch", "Size"),
    ("torch", "device"),
    ("torch", "float16"),
    ("builtins", "set"),
    ("_codecs", "encode"),
    ("torch.nn.modules.rnn", "RNN"),
]
INTS = [0, 1, 2, 3, -1, -(2**31), 2**31 - 1, 2**32, 2**62, 2**63, 2**64 + 5, 10**30, 255, 256]


def bases() -> dict[str, bytes]:
    return {name: (FIXTURES / f"{name}.pt").read_bytes() for name in BASES}


def _int_op(n: int) -> bytes:
    if 0 <= n < 256:
        return b"K" + bytes([n])
    if 0 <= n < 65536:
        return b"M" + struct.pack("<H", n)
    if -(2**31) <= n < 2**31:
        return b"J" + struct.pack("<i", n)
    data = n.to_bytes((n.bit_length() + 8) // 8, "little", signed=True)
    return b"\x8a" + bytes([len(data)]) + data


def _split_zip(data: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [(i.filename, zf.read(i)) for i in zf.infolist()]


def _join_zip(entries: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for name, body in entries:
            zf.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), body)
    return buf.getvalue()


def _pickle_span(data: bytes) -> tuple[int, int]:
    """Where the pickle to mutate lies in a legacy file (the object's pickle)."""
    stream = io.BytesIO(data)
    for _ in range(3):
        for _op in pickletools.genops(stream):
            pass
    start = stream.tell()
    for _op in pickletools.genops(stream):
        pass
    return start, stream.tell()


def _mutate_pickle(pkl: bytes, kind: str, rng: random.Random) -> bytes:
    if kind == "pickle_byte":
        i = rng.randrange(len(pkl))
        return pkl[:i] + bytes([rng.randrange(256)]) + pkl[i + 1 :]
    if kind == "pickle_run":
        i = rng.randrange(len(pkl))
        j = min(len(pkl), i + rng.randrange(1, 24))
        choice = rng.randrange(3)
        if choice == 0:  # delete
            return pkl[:i] + pkl[j:]
        if choice == 1:  # duplicate
            return pkl[:j] + pkl[i:j] + pkl[j:]
        return pkl[:i] + bytes(rng.randrange(256) for _ in range(j - i)) + pkl[j:]
    ops = list(pickletools.genops(pkl))
    spans = [
        (pos, ops[k + 1][2] if k + 1 < len(ops) else len(pkl), op)
        for k, (op, _, pos) in enumerate(ops)
    ]
    if kind == "pickle_int":
        ints = [s for s in spans if s[2].name in ("BININT1", "BININT2", "BININT", "LONG1")]
        if ints:
            a, b, _ = rng.choice(ints)
            n = rng.choice(INTS) if rng.random() < 0.7 else rng.randrange(-5, 300)
            return pkl[:a] + _int_op(n) + pkl[b:]
    globs = [s for s in spans if s[2].name == "GLOBAL"]
    if globs:
        a, b, _ = rng.choice(globs)
        module, name = rng.choice(GLOBALS)
        return pkl[:a] + f"c{module}\n{name}\n".encode() + pkl[b:]
    return pkl


def mutate(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    """One random mutation of a valid file: ``(kind, bytes)``."""
    kind = rng.choice(KINDS)
    if kind == "byte":
        i = rng.randrange(len(data))
        return kind, data[:i] + bytes([data[i] ^ (1 << rng.randrange(8))]) + data[i + 1 :]
    if kind == "truncate":
        return kind, data[: rng.randrange(len(data))]
    if data[:2] == b"PK":
        entries = _split_zip(data)
        if kind == "storage_len":
            stores = [k for k, (n, _) in enumerate(entries) if "/data/" in n]
            if stores:
                k = rng.choice(stores)
                name, body = entries[k]
                cut = rng.choice([-8, -4, -1, 1, 4, 8])
                body = body[:cut] if cut < 0 else body + bytes(cut)
                entries[k] = (name, body)
            return kind, _join_zip(entries)
        k = next(k for k, (n, _) in enumerate(entries) if n.endswith("/data.pkl"))
        entries[k] = (entries[k][0], _mutate_pickle(entries[k][1], kind, rng))
        return kind, _join_zip(entries)
    if kind == "storage_len":  # legacy: change a storage's element count
        start, end = _pickle_span(data)
        keys_end = end + len(_first_pickle(data[end:]))
        count = struct.unpack("<q", data[keys_end : keys_end + 8])[0]
        new = struct.pack("<q", count + rng.choice([-2, -1, 1, 2, 2**40]))
        return kind, data[:keys_end] + new + data[keys_end + 8 :]
    start, end = _pickle_span(data)
    return kind, data[:start] + _mutate_pickle(data[start:end], kind, rng) + data[end:]


def _first_pickle(data: bytes) -> bytes:
    stream = io.BytesIO(data)
    for _op in pickletools.genops(stream):
        pass
    return data[: stream.tell()]


def _root_extent(arr: np.ndarray) -> tuple[int, int]:
    obj: Any = arr
    while getattr(obj, "base", None) is not None and not isinstance(obj.base, memoryview):
        obj = obj.base
    if isinstance(getattr(obj, "base", None), memoryview):
        view = np.frombuffer(obj.base, dtype=np.uint8)
    else:
        view = obj
    start = view.__array_interface__["data"][0]
    return start, start + view.nbytes


def check_in_bounds(obj: Any) -> int:
    """Every tensor under ``obj`` views memory inside its owner's buffer; small ones are
    read in full. Returns the number of tensors checked."""
    seen: set[int] = set()
    stack = [obj]
    count = 0
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, elman.Tensor):
            arr = node._data
            count += 1
            if arr.size:
                ptr = arr.__array_interface__["data"][0]
                lo = ptr + sum(
                    min(0, (n - 1) * s) for n, s in zip(arr.shape, arr.strides, strict=True)
                )
                hi = ptr + sum(
                    max(0, (n - 1) * s) for n, s in zip(arr.shape, arr.strides, strict=True)
                )
                start, end = _root_extent(arr)
                assert start <= lo and hi + arr.itemsize <= end, "a tensor outside its buffer"
                if arr.size <= 1_000_000:
                    arr.tobytes()
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
            stack.extend(vars(node).values() if hasattr(node, "__dict__") else ())
        elif isinstance(node, (list, tuple, set, frozenset)):
            stack.extend(node)
    return count


def judge(data: bytes, torch: Any = None, mmap_path: Path | None = None) -> str:
    """``"loaded"`` (``"loaded, equal to torch.load"`` when torch loads it too),
    ``"unsafe"`` or ``"corrupt"``; AssertionError for anything else."""
    try:
        if mmap_path is not None:
            mmap_path.write_bytes(data)
            obj = elman.load(mmap_path, mmap=True)
        else:
            obj = elman.load(io.BytesIO(data))
    except UnsafeFileError as e:
        assert "<file object>" in str(e) or str(mmap_path) in str(e)
        return "unsafe"
    except CheckpointError as e:
        assert "<file object>" in str(e) or str(mmap_path) in str(e)
        return "corrupt"
    except Exception as e:  # noqa: BLE001 - the property: nothing else may escape
        raise AssertionError(f"unclean error {type(e).__name__}: {e}") from e
    check_in_bounds(obj)
    if torch is not None and _compare_with_torch(data, obj, torch):
        return "loaded, equal to torch.load"
    return "loaded"


def _compare_with_torch(data: bytes, obj: Any, torch: Any) -> bool:
    """Compare with torch.load when torch loads the file; False when it does not."""
    from pt_tree import assert_same, describe

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns about odd protocols it then reads
            want = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        expected = describe(want)
    except Exception:  # noqa: BLE001 - torch refused (elman may be more lenient) or odd
        return False
    assert_same(expected, describe(obj), "mutated file")
    return True
