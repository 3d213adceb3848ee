"""Cached kernels are stale when ANY kernel source changed, not only their own file.

Numba decides whether a cached kernel is fresh from its own source file's stamp. But a
compiled kernel also holds the code of every ``@njit`` function it calls from other files
(callees are linked, or inlined, into the caller's machine code). Change ``activate`` in
``activations.py`` and the cached ``split_forward`` of ``split_recurrence.py`` keeps running the old
activation, silently, until its own file changes. A ``git pull`` into an editable install
does exactly that (it touches only the files that changed).

:func:`install` puts one locator in front of Numba's own for the files of this folder: it
keeps Numba's choice of folder (``NUMBA_CACHE_DIR``, ``__pycache__``, ...; see
:mod:`._cache_dir`) and replaces the freshness stamp with a digest of every kernel source
and of Numba's version, so any change anywhere recompiles every kernel once.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

__all__ = ["install", "kernel_digest", "KERNEL_DIR"]

KERNEL_DIR = os.path.dirname(os.path.abspath(__file__))
_DIGEST: list[str] = []


def kernel_digest(folder: str = KERNEL_DIR) -> str:
    """SHA-256 of the names and contents of the folder's ``.py`` files (and Numba's
    version): what every cached kernel of the folder was compiled from."""
    import numba

    h = hashlib.sha256(numba.__version__.encode())
    for name in sorted(os.listdir(folder)):
        if name.endswith(".py"):
            h.update(name.encode() + b"\0")
            with open(os.path.join(folder, name), "rb") as f:
                h.update(f.read())
    return h.hexdigest()


def _digest() -> str:
    if not _DIGEST:
        _DIGEST.append(kernel_digest())
    return _DIGEST[0]


def install() -> bool:
    """Put the kernels' locator first in Numba's list; False when this Numba has no such
    list (then Numba's per-file stamps apply, as before)."""
    try:
        from numba.core import caching
    except ImportError:  # pragma: no cover - numba without caching
        return False
    impl = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl", None)
    base = getattr(caching, "_CacheLocator", None)
    if impl is None or base is None or not isinstance(impl._locator_classes, list):
        return False  # pragma: no cover - another Numba layout

    class KernelSourcesLocator(base):  # type: ignore[misc, valid-type]
        """Numba's own locator for the file, with the stamp of all kernel sources."""

        def __init__(self, inner: Any) -> None:
            self._inner = inner

        def ensure_cache_path(self) -> None:
            self._inner.ensure_cache_path()

        def get_cache_path(self) -> str:
            return self._inner.get_cache_path()

        def get_source_stamp(self) -> Any:
            return ("elman-kernels", _digest())

        def get_disambiguator(self) -> str:
            return self._inner.get_disambiguator()

        @classmethod
        def from_function(cls, py_func: Any, py_file: str) -> Any:
            if os.path.dirname(os.path.abspath(py_file)) != KERNEL_DIR:
                return None
            for other in impl._locator_classes:
                if other is cls:
                    continue
                inner = other.from_function(py_func, py_file)
                if inner is not None:
                    return cls(inner)
            return None

    if not any(c.__name__ == "KernelSourcesLocator" for c in impl._locator_classes):
        impl._locator_classes = [KernelSourcesLocator, *impl._locator_classes]
    return True
