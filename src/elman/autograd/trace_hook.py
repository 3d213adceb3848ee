"""The slot through which a tracer (``elman.onnx.export``) watches a forward call.

``TRACER[0]`` is None except while ``elman.onnx`` traces a model; then
``Function.apply``, ``Module.__call__`` and the creation ops report to it. The slot lives
here, at the bottom of the package, so that those layers need not import the tracer.
"""

from __future__ import annotations

from typing import Any

__all__ = ["TRACER"]

TRACER: list[Any] = [None]
