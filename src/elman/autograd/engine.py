"""The backward engine: walks the graph iteratively in dependency order.

No recursion anywhere, so graphs of any depth (a 100,000-step chain) are fine.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from . import function
from ._checks import allocation_error
from .anomaly_mode import ANOMALY, checked_backward, roots_of_backward
from .function import Node
from .grad_mode import _state

if TYPE_CHECKING:
    from .tensor import Tensor

__all__ = ["backward", "run_backward"]

_FREED = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward(). Specify retain_graph=True if you need to backward through "
    "the graph a second time."
)


# A Function's promise, ``ctx.grads_owned`` and ``ctx.grads_exact`` both set: its backward
# returns fresh ndarrays, referenced nowhere else, each of its input's shape and dtype (the
# RNN fast lane's node: views of one fresh flat buffer). A leaf without ``.grad`` then takes
# the array as is, without _accumulate's checks (~0.3 us a leaf, an RNN call has 4 per layer
# and direction).
EXACT = 2

# Held while a leaf's ``.grad`` is read and replaced, so that backward() calls running in
# several threads into the same parameters add every gradient (torch locks its
# AccumulateGrad the same way); uncontended it costs ~0.1 us per leaf.
GRAD_LOCK = threading.Lock()


def _accumulate(leaf: Tensor, grad: np.ndarray, owned: bool = False) -> None:
    """Add ``grad`` to ``leaf.grad``. ``owned``: the array is fresh and referenced nowhere
    else (its Function said so with ``ctx.grads_owned``), so it may become ``.grad`` as is."""
    data = leaf._data
    if type(grad) is not np.ndarray or grad.dtype != data.dtype or grad.shape != data.shape:
        grad = np.broadcast_to(np.asarray(grad, dtype=data.dtype), data.shape)
        owned = False
    with GRAD_LOCK:
        old = leaf.grad
        if old is not None:
            grad = old._data + grad
        elif not owned:  # a copy: kernels may return one array twice, or a view of an input
            grad = grad.copy()
        leaf.grad = function.tensor_class._wrap(grad)


def _count_dependencies(roots: Sequence[Node]) -> dict[Node, int]:
    deps: dict[Node, int] = {r: 0 for r in roots}
    stack = list(roots)
    seen = set(roots)
    while stack:
        node = stack.pop()
        for edge in node.edges:
            if isinstance(edge, tuple):
                child = edge[0]
                deps[child] = deps.get(child, 0) + 1
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
    return deps


def run_backward(
    tensors: Sequence[Tensor], grads: Sequence[np.ndarray], retain_graph: bool = False
) -> None:
    """Accumulate d(sum_i <tensors[i], grads[i]>)/d(leaf) into every leaf's ``.grad``."""
    prev = _state.enabled  # grad mode off for the whole walk (as no_grad, ~1 µs cheaper)
    _state.enabled = False
    try:
        if ANOMALY.enabled:
            with roots_of_backward(tensors):
                _walk(tensors, grads, retain_graph)
        else:
            _walk(tensors, grads, retain_graph)
    except MemoryError as e:  # a gradient too large for this machine: torch's type
        raise allocation_error(e) from None
    finally:
        _state.enabled = prev


