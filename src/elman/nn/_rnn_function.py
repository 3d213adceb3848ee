"""The autograd Function behind ``RNN.forward``: the whole stack of layers is ONE graph node.

One node per RNN call (never one per layer step or time step) keeps graphs small for 10^5-step
sequences and keeps Python overhead off the hot path: the forward is one call of
:func:`elman._kernels.stack_forward`, the backward one call of ``stack_backward`` (hand-derived
BPTT per layer and direction, weight gradients as single GEMMs). The input layouts torch
accepts are converted inside the Function, so no reshape or transpose nodes are recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _kernels
from ..autograd import Tensor, is_grad_enabled
from ..autograd.function import Context, Function

__all__ = ["rnn", "RNNFunction", "dropout_masks", "flat_grads", "group_weights"]

# how the caller's input is laid out; the kernels always see packed (T, I) rows
PACKED, TIME_MAJOR, BATCH_FIRST, UNBATCHED = "packed", "time", "batch", "unbatched"


def _to_rows(
    x: np.ndarray, layout: str, steps: bool = False
) -> tuple[np.ndarray, np.ndarray | None]:
    """(T, I) rows in time-major order, and batch_sizes for dense layouts. ``steps``: a
    dense input as an (L, N, I) time-major view instead (no copy of a batch-first input)."""
    if layout == PACKED:
        return x, None
    if layout == UNBATCHED:
        return x, np.ones(x.shape[0], dtype=np.int64)
    if layout == BATCH_FIRST:
        x = x.swapaxes(0, 1)
    L, N, I = x.shape
    return (x if steps else x.reshape(L * N, I)), np.full(L, N, dtype=np.int64)


def _from_rows(rows: np.ndarray, layout: str, shape: tuple[int, ...]) -> np.ndarray:
    """Inverse of :func:`_to_rows` for an array of the caller's ``shape`` (last axis F)."""
    if layout in (PACKED, UNBATCHED):
        return rows
    if layout == BATCH_FIRST:
        N, L = shape[0], shape[1]
        return rows.reshape(L, N, rows.shape[-1]).swapaxes(0, 1)
    return rows.reshape(shape[0], shape[1], rows.shape[-1])


def group_weights(flat: Sequence[Any], has_bias: bool) -> list[tuple[Any, Any, Any, Any]]:
    step = 4 if has_bias else 2
    groups = []
    for i in range(0, len(flat), step):
        w_ih, w_hh = flat[i], flat[i + 1]
        b_ih, b_hh = (flat[i + 2], flat[i + 3]) if has_bias else (None, None)
        groups.append((w_ih, w_hh, b_ih, b_hh))
    return groups


def flat_grads(per_k: Sequence[tuple[Any, Any, Any]], has_bias: bool) -> list[Any]:
    """Per (layer, direction) (dW_ih, dW_hh, db) as gradients in torch's parameter order;
    b_ih and b_hh get the same values in separate arrays (the engine may keep them)."""
    out: list[Any] = []
    for dw_ih, dw_hh, db in per_k:
        out += [dw_ih, dw_hh] + ([db, db.copy()] if has_bias else [])
    return out


def rnn_node_name(relu: bool) -> str:
    """The RNN node's name: torch's ATen op (``rnn_tanh`` / ``rnn_relu``) as a backward
    function name (on CPU torch records the stack as many small nodes instead)."""
    return "RnnReluBackward0" if relu else "RnnTanhBackward0"


