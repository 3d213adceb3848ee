"""The containers of torch's ``.pt`` files: the zip archive (torch >= 1.6) and the legacy
stream of pickles, read without trusting any size or name in them.

Zip archive: ``<folder>/data.pkl`` (the object's pickle), ``<folder>/data/<key>`` (one
storage's raw bytes each), ``<folder>/byteorder``, ``version``, ``.format_version``,
``.storage_alignment``; the folder is the file's stem (``archive`` for a file object). Every
entry read must be stored uncompressed (torch writes no other kind; a compressed entry could
be a zip bomb), must lie inside the file, and its name must stay inside the folder.

Legacy stream: pickles of the magic number, the protocol version (1001), a system-info
dict, the object, the list of storage keys, then per storage an int64 element count and
its bytes.
"""

from __future__ import annotations

import io
import mmap as mmap_module
import os
import struct
import zipfile
import zlib
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

from ._errors import CheckpointError, UnsafeFileError

__all__ = ["Blob", "open_blob", "ZipArchive", "MAGIC_NUMBER", "LEGACY_PROTOCOL", "sniff"]

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # zipfile's structFileHeader


class Blob:
    """The bytes of a file: read (fresh, writable arrays) or mapped (views of the map).

    Args:
        name: for messages.
        file: a seekable binary file, read on demand (None when ``buffer`` is given).
        buffer: the whole file as a bytearray or an ``mmap`` (copy-on-write).
    """

    def __init__(self, name: str, file: IO[bytes] | None = None, buffer: Any = None) -> None:
        self.name = name
        self.file = file
        self.buffer = buffer
        if buffer is not None:
            self.size = len(buffer)
        else:
            assert file is not None
            self.size = file.seek(0, os.SEEK_END)
        self.mapped = isinstance(buffer, mmap_module.mmap)

    def check_range(self, offset: int, n: int, what: str) -> None:
        if offset < 0 or n < 0 or offset + n > self.size:
            raise CheckpointError(
                f"{self.name}: {what} needs bytes {offset}..{offset + n} but the file has "
                f"{self.size} (truncated?)"
            )

    def array(self, offset: int, n: int, what: str) -> np.ndarray:
        """``n`` bytes at ``offset`` as a writable uint8 array (a view when buffered)."""
        self.check_range(offset, n, what)
        if self.buffer is not None:
            return np.frombuffer(self.buffer, dtype=np.uint8, count=n, offset=offset)
        assert self.file is not None
        out = np.empty(n, dtype=np.uint8)
        self.file.seek(offset)
        if self.file.readinto(memoryview(out)) != n:  # type: ignore[attr-defined]
            raise CheckpointError(f"{self.name}: {what}: the file ended early")
        return out

    def stream(self, offset: int = 0) -> IO[bytes]:
        """A file-like reader positioned at ``offset`` (for the legacy pickles)."""
        if self.buffer is not None:
            if self.mapped:
                self.buffer.seek(offset)
                return self.buffer  # type: ignore[no-any-return]
            reader = io.BufferedReader(_MapReader(self.buffer))
            reader.seek(offset)
            return reader
        assert self.file is not None
        self.file.seek(offset)
        return self.file


def open_blob(f: Any, mmap: bool) -> tuple[Blob, Any]:
    """A Blob over a path or a binary file object, and what to close after loading."""
    if isinstance(f, (str, os.PathLike)):
        name = os.fspath(f)
        file = open(name, "rb")  # noqa: SIM115 - closed by the caller
        if not mmap:
            return Blob(name, file=file), file
        try:
            size = os.fstat(file.fileno()).st_size
            buffer = (
                mmap_module.mmap(file.fileno(), 0, access=mmap_module.ACCESS_COPY)
                if size
                else bytearray()
            )
        except (OSError, ValueError):
            file.close()
            raise
        return Blob(name, buffer=buffer), file
    if mmap:
        raise ValueError("f must be a file path in order to use the mmap argument")
    if not hasattr(f, "read"):
        raise TypeError(f"f must be a path or a binary file object, got {type(f).__qualname__}")
    name = str(getattr(f, "name", "<file object>"))
    data = f.read()
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError("f must be opened in binary mode ('rb')")
    return Blob(name, buffer=bytearray(data)), None


def sniff(blob: Blob) -> str:
    """``"zip"``, ``"legacy"`` or ``"tar"`` from the first bytes; CheckpointError else."""
    head = bytes(blob.array(0, min(blob.size, 512), "the header"))
    if head[:4] == b"PK\x03\x04":
        return "zip"
    if head[:2] == b"\x80\x02" or head[:1] == b"\x80":
        return "legacy"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    hint = ""
    if head[:6] == b"\x93NUMPY":
        hint = " (it is a NumPy .npy file: use numpy.load)"
    elif len(head) > 9 and head[8:9] == b"{":
        hint = " (it looks like a safetensors file: use elman.io.load_weights)"
    elif head[:4] == b"PK\x05\x06" or not head:
        hint = " (it is empty)" if not head else " (an empty zip)"
    raise CheckpointError(f"{blob.name}: not a file written by torch.save{hint}")


