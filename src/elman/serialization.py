"""torch's ``torch.serialization`` names: ``load``, ``save`` and the allowlist of classes.

A thin re-export, so that code written for torch (``torch.serialization.safe_globals``,
``import elman as torch``) finds the same functions; they live in :mod:`elman.io`.
"""

from __future__ import annotations

from .io._errors import UnsafeFileError
from .io._pt_globals import add_safe_globals, clear_safe_globals, get_safe_globals, safe_globals
from .io.pt import load, save

__all__ = [
    "load",
    "save",
    "add_safe_globals",
    "get_safe_globals",
    "clear_safe_globals",
    "safe_globals",
    "UnsafeFileError",
]