class RNNFunction(Function):
    """Forward and BPTT of every layer and direction of an Elman RNN in one node."""

    backward_name = rnn_node_name(False)

    @staticmethod
    def forward(
        ctx: Context,
        x: np.ndarray,
        hx: np.ndarray,
        *flat: np.ndarray,
        layout: str,
        batch_sizes: np.ndarray | None,
        num_layers: int,
        has_bias: bool,
        relu: bool,
        masks: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        # without a graph nothing is saved: the kernels keep the last layer's output only
        # (one (T, D*H) buffer for the stack) and re-lay a batch-first input out in blocks
        keep = is_grad_enabled() and any(ctx.needs_input_grad)
        rows, dense_sizes = _to_rows(x, layout, steps=not keep)
        sizes = batch_sizes if dense_sizes is None else dense_sizes
        h0 = hx[:, None] if layout == UNBATCHED else hx  # (NL*D, N, H)
        weights = group_weights(flat, has_bias)
        variant = _kernels.choose_variant(rows, h0, num_layers)  # the call's one decision
        outs, h_n = _kernels.stack_forward(
            rows, sizes, h0, weights, num_layers, relu, masks, keep=keep, variant=variant
        )
        ctx.meta = (layout, x.shape, sizes, num_layers, has_bias, relu, masks, variant)
        ctx.grads_owned = True  # backward returns fresh arrays, none shared (see below)
        if keep:
            ctx.save_for_backward(rows, h0, weights, outs)
        out = _from_rows(outs[-1], layout, x.shape)
        return out, (h_n[:, 0] if layout == UNBATCHED else h_n)

    @staticmethod
    def backward(ctx: Context, g_out: np.ndarray, g_hn: np.ndarray) -> tuple[Any, ...]:
        layout, x_shape, sizes, num_layers, has_bias, relu, masks, variant = ctx.meta
        rows, h0, weights, outs = ctx.saved_tensors
        g_rows, _ = _to_rows(g_out, layout)
        g_rows = np.ascontiguousarray(g_rows)
        g_h = g_hn[:, None] if layout == UNBATCHED else g_hn
        dx, dh0, grads = _kernels.stack_backward(
            rows, sizes, h0, weights, num_layers, relu, masks, outs, g_rows, g_h, variant
        )
        dx = _from_rows(dx, layout, x_shape)
        return (dx, dh0[:, 0] if layout == UNBATCHED else dh0, *flat_grads(grads, has_bias))


class ReluRNNFunction(RNNFunction):
    backward_name = rnn_node_name(True)


def rnn(
    input: Tensor,
    hx: Tensor,
    flat_weights: Sequence[Tensor],
    *,
    layout: str,
    batch_sizes: np.ndarray | None,
    num_layers: int,
    bidirectional: bool,
    has_bias: bool,
    nonlinearity: str,
    dropout_p: float,
    training: bool,
) -> tuple[Tensor, Tensor]:
    """Multi-layer Elman RNN.

    Args:
        input: packed (T, I) rows (``layout="packed"`` with ``batch_sizes``), (L, N, I)
            (``"time"``), (N, L, I) (``"batch"``) or (L, I) (``"unbatched"``).
        hx: (num_layers * D, N, H), or (num_layers * D, H) unbatched.
        flat_weights: the parameters in torch's order (``RNN._flat_weights``).

    Returns:
        output in the input's layout with D*H features, and h_n (num_layers * D, [N,] H):
        index ``layer * D + direction``, each sequence's state after its own last step,
        before dropout.
    """
    D = 2 if bidirectional else 1
    masks = None
    if dropout_p > 0 and training and num_layers > 1:
        rows = (
            input.shape[0]
            if layout != TIME_MAJOR and layout != BATCH_FIRST
            else (input.shape[0] * input.shape[1])
        )
        masks = dropout_masks(num_layers - 1, (rows, D * hx.shape[-1]), dropout_p, input.dtype)
    fn = ReluRNNFunction if nonlinearity == "relu" else RNNFunction
    return fn.apply(
        input,
        hx,
        *flat_weights,
        layout=layout,
        batch_sizes=batch_sizes,
        num_layers=num_layers,
        has_bias=has_bias,
        relu=nonlinearity == "relu",
        masks=masks,
    )


def dropout_masks(count: int, shape: tuple[int, int], p: float, dtype: np.dtype) -> np.ndarray:
    """(count, *shape) masks scaled by 1/(1-p), drawn in torch's order (layer after layer,
    time-major): one draw of all of them gives the same bits as one draw per layer."""
    from ..random import default_generator

    if p == 1:
        return np.zeros((count, *shape), dtype=dtype)
    one = dtype.type(1) / dtype.type(1 - p)  # what mask / (1 - p) gives for a kept element
    n = count * shape[0] * shape[1]
    return default_generator._bernoulli(n, 1 - p, one).reshape(count, *shape)
