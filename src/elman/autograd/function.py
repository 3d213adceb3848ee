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
from .anomaly_mode import ANOMALY
from .anomaly_mode import record as record_anomaly
from .grad_mode import is_grad_enabled
from .trace_hook import HOOK

__all__ = ["Context", "Function", "Node", "record_node", "register_tensor_class"]


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
        tensor_type = tensor_class
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
            # an edge per input: None, a leaf, or (node, output index). Inline, and zip
            # without strict=: a call per input, or the keyword, costs ~0.1-0.2 us per op.
            edges = [
                ((a if a._grad_fn is None else (a._grad_fn, a._out_index)) if n else None)
                for a, n in zip(args, needs)  # noqa: B905  (equal lengths by construction)
            ]
            node = record_node(cls, ctx, edges, results)
            if ANOMALY.enabled:
                record_anomaly(node, args, raw, [r._data for r in results])
        if HOOK.tracer is not None:  # elman.onnx.export is recording this call
            HOOK.tracer.function(cls, args, kwargs, results)
        return tuple(results) if multiple else results[0]


def record_node(
    fn: type[Function], ctx: Context, edges: list[Any], results: Any, label: str | None = None
) -> Node:
    """Record one call of ``fn`` in the graph: its node, and the links of its outputs to it.

    The one place where graph nodes are made: :meth:`Function.apply` calls it, and so does
    the RNN fast lane (``elman.nn._rnn_fast``), which runs its kernels without ``apply``.
    Each caller gives the edges (``apply`` from its inputs; the lane knows that an RNN's
    parameters are leaves) and, in anomaly mode, then records the call with
    :func:`anomaly_mode.record`.

    Args:
        fn: the Function whose ``backward`` the engine will call.
        ctx: what its forward saved.
        edges: per positional input, where its gradient goes: None (no gradient needed), a
            leaf Tensor, or ``(node, output index)``.
        results: the output Tensors; the floating ones get ``grad_fn`` = the node.
        label: the node's name if not its Function's (see :meth:`Node.name`).
    """
    meta: list[Any] = []  # (shape, dtype) per output, filled below: one pass over results
    node = Node(fn, ctx, edges, meta)
    if label is not None:
        node.label = label
    i = 0
    for r in results:
        data = r._data
        meta.append((data.shape, data.dtype))
        if data.dtype.kind in "fc":
            r._grad_fn = node
            r._out_index = i
            r._requires_grad = True
        i += 1
    return node


# The Tensor class, registered by tensor.py once it is defined (tensor.py imports this
# module, so importing it here would be circular). Other modules read it as
# ``function.tensor_class`` at call time (a name imported from here would stay None).
tensor_class: Any = None


def register_tensor_class(cls: type) -> None:
    """Called once by tensor.py: the class that ``apply`` and the engine wrap arrays in."""
    global tensor_class
    tensor_class = cls