def _walk(
    tensors: Sequence[Tensor], grads: Sequence[np.ndarray], retain_graph: bool, chain: bool = True
) -> None:
    """The walk: every node after all the nodes that feed it a gradient (Kahn's order, the
    last ready node first), its backward called once with the sum of what reached it.

    From one tensor it starts as :func:`_run_chain`, the same walk while it needs no
    bookkeeping; ``chain=False`` skips that start (tests compare the two)."""
    buffers: dict[Node, list[Any]] = {}
    roots: list[Node] = []
    if chain and len(tensors) == 1 and tensors[0]._grad_fn is not None:
        node = tensors[0]._grad_fn
        first: list[Any] = [None] * len(node.out_meta)
        first[tensors[0]._out_index] = grads[0]
        rest = _run_chain(node, first, retain_graph)
        if rest is None:
            return
        roots.append(rest[0])
        if rest[1] is not None:
            buffers[rest[0]] = rest[1]
    else:
        for t, g in zip(tensors, grads, strict=True):
            node = t._grad_fn
            if node is None:  # a leaf that requires grad
                _accumulate(t, g)
                continue
            buf = buffers.setdefault(node, [None] * len(node.out_meta))
            i = t._out_index
            buf[i] = g if buf[i] is None else buf[i] + g
            if node not in roots:
                roots.append(node)
    deps = _count_dependencies(roots)
    ready = [r for r in roots if deps[r] == 0]
    while ready:
        node = ready.pop()
        in_grads, owned = _run_node(node, buffers.pop(node, None), retain_graph)
        for edge, g in zip(node.edges, in_grads, strict=True):
            if edge is None:
                continue
            if not isinstance(edge, tuple):
                if g is not None:
                    _accumulate(edge, g, owned)
                continue
            child, idx = edge
            if g is not None:
                dtype = child.out_meta[idx][1]
                g = np.asarray(g, dtype=dtype)
                buf = buffers.setdefault(child, [None] * len(child.out_meta))
                buf[idx] = g if buf[idx] is None else buf[idx] + g
            deps[child] -= 1
            if deps[child] == 0:
                ready.append(child)


def _run_chain(
    node: Node, outs: list[Any] | None, retain_graph: bool
) -> tuple[Node, list[Any] | None] | None:
    """:func:`_walk` while the graph is a chain: each node met has at most one edge to
    another node (an RNN call on a leaf, pack_padded_sequence then an RNN, ``x * w``, a
    long chain of ops). Returns None when done, else the first node with two or more node
    edges and its output gradients (None: nothing reached it), where _walk goes on.

    Why this is _walk itself, minus its bookkeeping: every node reachable from the start
    is either on the path walked so far or below the current node. A node on the path
    links only to its successor, and nothing below a node links back up to it (the graph
    is acyclic), so the current node's child has exactly one reachable parent: in _walk its
    dependency count is 1, it becomes ready alone when the current node is done, and the
    ready list never holds more than that one node. So the same nodes run in the same order
    with the same gradients; _walk's counting and buffers are left out, and the commonest
    leaf accumulation is done inline. ``test_engine_walks`` checks this on random graphs."""
    Tensor = function.tensor_class
    new = object.__new__  # Tensor._wrap inline: the leaves of an RNN call are nine or more
    ndarray = np.ndarray
    lock = GRAD_LOCK
    while True:
        edges = node.edges
        links = 0
        for edge in edges:
            if type(edge) is tuple:
                links += 1
        if links > 1:
            return node, outs
        in_grads, owned = _run_node(node, outs, retain_graph)
        after = None
        later = None  # leaves for _accumulate's general way, after the lock is let go
        with lock:  # once for the node's leaves (an RNN call has 2-6 per layer and direction)
            for edge, g in zip(edges, in_grads, strict=True):
                if edge is None:
                    continue
                if type(edge) is tuple:
                    child, idx = edge
                    child_outs = None
                    if g is not None:
                        child_outs = [None] * len(child.out_meta)
                        child_outs[idx] = np.asarray(g, dtype=child.out_meta[idx][1])
                    after = (child, child_outs)
                elif g is None:
                    continue
                elif edge.grad is None and (
                    owned is EXACT
                    or (
                        owned
                        and type(g) is ndarray
                        and g.shape == edge._data.shape
                        and g.dtype is edge._data.dtype  # (an equal dtype object: kept as is)
                    )
                ):  # _accumulate's common case, inline: the leaves of an RNN call
                    t = new(Tensor)
                    t._data = g
                    edge.grad = t
                elif later is None:
                    later = [(edge, g)]
                else:
                    later.append((edge, g))
        if later is not None:  # (in the edges' order: a leaf met twice sums as in _walk)
            for edge, g in later:
                _accumulate(edge, g, owned)
        if after is None:
            return None
        node, outs = after


