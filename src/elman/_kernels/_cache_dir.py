"""Where Numba caches elman's compiled kernels: the first folder of a short list that can
really be written to (a file is created and removed: permission bits alone say nothing
for root, a read-only mount or an ACL).

1. the folder the user named in ``NUMBA_CACHE_DIR`` (Numba's own setting);
2. the package's ``__pycache__`` (Numba's default: next to the sources);
3. the user cache, ``$XDG_CACHE_HOME/elman/numba`` (default ``~/.cache/elman/numba``);
4. a per-user temporary folder, ``<tempdir>/elman-numba-<uid>``, used only when it is
   this user's own and nobody else can write to it (Numba's cache holds pickled code);
5. no cache at all: kernels compile in every process.

Falling back past the user's own ``NUMBA_CACHE_DIR``, or to 4 or 5, is announced by one
warning. Kernels compiled for another vector width (``ELMAN_SIMD_BYTES``) must not meet
the default ones (Numba's cache key does not see that setting): they skip 2 and use a
``simd<bytes>``/``numba-simd<bytes>`` folder of the others.

Only ``os``/``tempfile`` here: this runs before Numba is imported.
"""

from __future__ import annotations

import os
import stat
import tempfile
from typing import NamedTuple

__all__ = ["CacheChoice", "choose_cache_dir", "writable", "user_cache", "per_user_temp"]


class CacheChoice(NamedTuple):
    path: str | None  # the folder for NUMBA_CACHE_DIR; None: Numba's default (__pycache__)
    cache: bool  # False: no folder could be written, kernels are compiled with cache=False
    warning: str  # "" or the one message to show


def writable(path: str) -> bool:
    """Whether a file can be created in ``path`` (created first when missing)."""
    try:
        os.makedirs(path, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
    except OSError:
        return False
    return True


def user_cache() -> str:
    """``$XDG_CACHE_HOME/elman`` (default ``~/.cache/elman``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "elman")


def per_user_temp() -> str | None:
    """``<tempdir>/elman-numba-<uid>``, created private (0700); None when the temporary
    folder cannot be written, or when that name exists and is not a private folder of this
    user (someone else could have put a cache there for us to load)."""
    try:
        base = tempfile.gettempdir()
    except OSError:  # no writable temporary folder at all (gettempdir raises then)
        return None
    uid = os.geteuid() if hasattr(os, "geteuid") else None
    path = os.path.join(base, f"elman-numba-{uid if uid is not None else 'user'}")
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        st = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode):  # a symlink or a file planted under that name
        return None
    if uid is not None and (st.st_uid != uid or st.st_mode & 0o077):
        return None
    return path


def choose_cache_dir(
    configured: str, width: str, in_tree: str, numba_user_dir: str = ""
) -> CacheChoice:
    """The cache folder to use.

    configured: the user's ``NUMBA_CACHE_DIR`` ("" when unset); width: ``ELMAN_SIMD_BYTES``
    ("" when unset); in_tree: the kernels' ``__pycache__``; numba_user_dir: Numba's own
    user-wide cache folder, where Numba looks by itself after ``__pycache__`` (passed when
    Numba is already imported: its environment can no longer be steered then).
    """
    suffix = f"simd{width}" if width else ""
    tried: list[str] = []
    refused = ""  # the user's own folder, when it cannot be written: worth a warning
    if configured:
        path = os.path.join(configured, suffix) if suffix else configured
        if writable(path):
            return CacheChoice(path, True, "")
        tried.append(path)
        refused = f"elman: NUMBA_CACHE_DIR={path!r} is not writable: caching compiled kernels in "
    if not suffix:
        for default in (in_tree, numba_user_dir):  # where Numba looks next by itself
            if default and writable(default):
                return CacheChoice(None, True, refused and refused + default)
            if default:
                tried.append(default)
    user = os.path.join(user_cache(), f"numba-{suffix}" if suffix else "numba")
    if writable(user):
        return CacheChoice(user, True, refused and refused + user)
    tried.append(user)
    temp = per_user_temp()
    if temp is not None:
        path = os.path.join(temp, suffix) if suffix else temp
        if writable(path):
            return CacheChoice(path, True, _warn(tried, f"caching them in {path}"))
        tried.append(path)
    what = "compiling them in every process (set NUMBA_CACHE_DIR to a writable folder)"
    return CacheChoice(None, False, _warn(tried, what))


def _warn(tried: list[str], what: str) -> str:
    return f"elman: no writable folder for compiled kernels ({', '.join(tried)}): {what}"
