"""How the ``elman`` command fails: one line on stderr and a documented exit code.

Exit codes (also in ``elman --help`` and the README):

* 0: done.
* 1: a user error found while running: a missing, unreadable or malformed file, a folder
  that cannot be written or already holds another run, a full disk, a loss that became
  NaN/inf. One line on stderr, starting with ``elman COMMAND:``.
* 2: the command line itself is wrong (an unknown flag, a value out of range); nothing ran.
* 130: interrupted (Ctrl-C); ``elman train`` saves a checkpoint first.

Anything else that escapes is a bug in elman and keeps its traceback.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

__all__ = [
    "UserError",
    "EXIT_DONE",
    "EXIT_USER",
    "EXIT_USAGE",
    "EXIT_INTERRUPTED",
    "EXIT_TERMINATED",
    "os_reason",
]

EXIT_DONE, EXIT_USER, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
#: 128 + SIGTERM: ``elman train`` stopped by SIGTERM after saving
EXIT_TERMINATED = 143


class UserError(Exception):
    """A mistake the user can fix; its message is printed as one line, exit code 1."""


_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EFBIG: "the file size limit was reached (ulimit -f)",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENOENT: "no such file or folder",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "it is a folder, not a file",
    errno.ENAMETOOLONG: "the name is too long",
}


def os_reason(exc: OSError) -> str:
    """A short, lower-case reason for an OSError, e.g. ``the disk is full (ENOSPC)``."""
    name = errno.errorcode.get(exc.errno or 0, "")
    reason = _REASONS.get(exc.errno or 0) or (exc.strerror or str(exc)).lower()
    return f"{reason} ({name})" if name else reason


def describe_os_error(exc: OSError) -> str:
    """``path: reason`` for an OSError that escaped to the top level."""
    where = exc.filename if exc.filename is not None else ""
    return f"{os.fspath(where)}: {os_reason(exc)}" if where else os_reason(exc)


def first_line(text: str, limit: int = 300) -> str:
    """The first line of ``text``, shortened: error messages stay one line."""
    line = str(text).strip().splitlines()[0] if str(text).strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def check_output_file(path: Path, what: str) -> None:
    """Refuse an output file that cannot be written, before any work is done."""
    if path.is_dir():
        raise UserError(f"{what} {path} is a folder; give a file name")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.exists():
        raise UserError(f"{what} {path}: the folder {parent} does not exist")
    if not parent.is_dir():
        raise UserError(f"{what} {path}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK):
        raise UserError(f"{what} {path}: the folder {parent} is not writable")


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux MemAvailable), or None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def check_memory(nbytes: int, what: str) -> None:
    """Refuse work needing more memory than is available, rather than being OOM-killed."""
    free = available_memory()
    if free is not None and nbytes > free:
        raise UserError(
            f"{what} need about {nbytes / 2**30:.3g} GiB of memory and "
            f"{free / 2**30:.3g} GiB are available; use smaller sizes"
        )
