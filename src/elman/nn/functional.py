"""Functional forms and the autograd Functions behind the recurrent layers.

A whole layer and direction is ONE graph node (:class:`RNNLayerFunction`), never one node
per time step; its backward is the hand-derived BPTT of :mod:`elman._kernels`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _kernels
from ..autograd import Tensor, cat, is_grad_enabled, stack
from ..autograd.function import Context, Function

__all__ = ["linear", "dropout", "tanh", "relu", "rnn", "rnn_cell"]


def _save(ctx: Context, *arrays: Any) -> None:
    # under no_grad (or when nothing needs grad) nothing is kept beyond the outputs
    if is_grad_enabled() and any(ctx.needs_input_grad):
        ctx.save_for_backward(*arrays)


class LinearFunction(Function):
    @staticmethod
    def forward(ctx: Context, x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
        _save(ctx, x, w)
        y = np.matmul(x, w.T)
        if b is not None:
            y += b
        return y

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, Any, Any]:
        x, w = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        g2 = g.reshape(-1, g.shape[-1])
        dx = np.matmul(g, w) if need_x else None
        dw = np.matmul(g2.T, x.reshape(-1, x.shape[-1])) if need_w else None
        db = g2.sum(axis=0) if need_b else None
        return dx, dw, db


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias`` as one graph node."""
    if input.shape[-1:] != weight.shape[-1:]:
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied "
            f"({int(np.prod(input.shape[:-1]))}x{input.shape[-1]} and "
            f"{weight.shape[1]}x{weight.shape[0]})"
        )
    return LinearFunction.apply(input, weight, bias)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, generator: Any = None) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1/(1-p)``."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0:
        return input
    from ..random import default_generator

    gen = default_generator if generator is None else generator
    if p == 1:
        return input * np.zeros(input.shape, dtype=input.dtype)
    keep = gen.bernoulli(input.shape, 1 - p, dtype=input.dtype)
    return input * (keep / np.asarray(1 - p, dtype=input.dtype))


def tanh(input: Tensor) -> Tensor:
    return input.tanh()


def relu(input: Tensor) -> Tensor:
    return input.relu()


class RNNLayerFunction(Function):
    """One layer and direction over packed data: outputs (T, H) and h_n (N, H).

    Dense (L, N, I) input is the special case ``batch_sizes = [N] * L`` reshaped to
    (L * N, I), so one Function (and one kernel) serves dense and variable-length batches.
    """

    @staticmethod
    def forward(
        ctx: Context,
        x: np.ndarray,
        h0: np.ndarray,
        w_ih: np.ndarray,
        w_hh: np.ndarray,
        b_ih: np.ndarray | None,
        b_hh: np.ndarray | None,
        *,
        batch_sizes: np.ndarray,
        reverse: bool,
        relu: bool,
    ) -> tuple[np.ndarray, np.ndarray]:
        out, hn = _kernels.packed_layer_forward(
            x, batch_sizes, h0, w_ih, w_hh, b_ih, b_hh, reverse, relu
        )
        ctx.batch_sizes, ctx.reverse, ctx.relu = batch_sizes, reverse, relu
        _save(ctx, x, h0, w_ih, w_hh, out)
        return out, hn

    @staticmethod
    def backward(ctx: Context, g_out: np.ndarray, g_hn: np.ndarray) -> tuple[Any, ...]:
        x, h0, w_ih, w_hh, out = ctx.saved_tensors
        dx, dh0, dw_ih, dw_hh, db = _kernels.packed_layer_backward(
            x, ctx.batch_sizes, h0, w_ih, w_hh, out, g_out, g_hn, ctx.reverse, ctx.relu
        )
        return dx, dh0, dw_ih, dw_hh, db, db


class RNNCellFunction(Function):
    @staticmethod
    def forward(
        ctx: Context,
        x: np.ndarray,
        h: np.ndarray,
        w_ih: np.ndarray,
        w_hh: np.ndarray,
        b_ih: np.ndarray | None,
        b_hh: np.ndarray | None,
        *,
        relu: bool,
    ) -> np.ndarray:
        h_new = _kernels.cell_forward(x, h, w_ih, w_hh, b_ih, b_hh, relu)
        ctx.relu = relu
        _save(ctx, x, h, w_ih, w_hh, h_new)
        return h_new

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, ...]:
        x, h, w_ih, w_hh, h_new = ctx.saved_tensors
        dx, dh, dw_ih, dw_hh, db = _kernels.cell_backward(x, h, w_ih, w_hh, h_new, g, ctx.relu)
        return dx, dh, dw_ih, dw_hh, db, db


def rnn_cell(
    input: Tensor,
    hx: Tensor,
    weights: Sequence[Tensor | None],
    nonlinearity: str = "tanh",
) -> Tensor:
    """One step for (N, I) input and (N, H) state; ``weights`` = (w_ih, w_hh, b_ih, b_hh)."""
    w_ih, w_hh, b_ih, b_hh = weights
    return RNNCellFunction.apply(input, hx, w_ih, w_hh, b_ih, b_hh, relu=nonlinearity == "relu")


def rnn(
    data: Tensor,
    batch_sizes: np.ndarray,
    hx: Tensor,
    weights: Sequence[Sequence[Tensor | None]],
    *,
    num_layers: int,
    bidirectional: bool,
    nonlinearity: str,
    dropout_p: float,
    training: bool,
) -> tuple[Tensor, Tensor]:
    """Multi-layer Elman RNN on packed time-major data.

    Args:
        data: (T, I) rows of every step, step after step (a dense (L, N, I) batch reshaped
            to (L * N, I) with ``batch_sizes = [N] * L``);
        batch_sizes: (L,) int64, non-increasing, the active batch at each step;
        hx: (num_layers * D, N, H) with N = batch_sizes[0];
        weights: per (layer, direction), in torch's order, ``(w_ih, w_hh, b_ih, b_hh)``
            with None biases when the model has none.

    Returns:
        output (T, D*H) of the last layer and h_n (num_layers * D, N, H); h_n index is
        ``layer * D + direction``, each sequence's state after its own last step, before
        dropout.
    """
    D = 2 if bidirectional else 1
    relu = nonlinearity == "relu"
    layer_input = data
    finals = []
    for layer in range(num_layers):
        outs = []
        for d in range(D):
            w_ih, w_hh, b_ih, b_hh = weights[layer * D + d]
            out, hn = RNNLayerFunction.apply(
                layer_input,
                hx[layer * D + d],
                w_ih,
                w_hh,
                b_ih,
                b_hh,
                batch_sizes=batch_sizes,
                reverse=d == 1,
                relu=relu,
            )
            outs.append(out)
            finals.append(hn)
        layer_input = outs[0] if D == 1 else cat(outs, dim=-1)
        if dropout_p > 0 and training and layer < num_layers - 1:
            layer_input = dropout(layer_input, dropout_p, True)
    return layer_input, stack(finals, dim=0)
