"""Function: an operation with a forward on ndarrays and a hand-written backward.

A Function's ``forward(ctx, *args, **kwargs)`` receives ndarrays where the caller passed
Tensors, returns one ndarray or a tuple of them, and saves on ``ctx`` what backward needs.
``backward(ctx, *grads)`` receives one gradient per output (an ndarray; zeros for outputs
that did not receive one, or None after ``ctx.set_materialize_grads(False)``) and returns
one gradient (or None) per positional input.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ._checks import allocation_error
from .anomaly_mode import MODE as ANOMALY
from .anomaly_mode import record as record_anomaly
from .grad_mode import is_grad_enabled
from .trace_hook import TRACER

__all__ = ["Context", "Function", "Node"]


class Context:
    """Scratch space that carries saved arrays from a Function's forward to its backward."""

    def __init__(self, needs_input_grad: tuple[bool, ...]) -> None:
        self.needs_input_grad = needs_input_grad
        self.saved_tensors: tuple[Any, ...] = ()

    materialize_grads = True  # see set_materialize_grads

    def save_for_backward(self, *arrays: Any) -> None:
        self.saved_tensors = arrays

    def set_materialize_grads(self, value: bool) -> None:
        """As torch's: with False, ``backward`` receives None (not zeros) for an output
        that no gradient reached. Call it in ``forward``."""
        self.materialize_grads = bool(value)

    if TYPE_CHECKING:  # forwards store what they like on ctx (ctx.shape = ...): let them

        def __getattr__(self, name: str) -> Any: ...

        def __setattr__(self, name: str, value: Any) -> None: ...


class Node:
    """One recorded call of a Function in the graph.

    ``edges[i]`` says where the gradient of positional input ``i`` goes: ``None`` (no grad
    needed), a leaf Tensor (accumulate into ``.grad``), or ``(node, output_index)``.
    """

    # label: a name set when the node was made (see name()); anomaly: what anomaly mode
    # recorded (see anomaly_mode.record). Neither is set unless needed: read them with getattr.
    __slots__ = ("fn", "ctx", "edges", "out_meta", "label", "anomaly", "__weakref__")

    def __init__(
        self, fn: type[Function], ctx: Context, edges: list[Any], out_meta: list[Any]
    ) -> None:
        self.fn = fn
        self.ctx: Context | None = ctx
        self.edges = edges
        self.out_meta = out_meta  # [(shape, dtype)] per output, to build zero grads

    def name(self) -> str:
        """torch's name of the backward function (``grad_fn``), e.g. ``MulBackward0``: the
        node's label, else its Function's ``backward_name``, else ``<class>Backward0``."""
        label = getattr(self, "label", None)
        if label is not None:
            return label  # type: ignore[no-any-return]
        return self.fn.backward_name or f"{self.fn.__name__}Backward0"

    def __repr__(self) -> str:
        return f"<{self.name()}>"


class Function:
    """Base class of differentiable operations; subclass and call ``apply``.

    ``backward_name`` is the name of its graph nodes (torch's, e.g. ``"MulBackward0"``;
    default ``<class name>Backward0``). Where torch names an op by its arguments (a sum
    over a dim is ``SumBackward1``), a subclass carries the other name and the caller
    picks the class, so naming costs nothing per call.
    """

    backward_name = ""

    # Subclasses narrow these signatures (a type checker accepts that from *args, **kwargs).
    @staticmethod
    def forward(*args: Any, **kwargs: Any) -> Any:
        """``forward(ctx, *inputs)``: ndarrays in, an ndarray or a tuple of them out."""
        raise NotImplementedError

    @staticmethod
    def backward(*args: Any, **kwargs: Any) -> Any:
        """``backward(ctx, *grads)``: one gradient (or None) per positional input."""
        raise NotImplementedError

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        tensor_type = _TENSOR[0]
        raw = []
        needs = []
        for a in args:  # one pass: this runs on every op, so it stays lean
            if isinstance(a, tensor_type):
                raw.append(a._data)
                needs.append(a._requires_grad)
            else:
                raw.append(a)
                needs.append(False)
        record = any(needs) and is_grad_enabled()
        ctx = Context(tuple(needs))
        try:
            out = cls.forward(ctx, *raw, **kwargs)
        except MemoryError as e:  # an output too large for this machine: torch's type
            raise allocation_error(e) from None
        multiple = isinstance(out, tuple)
        outs = out if multiple else (out,)
        wrap = tensor_type._wrap
        results = [wrap(o if type(o) is np.ndarray else np.asarray(o)) for o in outs]
        if record:
            edges = [_edge(a) if n else None for a, n in zip(args, needs, strict=True)]
            node = Node(cls, ctx, edges, [(r._data.shape, r._data.dtype) for r in results])
            for i, r in enumerate(results):
                if r._data.dtype.kind in "fc":
                    r._grad_fn = node
                    r._out_index = i
                    r._requires_grad = True
            if ANOMALY[0]:
                record_anomaly(node, args, raw, [r._data for r in results])
        if TRACER[0] is not None:  # elman.onnx.export is recording this call
            TRACER[0].function(cls, args, kwargs, results)
        return tuple(results) if multiple else results[0]


# The Tensor class, registered by tensor.py once it is defined (tensor.py imports this
# module, so importing it here would be circular; a lookup per call would cost ~1 µs).
_TENSOR: list[Any] = [None]


def _edge(t: Any) -> Any:
    if t._grad_fn is not None:
        return (t._grad_fn, t._out_index)
    return t
