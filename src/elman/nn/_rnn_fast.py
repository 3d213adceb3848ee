"""The fast lane of ``RNN.forward``: the same kernels with as little Python around them.

For tiny shapes the compiled kernels take a few microseconds and everything around them
(argument checks, packing the weights, the generic ``Function.apply``, gradient copies)
took several times that. This lane does the same work with less Python:

* the checks of :meth:`RNN.check_input` run once per call signature (input shape and
  dtype, hx shape and dtype, batch_first), and the result of the variant choice with them;
* the weights are not packed: :class:`~elman.nn.RNN` keeps its parameters as views of one
  flat buffer in torch's order, which is the fused kernels' layout (the lane checks that
  the parameters are still those views; if not, the general path runs);
* the graph node is built directly, and its backward returns the parameter gradients as
  views of one fresh flat buffer that the engine may keep without copying.

It serves dense input (time-major, batch-first or unbatched) and packed rows (through
``forward_packed``) without active dropout when the compiled kernels are on, whichever
variant the dispatcher picks; anything else (dropout in training, a given hx with unsorted
packed sequences, ``ELMAN_DISABLE_JIT=1``) returns ``None`` and the general path runs.
Same kernels, same numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from .. import _kernels
from ..autograd import Tensor, is_grad_enabled
from ..autograd.function import Context, Function, Node

if TYPE_CHECKING:
    from .rnn import RNN

__all__ = ["fast_forward", "fast_forward_packed", "FusedRNNFunction"]

if _kernels.JIT:
    from .._kernels.dispatch import choose
    from .._kernels.rnn_numba import fused_backward_flat, fused_forward_flat

_MAX_PLANS = 64  # call signatures remembered per module
_C = np.ascontiguousarray


class _Plan(NamedTuple):
    batch_first: bool  # (N, L, I) input
    unbatched: bool  # (L, I) input
    L: int
    N: int
    sizes: np.ndarray | None  # batch_sizes of the dense layout: L times N (packed: None)
    zeros: np.ndarray  # the default h0 (never written: the kernels only read h0)
    fused: bool  # the forward runs fused (else the layered stack forward)
    fused_backward: bool  # the backward runs fused too (else the layered stack backward)
    num_layers: int
    has_bias: bool
    relu: bool
    out_shape: tuple[int, ...]  # (L, N, D*H) before batch_first's swap
    hn_shape: tuple[int, ...]  # as the caller sees h_n


def _plan(rnn: RNN, input: Tensor, hx: Tensor | None) -> _Plan | None:
    """Check the call as the general path would (raising its errors) and plan it, or
    ``None`` when the fast lane does not serve it."""
    rnn.check_input(input, hx)
    unbatched = input.ndim == 2
    batch_first = rnn.batch_first and not unbatched
    if unbatched:
        L, N = input.shape[0], 1
    else:
        L, N = (input.shape[1], input.shape[0]) if batch_first else input.shape[:2]
    D = 2 if rnn.bidirectional else 1
    H, NL = rnn.hidden_size, rnn.num_layers
    variant = choose(L * N, N, rnn.input_size, H, NL, D)
    if N == 0 or H == 0:
        return None
    zeros = np.zeros((NL * D, N, H), dtype=input.dtype)
    sizes = np.full(L, N, dtype=np.int64)
    hn_shape = (NL * D, H) if unbatched else (NL * D, N, H)
    return _Plan(
        batch_first,
        unbatched,
        L,
        N,
        sizes,
        zeros,
        variant.fused,
        variant.fused_backward,
        NL,
        rnn.bias,
        rnn.nonlinearity == "relu",
        (L, N, D * H),
        hn_shape,
    )


def fast_forward(rnn: RNN, input: Tensor, hx: Tensor | None) -> tuple[Tensor, Tensor] | None:
    """``rnn(input, hx)`` through the fast lane, or ``None`` when it does not apply."""
    if not _kernels.JIT or (rnn.dropout and rnn.training and rnn.num_layers > 1):
        return None
    x = input._data
    key = (
        x.shape,
        x.dtype,
        hx if hx is None else (hx._data.shape, hx._data.dtype),
        rnn.batch_first,
    )
    plan = rnn._fast_plans.get(key, False)
    if plan is False:
        plan = _new_plan(rnn, key, lambda: _plan(rnn, input, hx))
    if plan is None:
        return None
    wbuf = rnn._flat_buffer()
    if wbuf is None or wbuf.dtype != x.dtype:
        return None
    L, N = plan.L, plan.N
    rows = _C((x.swapaxes(0, 1) if plan.batch_first else x).reshape(L * N, x.shape[-1]))
    if hx is None:
        h0 = plan.zeros
    else:
        h0 = _C(hx._data[:, None] if plan.unbatched else hx._data)
    return _lane(rnn, wbuf, input, hx, rows, plan.sizes, h0, plan)


def fast_forward_packed(
    rnn: RNN, data: Tensor, batch_sizes: np.ndarray, hx: Tensor | None
) -> tuple[Tensor, Tensor] | None:
    """The lane for packed rows ``data`` (T, I), already checked, and hx (NL*D, N, H) in
    the packed (sorted) order: (T, D*H) rows and h_n in the packed order, or ``None``."""
    if not _kernels.JIT or (rnn.dropout and rnn.training and rnn.num_layers > 1):
        return None
    x = data._data
    N = int(batch_sizes[0])
    key = ("packed", x.shape, N, x.dtype, hx if hx is None else hx._data.dtype)
    plan = rnn._fast_plans.get(key, False)
    if plan is False:
        plan = _new_plan(rnn, key, lambda: _packed_plan(rnn, x, N))
    if plan is None:
        return None
    wbuf = rnn._flat_buffer()
    if wbuf is None or wbuf.dtype != x.dtype:
        return None
    h0 = plan.zeros if hx is None else _C(hx._data)
    sizes = _C(batch_sizes, dtype=np.int64)
    return _lane(rnn, wbuf, data, hx, _C(x), sizes, h0, plan)


def _packed_plan(rnn: RNN, x: np.ndarray, N: int) -> _Plan | None:
    D = 2 if rnn.bidirectional else 1
    H, NL, T = rnn.hidden_size, rnn.num_layers, x.shape[0]
    if N == 0 or H == 0:
        return None
    variant = choose(T, N, rnn.input_size, H, NL, D)
    zeros = np.zeros((NL * D, N, H), dtype=x.dtype)
    return _Plan(
        False, False, 0, N, None, zeros, variant.fused, variant.fused_backward, NL, rnn.bias,
        rnn.nonlinearity == "relu", (T, D * H), (NL * D, N, H),
    )  # fmt: skip


def _lane(
    rnn: RNN,
    wbuf: np.ndarray,
    input: Tensor,
    hx: Tensor | None,
    rows: np.ndarray,
    sizes: np.ndarray,
    h0: np.ndarray,
    plan: _Plan,
) -> tuple[Tensor, Tensor]:
    """Run the kernels on (T, I) ``rows`` and record the graph node."""
    x = input._data
    if plan.fused:
        outs, hn = fused_forward_flat(
            rows, sizes, h0, wbuf, plan.num_layers, plan.has_bias, plan.relu
        )
    else:
        outs, hn = _kernels.stack_forward(
            rows, sizes, h0, rnn._flat[5], plan.num_layers, plan.relu, None
        )
    last = outs[-1].reshape(plan.out_shape)
    if plan.unbatched:
        last = last[:, 0]
    elif plan.batch_first:
        last = last.swapaxes(0, 1)
    wrap = Tensor._wrap
    out, h_n = wrap(last), wrap(hn.reshape(plan.hn_shape))
    if not is_grad_enabled():
        return out, h_n
    params = rnn._flat[1]
    needs = (
        input._requires_grad,
        hx is not None and hx._requires_grad,
        *[p._requires_grad for p in params],
    )
    if True not in needs:
        return out, h_n
    ctx = Context(needs)
    ctx.saved_tensors = (rows, h0, wbuf, outs)
    ctx.meta = (plan, x.shape, rnn._flat[3], rnn._flat[5], sizes)
    ctx.grads_owned = True
    edges: list[Any] = [_edge(input) if needs[0] else None, _edge(hx) if needs[1] else None]
    edges += [p if p._requires_grad else None for p in params]
    node = Node(FusedRNNFunction, ctx, edges, [(last.shape, x.dtype), (plan.hn_shape, x.dtype)])
    out._grad_fn = h_n._grad_fn = node
    h_n._out_index = 1
    out._requires_grad = h_n._requires_grad = True
    return out, h_n


def _new_plan(rnn: RNN, key: Any, make: Callable[[], _Plan | None]) -> _Plan | None:
    plans = rnn._fast_plans
    plan = make()  # raises for bad input, as the general path
    if len(plans) >= _MAX_PLANS:
        plans.clear()
    plans[key] = plan
    return plan


def _edge(t: Tensor) -> Any:
    return t if t._grad_fn is None else (t._grad_fn, t._out_index)


class FusedRNNFunction(Function):
    """The graph node of a fast-lane call (built by :func:`fast_forward`, not ``apply``)."""

    @staticmethod
    def backward(ctx: Context, g_out: np.ndarray, g_hn: np.ndarray) -> tuple[Any, ...]:
        plan, x_shape, shapes, groups, sizes = ctx.meta
        nl, has_bias, relu = plan.num_layers, plan.has_bias, plan.relu
        rows, h0, wbuf, outs = ctx.saved_tensors
        if plan.batch_first:
            g_rows = _C(g_out.swapaxes(0, 1)).reshape(rows.shape[0], -1)
        else:
            g_rows = _C(g_out).reshape(rows.shape[0], -1)
        g_h = _C(g_hn[:, None] if plan.unbatched else g_hn)
        if plan.fused_backward:
            dx, dh0, gbuf, _ = fused_backward_flat(
                rows, sizes, h0, wbuf, nl, has_bias, relu, outs, g_rows, g_h
            )
            grads, p = [], 0
            for shape, n in shapes:
                grads.append(gbuf[p : p + n].reshape(shape))
                p += n
        else:  # long sequences, larger problems: the layered backward (GEMMs over all steps)
            dx, dh0, per_k = _kernels.stack_backward(
                rows, sizes, h0, groups, nl, relu, None, list(outs), g_rows, g_h
            )
            grads = []
            for dw_ih, dw_hh, db in per_k:  # fresh arrays, none shared (owned by the engine)
                grads += [dw_ih, dw_hh] + ([db, db.copy()] if has_bias else [])
        if plan.batch_first:
            dx = dx.reshape(plan.L, plan.N, -1).swapaxes(0, 1)
        elif not plan.unbatched:
            dx = dx.reshape(x_shape)
        return (dx, dh0[:, 0] if plan.unbatched else dh0, *grads)
