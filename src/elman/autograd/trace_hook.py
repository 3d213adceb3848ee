"""The slot through which a tracer (``elman.onnx.export``) watches a forward call.

``HOOK.tracer`` is None except while ``elman.onnx`` traces a model; then
``Function.apply``, ``Module.__call__`` and the creation ops report to it. The slot lives
here, at the bottom of the package, so that those layers need not import the tracer.
"""

from __future__ import annotations

from typing import Any

__all__ = ["HOOK", "TraceHook"]


class TraceHook:
    """Who watches forward calls: ``tracer`` is None, or the tracer recording them."""

    __slots__ = ("tracer",)

    def __init__(self) -> None:
        self.tracer: Any = None


HOOK = TraceHook()