def _run_node(
    node: Node, outs: list[Any] | None, retain_graph: bool
) -> tuple[tuple[Any, ...], Any]:
    """One step of the walk: ``node``'s input gradients (all None when nothing reached it:
    ``outs`` None) and whether its Function gave them as fresh arrays (``ctx.grads_owned``;
    :data:`EXACT` when ``ctx.grads_exact`` says too that each is an ndarray of its input's
    shape and dtype); the node's saved arrays are released unless ``retain_graph``."""
    ctx = node.ctx
    owned = getattr(ctx, "grads_owned", False)
    if owned and getattr(ctx, "grads_exact", False):
        owned = EXACT
    if outs is None:  # nothing reached this node: only release it and go on
        in_grads: tuple[Any, ...] = (None,) * len(node.edges)
    else:
        in_grads = _call_backward(node, outs)
    if not retain_graph:
        node.ctx = None
    return in_grads, owned


def _call_backward(node: Node, outs: list[Any]) -> tuple[Any, ...]:
    ctx = node.ctx
    if ctx is None:
        raise RuntimeError(_FREED)
    if ctx.materialize_grads:
        full = [
            np.zeros(shape, dtype) if g is None else g
            for g, (shape, dtype) in zip(outs, node.out_meta, strict=True)
        ]
    else:
        full = outs
    if ANOMALY.enabled:  # the checks and the forward traceback of anomaly mode
        in_grads = checked_backward(node, full)
    else:
        in_grads = node.fn.backward(ctx, *full)
        if not isinstance(in_grads, tuple):
            in_grads = (in_grads,)
    if len(in_grads) != len(node.edges):
        raise RuntimeError(
            f"function {node.name()} returned an incorrect number of gradients "
            f"(expected {len(node.edges)}, got {len(in_grads)})"
        )
    return in_grads


def backward(
    tensors: Sequence[Tensor] | Tensor, grad_tensors: Any = None, retain_graph: bool = False
) -> None:
    """Accumulate into every leaf's ``.grad`` the gradient of ``sum_i <tensors[i], grads[i]>``.

    As ``torch.autograd.backward``: ``grad_tensors`` holds one gradient (a Tensor, ndarray or
    number, or None for a one-element tensor) per tensor.

    Example:
        >>> import elman
        >>> x = elman.tensor([1.0, 2.0], requires_grad=True)
        >>> elman.autograd.backward([x * 3], [elman.ones(2)])
        >>> x.grad
        tensor([3., 3.])
    """
    Tensor = function.tensor_class
    if isinstance(tensors, Tensor) and (grad_tensors is None or type(grad_tensors) is np.ndarray):
        # one tensor, one array (Tensor.backward's call): no lists to build and check
        run_backward([tensors], [_grad_array(0, tensors, grad_tensors)], retain_graph)
        return
    ts = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    if grad_tensors is None:
        gs: list[Any] = [None] * len(ts)
    elif isinstance(grad_tensors, (Tensor, np.ndarray)):
        gs = [grad_tensors]
    else:
        gs = list(grad_tensors)
    if len(gs) != len(ts):
        raise RuntimeError(f"got {len(ts)} tensors and {len(gs)} gradients")
    arrays = [_grad_array(i, t, g) for i, (t, g) in enumerate(zip(ts, gs, strict=True))]
    run_backward(ts, arrays, retain_graph=retain_graph)


def _grad_array(i: int, t: Tensor, g: Any) -> np.ndarray:
    """The gradient ``g`` given for ``tensors[i]`` as an array of its dtype and shape."""
    data = t._data
    if not t._requires_grad:
        raise RuntimeError(
            f"element {i} of tensors does not require grad and does not have a grad_fn"
        )
    if g is None:
        if data.size != 1:
            raise RuntimeError("grad can be implicitly created only for scalar outputs")
        return np.ones_like(data)
    if type(g) is not np.ndarray or g.dtype != data.dtype:
        g = np.asarray(g._data if isinstance(g, function.tensor_class) else g, dtype=data.dtype)
    if g.shape != data.shape:
        from .tensor import Size

        raise RuntimeError(
            f"Mismatch in shape: grad_output[{i}] has a shape of {Size(g.shape)} and "
            f"output[{i}] has a shape of {t.shape}."
        )
    return g