def _check_name(name: str, where: str) -> None:
    parts = name.split("/")
    if (
        not name
        or name.startswith("/")
        or "\\" in name
        or "\x00" in name
        or ":" in parts[0]
        or any(p in ("..", ".") for p in parts)
    ):
        raise UnsafeFileError(
            f"{where}: zip entry name {name!r} would escape the archive's folder; refused"
        )


@dataclass(frozen=True)
class Entry:
    name: str
    offset: int  # of the data
    size: int
    crc: int


class ZipArchive:
    """The entries of a torch zip archive, checked, and their bytes."""

    def __init__(self, blob: Blob) -> None:
        self.blob = blob
        where = blob.name
        try:
            source = blob.file if blob.file is not None else _MapReader(blob.buffer)
            with zipfile.ZipFile(source) as zf:  # type: ignore[arg-type]
                infos = zf.infolist()
        except Exception as e:  # noqa: BLE001 - zipfile parses untrusted bytes: any failure
            # (BadZipFile, NotImplementedError for a bogus version, struct.error, ...) is a
            # damaged archive; zipfile runs no code a file names
            raise CheckpointError(
                f"{where}: not a readable zip archive ({type(e).__name__}: {e}; truncated?)"
            ) from None
        self.entries: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            _check_name(info.filename, where)
            if info.filename in self.entries:
                raise CheckpointError(f"{where}: zip entry {info.filename!r} appears twice")
            self.entries[info.filename] = info
        pickles = [n for n in self.entries if n.endswith("/data.pkl") and n.count("/") == 1]
        if len(pickles) != 1:
            script = any(n.endswith("/constants.pkl") or "/code/" in n for n in self.entries)
            if script:
                raise CheckpointError(
                    f"{where}: a TorchScript archive (torch.jit.save), not a torch.save file"
                )
            what = "no" if not pickles else "more than one"
            raise CheckpointError(
                f"{where}: a zip with {what} '<folder>/data.pkl': not torch.save's"
            )
        self.prefix = pickles[0][: -len("data.pkl")]
        order = self.read_small("byteorder", 16)
        self.byteorder = "little" if order is None else order.decode("ascii", "replace")
        if self.byteorder not in ("little", "big"):
            raise CheckpointError(f"{where}: unknown byteorder {self.byteorder!r}")

    def entry(self, name: str, what: str) -> Entry:
        """Locate ``<folder>/name``'s data, which must be stored uncompressed."""
        where = self.blob.name
        info = self.entries.get(self.prefix + name)
        if info is None:
            raise CheckpointError(f"{where}: {what} ({self.prefix}{name}) is missing")
        if info.compress_type != zipfile.ZIP_STORED:
            raise CheckpointError(
                f"{where}: entry {info.filename} is compressed (method {info.compress_type}); "
                "torch.save stores entries uncompressed, and elman.load refuses compressed "
                "ones (zip bombs)"
            )
        header = bytes(self.blob.array(info.header_offset, 30, f"{what}'s zip header"))
        fields = _LOCAL_HEADER.unpack(header)
        if fields[0] != b"PK\x03\x04":
            raise CheckpointError(f"{where}: bad zip header of {info.filename}")
        start = info.header_offset + 30 + fields[10] + fields[11]
        self.blob.check_range(start, info.file_size, what)
        return Entry(info.filename, start, info.file_size, info.CRC)

    def read(self, name: str, what: str, verify: bool = True) -> np.ndarray:
        """The entry's bytes (a view of the map under mmap); CRC-32 checked if ``verify``."""
        e = self.entry(name, what)
        data = self.blob.array(e.offset, e.size, what)
        if verify and zlib.crc32(data) != e.crc:
            raise CheckpointError(
                f"{self.blob.name}: {e.name} does not match its CRC-32 (the file is corrupt)"
            )
        return data

    def read_small(self, name: str, limit: int) -> bytes | None:
        if self.prefix + name not in self.entries:
            return None
        e = self.entry(name, name)
        if e.size > limit:
            raise CheckpointError(f"{self.blob.name}: entry {e.name} is too large")
        return bytes(self.read(name, name)).strip()


class _MapReader(io.RawIOBase):
    """A read-only file view of an mmap for zipfile, without copying it."""

    def __init__(self, buffer: Any) -> None:
        self._view = memoryview(buffer)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        base = (0, self._pos, len(self._view))[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def readinto(self, b: Any) -> int:
        chunk = self._view[self._pos : self._pos + len(b)]
        n = len(chunk)
        b[:n] = chunk
        self._pos += n
        return n

    def close(self) -> None:
        self._view.release()
        super().close()
