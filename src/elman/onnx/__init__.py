"""ONNX export and import (``pip install "elman[onnx]"``).

- :func:`export` traces one forward call of an elman model and writes an ONNX graph: one
  ``RNN`` node per layer of ``nn.RNN``, any batch size and length.
- :func:`load` reads an ONNX model (from elman or torch's exporter) as an elman
  ``Module`` that runs it with autograd.

This package needs ``onnx``; ``import elman`` does not import it.
"""

from __future__ import annotations

try:
    import onnx as _onnx  # noqa: F401
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError('elman.onnx needs the onnx package: pip install "elman[onnx]"') from e

from ._importer import ONNXModule, load
from ._symbolic import ExportError
from ._tools import describe
from .export import export

__all__ = ["export", "load", "describe", "ONNXModule", "ExportError"]
