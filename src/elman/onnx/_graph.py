"""The graph being written: nodes, initializers and fresh names (onnx.helper underneath)."""

from __future__ import annotations

from typing import Any

import numpy as np
from onnx import TensorProto, helper, numpy_helper

__all__ = ["Graph", "onnx_dtype"]

_DTYPES = {
    np.dtype(np.float32): TensorProto.FLOAT,
    np.dtype(np.float64): TensorProto.DOUBLE,
    np.dtype(np.float16): TensorProto.FLOAT16,
    np.dtype(np.int64): TensorProto.INT64,
    np.dtype(np.int32): TensorProto.INT32,
    np.dtype(np.int16): TensorProto.INT16,
    np.dtype(np.int8): TensorProto.INT8,
    np.dtype(np.uint8): TensorProto.UINT8,
    np.dtype(np.bool_): TensorProto.BOOL,
}


def onnx_dtype(dtype: Any) -> int:
    """The ONNX element type of a NumPy dtype."""
    try:
        return _DTYPES[np.dtype(dtype)]
    except KeyError:
        raise TypeError(f"ONNX export does not support dtype {np.dtype(dtype)}") from None


class Graph:
    """Nodes in the order they were recorded, initializers by name, and a name counter.

    Small integer constants (shapes, axes, indices) are shared: asking twice for the same
    values gives the same initializer.
    """

    def __init__(self, opset: int) -> None:
        self.opset = opset
        self.nodes: list[Any] = []
        self.initializers: dict[str, np.ndarray] = {}
        self._count = 0
        self._shared: dict[tuple[Any, ...], str] = {}

    def fresh(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def node(
        self,
        op: str,
        inputs: list[str],
        outputs: int = 1,
        name: str | None = None,
        **attrs: Any,
    ) -> Any:
        """Append a node; returns its output name (or the list of names when outputs > 1).
        Trailing empty inputs (omitted optional ones) are dropped."""
        while inputs and inputs[-1] == "":
            inputs = inputs[:-1]
        outs = [self.fresh(op) for _ in range(outputs)]
        node = helper.make_node(op, inputs, outs, name=name or outs[0], **attrs)
        self.nodes.append(node)
        return outs if outputs > 1 else outs[0]

    def add_initializer(self, name: str, array: np.ndarray) -> str:
        self.initializers[name] = np.require(array, requirements="C")  # (keeps 0-d arrays 0-d)
        return name

    def const(self, array: Any, hint: str = "const") -> str:
        """An initializer holding ``array`` (shared when equal to an earlier small one)."""
        a = np.asarray(array)
        key = None
        if a.size <= 16:
            key = (a.dtype.str, a.shape, a.tobytes())
            if key in self._shared:
                return self._shared[key]
        name = self.add_initializer(self.fresh(hint), a)
        if key is not None:
            self._shared[key] = name
        return name

    def ints(self, values: Any) -> str:
        """A 1-D int64 constant (shapes, axes, starts, ...)."""
        return self.const(np.asarray(list(values), dtype=np.int64), "ints")

    def scalar_like(self, value: Any, dtype: Any) -> str:
        """A 0-d constant of ``dtype``."""
        return self.const(np.asarray(value, dtype=dtype), "scalar")

    def initializer_protos(self) -> list[Any]:
        return [numpy_helper.from_array(a, n) for n, a in self.initializers.items()]

    def prune(self, outputs: list[str]) -> None:
        """Drop nodes and initializers that no output depends on (a size read but unused
        leaves a Shape node behind)."""
        needed = set(outputs)
        kept = []
        for node in reversed(self.nodes):
            if any(o in needed for o in node.output):
                kept.append(node)
                needed.update(i for i in node.input if i)
        self.nodes = kept[::-1]
        self.initializers = {n: a for n, a in self.initializers.items() if n in needed}
