"""The fast lane of ``RNN.forward``: the same kernels with as little Python around them.

For tiny shapes the compiled kernels take a few microseconds and everything around them
(argument checks, packing the weights, the generic ``Function.apply``, gradient copies)
took several times that. This lane does the same work with less Python:

* the checks of :meth:`RNN.check_input` run once per call signature (input shape and
  dtype, hx shape and dtype, batch_first, the kernel threads allowed), and the call's one
  decision of a variant (:func:`elman._kernels.dispatch.choose`) with them: the plan
  carries it to the kernels, forward and backward;
* the weights are not packed: :class:`~elman.nn.RNN` keeps its parameters as views of one
  flat buffer in torch's order, which is the fused kernels' layout (the lane checks that
  the parameters are still those views; if not, the general path runs);
* the graph node is recorded by ``record_node``, as ``Function.apply`` records its nodes
  (apply itself would wrap and check the inputs again), with edges that know the
  parameters are leaves; its backward returns the parameter gradients as views of one
  fresh flat buffer that the engine may keep as is.

It serves dense input (time-major, batch-first or unbatched) and packed rows (through
``forward_packed``), with dropout between layers in training too (the masks drawn as the
general path draws them), when the compiled kernels are on, whichever variant the
dispatcher picks; anything else (a replaced parameter, ``ELMAN_DISABLE_JIT=1``) returns
``None`` and the general path runs. Same kernels, same numbers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from operator import attrgetter
from sys import getrefcount
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from .. import _kernels
from .._kernels import scratch
from .._kernels.flat import split_flat
from ..autograd import Tensor, is_grad_enabled
from ..autograd.anomaly_mode import ANOMALY
from ..autograd.anomaly_mode import record as record_anomaly
from ..autograd.function import Context, Function, record_node
from ._rnn_function import dropout_masks, flat_grads, rnn_node_name

if TYPE_CHECKING:
    from .rnn import RNN

__all__ = ["fast_forward", "fast_forward_packed", "FusedRNNFunction"]

if _kernels.JIT:
    from .._kernels.dispatch import Variant, choose
    from .._kernels.fused_stack import fused_backward_flat, fused_forward_flat
    from .._kernels.threads import kernel_threads

_MAX_PLANS = 64  # call signatures remembered per module
_NODE_NAMES = (rnn_node_name(False), rnn_node_name(True))  # by relu: no call per node
_C = np.ascontiguousarray
_REQUIRES_GRAD = attrgetter("_requires_grad")


class _Plan(NamedTuple):
    batch_first: bool  # (N, L, I) input
    unbatched: bool  # (L, I) input
    L: int  # steps of a dense input (packed: 0)
    N: int
    sizes: np.ndarray | None  # batch_sizes of the dense layout: L times N (packed: None)
    zeros: np.ndarray  # the default h0 (never written: the kernels only read h0)
    variant: Variant  # the dispatcher's decision for this call signature
    fused: bool  # variant.fused: the forward runs fused on the flat weights
    fused_backward: bool  # variant.fused_backward: the backward too
    num_layers: int
    has_bias: bool
    relu: bool
    out_shape: tuple[int, ...]  # dense: (L, N, D*H) before batch_first's swap; packed (T, D*H)
    hn_shape: tuple[int, ...]  # as the caller sees h_n


def _make_plan(
    rnn: RNN, T: int, N: int, dtype: Any, out_shape: tuple[int, ...], **layout: Any
) -> _Plan | None:
    """The plan for T rows of a batch of N, or None when the lane does not serve it."""
    D = rnn.num_directions
    H, NL = rnn.hidden_size, rnn.num_layers
    if N == 0 or H == 0:
        return None
    variant = choose(T, N, rnn.input_size, H, NL, D)  # the one decision (per signature)
    unbatched = layout.get("unbatched", False)
    return _Plan(
        batch_first=layout.get("batch_first", False),
        unbatched=unbatched,
        L=layout.get("L", 0),
        N=N,
        sizes=layout.get("sizes"),
        zeros=np.zeros((NL * D, N, H), dtype=dtype),
        variant=variant,
        fused=variant.fused,
        fused_backward=variant.fused_backward,
        num_layers=NL,
        has_bias=rnn.bias,
        relu=rnn.nonlinearity == "relu",
        out_shape=(*out_shape, D * H),
        hn_shape=(NL * D, H) if unbatched else (NL * D, N, H),
    )


def _dense_plan(rnn: RNN, input: Tensor, hx: Tensor | None) -> _Plan | None:
    """Check the call as the general path would (raising its errors), then plan it."""
    rnn.check_input(input, hx)
    unbatched = input.ndim == 2
    batch_first = rnn.batch_first and not unbatched
    if unbatched:
        L, N = input.shape[0], 1
    else:
        L, N = (input.shape[1], input.shape[0]) if batch_first else input.shape[:2]
    sizes = np.full(L, N, dtype=np.int64)
    return _make_plan(
        rnn, L * N, N, input.dtype, (L, N),
        batch_first=batch_first, unbatched=unbatched, L=L, sizes=sizes,
    )  # fmt: skip


def _plan_for(rnn: RNN, key: Any, make: Callable[..., _Plan | None], *args: Any) -> _Plan | None:
    """The plan for this call signature: made (``make(*args)``, which raises for bad input
    as the general path does) and remembered on first sight; None: the lane does not apply."""
    plan = rnn._fast_plans.get(key, False)
    if plan is False:
        plan = _remember(rnn, key, make(*args))
    return plan


def _remember(rnn: RNN, key: Any, plan: _Plan | None) -> _Plan | None:
    plans = rnn._fast_plans
    if len(plans) >= _MAX_PLANS:
        plans.clear()
    plans[key] = plan
    return plan


def fast_forward(rnn: RNN, input: Tensor, hx: Tensor | None) -> tuple[Tensor, Tensor] | None:
    """``rnn(input, hx)`` through the fast lane, or ``None`` when it does not apply."""
    if not _kernels.JIT:
        return None
    x = input._data
    hx_key = hx if hx is None else (hx._data.shape, hx._data.dtype)
    key = (x.shape, x.dtype, hx_key, rnn.batch_first, kernel_threads())
    plan = _plan_for(rnn, key, _dense_plan, rnn, input, hx)
    wbuf = rnn._flat_buffer()
    if plan is None or wbuf is None:
        return None
    # (L, N, I) time-major, a view: the kernels make rows of it (a copy for batch-first)
    # only when the forward keeps a graph; else they re-lay it out a block at a time
    steps = x.swapaxes(0, 1) if plan.batch_first else (x[:, None] if plan.unbatched else x)
    if hx is None:
        h0 = plan.zeros
    else:
        h0 = _C(hx._data[:, None] if plan.unbatched else hx._data)
    return _lane(rnn, wbuf, input, hx, steps, plan.sizes, h0, plan)


def fast_forward_packed(
    rnn: RNN,
    data: Tensor,
    batch_sizes: np.ndarray,
    hx: Tensor | None,
    check: Callable[[], None] | None = None,
) -> tuple[Tensor, Tensor] | None:
    """The lane for packed rows ``data`` (T, I) and hx (NL*D, N, H) in the packed (sorted)
    order: (T, D*H) rows and h_n in the packed order, or ``None``. ``check``: the input's
    checks, run (raising) when the call signature is new, before its plan is made; None:
    the caller has run them."""
    if not _kernels.JIT:
        return None
    x = data._data
    N = int(batch_sizes[0])
    key = ("packed", x.shape, N, x.dtype, hx if hx is None else hx._data.dtype, kernel_threads())
    plan = _plan_for(rnn, key, _packed_plan, check, rnn, x.shape[0], N, x.dtype, x.shape[:1])
    wbuf = rnn._flat_buffer()
    if plan is None or wbuf is None:
        return None
    h0 = plan.zeros if hx is None else _C(hx._data)
    return _lane(rnn, wbuf, data, hx, _C(x), _C(batch_sizes, dtype=np.int64), h0, plan)


def _packed_plan(check: Callable[[], None] | None, rnn: RNN, *args: Any) -> _Plan | None:
    if check is not None:
        check()
    return _make_plan(rnn, *args)


def _lane(
    rnn: RNN,
    wbuf: np.ndarray,
    input: Tensor,
    hx: Tensor | None,
    x_in: np.ndarray,
    sizes: np.ndarray,
    h0: np.ndarray,
    plan: _Plan,
) -> tuple[Tensor, Tensor]:
    """Run the kernels on ``x_in``, (T, I) packed rows or an (L, N, I) time-major view of
    the input, and record the graph node."""
    x = input._data
    flat = rnn._flat
    params = flat.params
    nl = plan.num_layers
    needs = None
    every = False  # every parameter needs a gradient (the usual training step)
    if is_grad_enabled():
        head = (input._requires_grad, hx is not None and hx._requires_grad)
        every = all(map(_REQUIRES_GRAD, params))  # (C loops: ~25 parameters at 3 bi layers)
        needs = head + ((True,) * len(params) if every else tuple(map(_REQUIRES_GRAD, params)))
    # no node to record: nothing is saved, and the stack runs in one (T, D*H) buffer
    keep = every or (needs is not None and True in needs)
    rows = _C(x_in.reshape(-1, x_in.shape[-1])) if keep else x_in  # (T, I) or the view
    T = x_in.shape[0] if x_in.ndim == 2 else x_in.shape[0] * x_in.shape[1]
    masks = None  # dropout between layers in training, drawn as the general path draws it
    if rnn.dropout and rnn.training and nl > 1:
        masks = dropout_masks(nl - 1, (T, plan.out_shape[-1]), rnn.dropout, x.dtype)
    if plan.fused:
        outs, hn = fused_forward_flat(
            rows, sizes, h0, wbuf, nl, plan.has_bias, plan.relu, masks, keep, plan.variant
        )
    else:
        outs, hn = _kernels.stack_forward(
            rows, sizes, h0, flat.groups, nl, plan.relu, masks, keep, plan.variant
        )
    last = outs[-1].reshape(plan.out_shape)
    if plan.unbatched:
        last = last[:, 0]
    elif plan.batch_first:
        last = last.swapaxes(0, 1)
    wrap = Tensor._wrap
    out, h_n = wrap(last), wrap(hn.reshape(plan.hn_shape) if plan.unbatched else hn)
    if not keep:
        return out, h_n
    ctx = Context(needs)
    ctx.saved_tensors = (rows, h0, wbuf, outs, masks)
    ctx.meta = (plan, x.shape, flat, sizes)
    ctx.grads_owned = True
    # each gradient an ndarray of its input's shape and dtype (the engine skips its checks):
    # dx and dh0 in the input's and hx's layout, the parameters' as views of one flat buffer
    # (fused) or the products' (layered), of the parameters' dtype, the input's
    ctx.grads_exact = True
    ctx.materialize_grads = False  # a missing g_hn is the plan's zeros, not a fresh array
    # the edges, cheaper than apply's generic ones: the parameters are leaves (no grad_fn
    # to read), usually all of them need a gradient (no per-parameter test)
    edges = [
        (input if input._grad_fn is None else (input._grad_fn, input._out_index))
        if needs[0]
        else None,
        (hx if hx._grad_fn is None else (hx._grad_fn, hx._out_index)) if needs[1] else None,
        *(params if every else [p if p._requires_grad else None for p in params]),
    ]
    node = record_node(FusedRNNFunction, ctx, edges, (out, h_n), _NODE_NAMES[plan.relu])
    if ANOMALY.enabled:
        args = [input, hx, *params]
        arrays = [x, None if hx is None else hx._data, *[p._data for p in params]]
        record_anomaly(node, args, arrays, [out._data, h_n._data])
    return out, h_n


def _time_major(g: np.ndarray) -> np.ndarray:
    """``g`` C-contiguous: itself when it is (the usual layouts reach the node that way:
    a slice's gradient in its source's layout, a Linear head's dX in the RNN's), else a
    copy into a reused buffer (a fresh multi-megabyte array faults its pages in)."""
    if g.flags.c_contiguous:
        return g
    buf = scratch.empty(g.shape, g.dtype)
    np.copyto(buf, g)
    return buf


def _grad_views(pool: list[Any], wbuf: np.ndarray, spans: Any) -> tuple[np.ndarray, list[Any]]:
    """A flat gradient buffer like ``wbuf`` and its views, one per parameter (disjoint): the
    previous backward's, kept in ``pool``, when nothing references them any more (no
    ``.grad`` Tensor, no view or array of theirs: their reference counts are back to the
    pool's), else new ones, kept for the next backward. A training step sets ``.grad`` to
    None before the next one, so the same views come back, and the ~0.2 us a parameter of
    making and freeing views (24 at three bidirectional layers) is saved; a gradient still
    held is never written. Under a lock: two threads' backwards never share one."""
    with _GRAD_VIEWS_LOCK:
        if pool:
            gbuf, views = pool
            # references: the pool, ``gbuf``, every view's base, the call's argument; each
            # view: the list, ``v``, the argument (and a copied pool's are not views)
            free = getrefcount(gbuf) == len(views) + 3 and views[0].base is gbuf
            if free and all(getrefcount(v) == 3 for v in views):
                return gbuf, views
        gbuf = np.empty_like(wbuf)
        views = split_flat(gbuf, spans)  # fresh views, disjoint
        pool[:] = (gbuf, views)
        return gbuf, views


