"""Crash-safe writes: a file or a whole directory appears complete, or not at all.

A file is written to a temporary sibling, flushed and fsynced, then ``os.replace``-d over the
target. A directory is written to ``<name>.tmp-<hex>``; then an existing ``<name>`` is renamed
to ``<name>.bak-<ns>-<hex>``, the temporary directory is renamed to ``<name>`` (the commit
point) and the backup is removed. A crash at any moment leaves either ``<name>`` complete
(old or new), or no ``<name>`` but a complete backup of the old one, which readers fall back
to (:func:`resolve_directory`) and the next save cleans up. One writer per path at a time.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

__all__ = [
    "atomic_write_file",
    "check_replaceable",
    "resolve_directory",
    "write_directory",
]

_TMP = "tmp-[0-9a-f]{16}"
_BAK = r"bak-\d{20}-[0-9a-f]{8}"


def _leftover_re(name: str, kinds: str) -> re.Pattern[str]:
    return re.compile(rf"{re.escape(name)}\.(?:{kinds})")


def fsync_dir(path: Path) -> None:
    """Make renames and new entries in directory ``path`` durable (no-op on Windows)."""
    if os.name == "nt":  # directories cannot be opened for fsync there
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_new_file(path: Path, data: bytes) -> None:
    with open(path, "xb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _remove_quietly(path: Path) -> None:
    """Best-effort removal of a leftover file or directory; never raises."""
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    except Exception:  # a leftover that survives is removed by the next save
        pass


def atomic_write_file(path: Path, data: bytes) -> None:
    """Replace file ``path`` by ``data`` atomically: readers see the old or the new bytes."""
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "Is a directory, not a file", str(path))
    tmp = path.with_name(f"{path.name}.tmp-{secrets.token_hex(8)}")
    try:
        _write_new_file(tmp, data)
        os.replace(tmp, path)
    except Exception:
        _remove_quietly(tmp)
        raise
    fsync_dir(path.parent)
    _remove_leftovers(path, _TMP)


def check_replaceable(path: Path, known: Iterable[str]) -> None:
    """Refuse to overwrite anything at ``path`` that does not look like our own directory.

    Raises:
        FileExistsError: ``path`` is a symlink, a file, or a directory holding a name that is
            not in ``known``.
    """
    if path.is_symlink():
        raise FileExistsError(
            errno.EEXIST, "Refusing to replace a symbolic link; save to its target", str(path)
        )
    if not path.exists():
        return
    if not path.is_dir():
        raise FileExistsError(
            errno.EEXIST,
            "Exists and is not a checkpoint directory; refusing to replace it",
            str(path),
        )
    foreign = sorted(set(os.listdir(path)) - set(known))
    if foreign:
        raise FileExistsError(
            errno.EEXIST,
            f"Holds files that are not part of a checkpoint ({', '.join(foreign[:5])}); "
            "refusing to replace it",
            str(path),
        )


def write_directory(path: Path, files: Mapping[str, bytes]) -> None:
    """Write ``files`` (name -> bytes, written in order) as directory ``path``, atomically.

    An ordinary exception rolls back (the old directory stays, the temporary one is removed);
    a hard crash leaves leftovers that :func:`resolve_directory` and the next call handle.
    """
    parent = path.parent
    tmp = parent / f"{path.name}.tmp-{secrets.token_hex(8)}"
    try:
        os.mkdir(tmp)
        for name, data in files.items():
            _write_new_file(tmp / name, data)
        fsync_dir(tmp)
        _commit(tmp, path)
    except Exception:
        _remove_quietly(tmp)  # already gone when the commit renamed it
        raise
    _remove_leftovers(path, f"{_TMP}|{_BAK}")


def _commit(tmp: Path, path: Path) -> None:
    """Move complete directory ``tmp`` to ``path``, keeping the old one until it is replaced."""
    parent = path.parent
    if not path.exists():
        os.rename(tmp, path)
        fsync_dir(parent)
        return
    backup = parent / f"{path.name}.bak-{time.time_ns():020d}-{secrets.token_hex(4)}"
    os.rename(path, backup)
    try:
        fsync_dir(parent)  # the backup must be on disk before the new `path` can be
        os.rename(tmp, path)
    except Exception:
        try:
            os.rename(backup, path)
        except Exception:  # the backup stays; readers fall back to it
            pass
        raise
    fsync_dir(parent)
    _remove_quietly(backup)


def _remove_leftovers(path: Path, kinds: str) -> None:
    pattern = _leftover_re(path.name, kinds)
    try:
        names = os.listdir(path.parent)
    except OSError:
        return
    for name in names:
        if pattern.fullmatch(name):
            _remove_quietly(path.parent / name)


def resolve_directory(path: Path) -> tuple[Path, bool]:
    """The directory to read for ``path``: itself, or the newest backup of an interrupted save.

    Returns:
        ``(directory, recovered)``, ``recovered`` True when a backup stands in for ``path``.

    Raises:
        FileNotFoundError: neither ``path`` nor a backup of it exists.
    """
    if os.path.lexists(path):
        return path, False
    pattern = _leftover_re(path.name, _BAK)
    try:
        names = os.listdir(path.parent)
    except FileNotFoundError:
        names = []
    backups = sorted(n for n in names if pattern.fullmatch(n) and (path.parent / n).is_dir())
    if not backups:
        raise FileNotFoundError(errno.ENOENT, "No such checkpoint", str(path))
    return path.parent / backups[-1], True
