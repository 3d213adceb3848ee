"""What a traced forward call sees instead of numbers: sizes that remember where they came
from (:class:`SymInt`) and tensors whose sizes are such (:class:`TracedTensor`).

``x.size(0)`` of a traced tensor is a :class:`SymInt`: an ``int`` with the traced value
(so Python code runs as usual) that also knows how to compute itself in the graph
(``Shape`` + ``Gather``). Arithmetic between sizes and ints stays symbolic, so
``elman.zeros(1, x.size(0), H)`` or ``x.view(x.size(0) * x.size(1), -1)`` keep the batch
dynamic, as torch's tracer does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..autograd import Size, Tensor
from ..autograd.trace_hook import HOOK

__all__ = ["SymInt", "TracedTensor", "ExportError"]


class ExportError(RuntimeError):
    """A model, op or argument that ``elman.onnx.export`` cannot write as ONNX."""


class SymInt(int):
    """An int that carries a recipe for computing it in the graph as a 1-D int64 [1]."""

    _make: Callable[[Any], str]

    def __new__(cls, value: int, make: Callable[[Any], str]) -> SymInt:
        obj = super().__new__(cls, value)
        obj._make = make
        return obj

    def _binary(self, other: Any, op: str, value: int, swap: bool = False) -> Any:
        if isinstance(other, bool) or not isinstance(other, int):
            return NotImplemented
        a, b = (other, self) if swap else (self, other)
        return SymInt(value, lambda tr: tr.g.node(op, [tr.sym(a), tr.sym(b)]))

    def __add__(self, other: Any) -> Any:
        return self._binary(other, "Add", int(self) + int(other))

    def __radd__(self, other: Any) -> Any:
        return self._binary(other, "Add", int(other) + int(self), swap=True)

    def __sub__(self, other: Any) -> Any:
        return self._binary(other, "Sub", int(self) - int(other))

    def __rsub__(self, other: Any) -> Any:
        return self._binary(other, "Sub", int(other) - int(self), swap=True)

    def __mul__(self, other: Any) -> Any:
        return self._binary(other, "Mul", int(self) * int(other))

    def __rmul__(self, other: Any) -> Any:
        return self._binary(other, "Mul", int(other) * int(self), swap=True)

    def __floordiv__(self, other: Any) -> Any:  # sizes are >= 0: ONNX's Div truncates alike
        return self._binary(other, "Div", int(self) // int(other))

    def __rfloordiv__(self, other: Any) -> Any:
        return self._binary(other, "Div", int(other) // int(self), swap=True)

    __hash__ = int.__hash__


def _tracer() -> Any:
    tracer = HOOK.tracer
    if tracer is None:  # a traced tensor kept after export: behave as a plain tensor
        return None
    return tracer


class TracedTensor(Tensor):
    """A Tensor recorded in the graph being traced: its sizes are :class:`SymInt`, and
    methods that would hand its values to Python (``item``, ``numpy``, ``bool``), which
    the graph could not follow, are refused."""

    @property
    def shape(self) -> Size:
        tr = _tracer()
        if tr is None:
            return Size(self._data.shape)
        return Size(tr.dims(self))

    def size(self, dim: int | None = None) -> Any:
        shape = self.shape
        return shape if dim is None else shape[dim]

    def _refuse(self, what: str) -> Any:
        tr = _tracer()
        if tr is not None and not tr.depth:
            raise ExportError(
                f"{what} reads a traced tensor's values into Python; the graph cannot "
                f"follow them (data-dependent control flow is not exportable){tr.where()}"
            )
        return None

    def item(self) -> Any:
        self._refuse("Tensor.item()")
        return super().item()

    def tolist(self) -> Any:
        self._refuse("Tensor.tolist()")
        return super().tolist()

    def numpy(self) -> np.ndarray:
        self._refuse("Tensor.numpy()")
        return super().numpy()

    def __bool__(self) -> bool:
        self._refuse("bool(tensor)")
        return super().__bool__()

    def __float__(self) -> float:
        self._refuse("float(tensor)")
        return super().__float__()

    def __int__(self) -> int:
        self._refuse("int(tensor)")
        return super().__int__()

    def __setitem__(self, index: Any, value: Any) -> None:
        self._refuse("an in-place assignment (tensor[...] = value)")
        super().__setitem__(index, value)

    def detach(self) -> Tensor:
        tr = _tracer()
        out = super().detach()
        if tr is not None and not tr.depth:
            tr.bind(out, tr.name_of(self))
        return out

    def _methods(self) -> Any:
        from ._traced_methods import traced_method

        return traced_method

    # exact ONNX ops for the shape methods that elman computes as a Reshape of sizes
    def unsqueeze(self, dim: int) -> Tensor:
        return self._methods()(self, "unsqueeze", dim)

    def squeeze(self, dim: int | None = None) -> Tensor:
        return self._methods()(self, "squeeze", dim)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        return self._methods()(self, "flatten", start_dim, end_dim)

    def expand(self, *shape: Any) -> Tensor:
        return self._methods()(self, "expand", *shape)

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return self._methods()(self, "argmax", dim, keepdim)

    def long(self) -> Tensor:
        return self._methods()(self, "long")

    def _compare(self, other: Any, op: Any) -> Tensor:
        return self._methods()(self, "_compare", other, op)

    def __getitem__(self, index: Any) -> Tensor:
        return self._methods()(self, "__getitem__", index)

    # in-place arithmetic on a traced tensor would change its data outside the graph:
    # record it out of place (x += y rebinds x to x + y)
    def __iadd__(self, other: Any) -> Tensor:  # type: ignore[misc]
        return self.__add__(other)

    def __isub__(self, other: Any) -> Tensor:  # type: ignore[misc]
        return self.__sub__(other)

    def __imul__(self, other: Any) -> Tensor:  # type: ignore[misc]
        return self.__mul__(other)

    def __itruediv__(self, other: Any) -> Tensor:  # type: ignore[misc]
        return self.__truediv__(other)