_GRAD_VIEWS_LOCK = threading.Lock()


class FusedRNNFunction(Function):
    """The graph node of a fast-lane call (recorded by :func:`_lane`, not ``apply``)."""

    @staticmethod
    def backward(ctx: Context, g_out: Any, g_hn: Any) -> tuple[Any, ...]:  # arrays or None
        plan, x_shape, flat, sizes = ctx.meta
        nl, has_bias, relu = plan.num_layers, plan.has_bias, plan.relu
        rows, h0, wbuf, outs, masks = ctx.saved_tensors
        if g_out is None:  # only h_n reached (set_materialize_grads(False) in _lane)
            g_rows = np.zeros(outs[-1].shape, dtype=rows.dtype)
        else:
            g = g_out.swapaxes(0, 1) if plan.batch_first else g_out
            g_rows = _time_major(g).reshape(rows.shape[0], -1)
        if g_hn is None:
            g_h = plan.zeros  # (NL*D, N, H), read only
        else:
            g_h = _C(g_hn[:, None] if plan.unbatched else g_hn)
        if plan.fused_backward:
            gbuf, grads = _grad_views(flat.grads, wbuf, flat.spans)
            dx, dh0, _, _ = fused_backward_flat(
                rows, sizes, h0, wbuf, nl, has_bias, relu, outs, g_rows, g_h, masks, plan.variant,
                gbuf,
            )  # fmt: skip
        else:  # long sequences, larger problems: the layered backward (GEMMs over all steps)
            dx, dh0, per_k = _kernels.stack_backward(
                rows,
                sizes,
                h0,
                flat.groups,
                nl,
                relu,
                masks,
                list(outs),
                g_rows,
                g_h,
                plan.variant,
                ctx.needs_input_grad[0],  # an input without gradient: no dX product
                ctx.needs_input_grad[1],  # no hx, or one without gradient: no dh0 product
            )
            grads = flat_grads(per_k, has_bias)
        if dx is None:
            pass
        elif plan.batch_first:
            dx = dx.reshape(plan.L, plan.N, -1).swapaxes(0, 1)
        elif not plan.unbatched:
            dx = dx.reshape(x_shape)
        if dh0 is not None and plan.unbatched:
            dh0 = dh0[:, 0]
        return (dx, dh0, *grads)
