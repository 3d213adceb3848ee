"""Weights and training state in and out: torch's .pt files, safetensors files and
crash-safe checkpoints.

* :func:`load` / :func:`save` (also ``elman.load`` / ``elman.save``): torch's ``.pt``/``.pth``
  files, without torch. The reader executes nothing a file names (an allowlist; files that
  ask for more raise :class:`UnsafeFileError`); :func:`describe` lists what a file holds.

* :func:`save_weights` / :func:`load_weights`: one standard safetensors file holding a
  state dict, which torch loads with ``safetensors.torch.load_file``; torch-written
  safetensors files load into elman modules.
* :func:`save_checkpoint` / :func:`load_checkpoint`: a directory with the model weights
  (``model.safetensors``), every other array (``state.safetensors``) and a JSON manifest
  (``meta.json``) with the optimizer/scheduler/extra structure, a format version and a
  SHA-256 per file. Writes are atomic; loads verify everything first; no pickle anywhere.

Damaged, altered or unknown-version files raise :class:`CheckpointError`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._errors import CheckpointError, UnsafeFileError

if TYPE_CHECKING:
    from .checkpoint import FORMAT_VERSION, load_checkpoint, save_checkpoint
    from .pt import describe, load, save
    from .safetensors_io import load_weights, save_weights

__all__ = [
    "save_checkpoint",
    "load_checkpoint",
    "save_weights",
    "load_weights",
    "CheckpointError",
    "UnsafeFileError",
    "FORMAT_VERSION",
    "load",
    "save",
    "describe",
]

# Imported on first use so that `import elman` does not pay for json, hashlib, pathlib, ...
_LAZY = {
    "save_checkpoint": ".checkpoint",
    "load_checkpoint": ".checkpoint",
    "FORMAT_VERSION": ".checkpoint",
    "save_weights": ".safetensors_io",
    "load_weights": ".safetensors_io",
    "load": ".pt",
    "save": ".pt",
    "describe": ".pt",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
