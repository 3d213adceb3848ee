"""Functional forms and the autograd Functions behind the layers.

The recurrent stack is ONE graph node (:mod:`elman.nn._rnn_function`), never one node per
time step; its backward is the hand-derived BPTT of :mod:`elman._kernels`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _kernels
from ..autograd import Tensor, is_grad_enabled
from ..autograd._matmul import matmul_arrays
from ..autograd.function import Context, Function
from ._rnn_function import rnn
from .functional_activation import log_softmax, softmax
from .functional_ce import cross_entropy
from .functional_embedding import embedding
from .functional_loss import l1_loss, mse_loss
from .functional_nll import binary_cross_entropy_with_logits, nll_loss, one_hot

__all__ = [
    "linear",
    "dropout",
    "tanh",
    "relu",
    "rnn",
    "rnn_cell",
    "log_softmax",
    "softmax",
    "embedding",
    "mse_loss",
    "l1_loss",
    "cross_entropy",
    "nll_loss",
    "binary_cross_entropy_with_logits",
    "one_hot",
    "sigmoid",
]


def _save(ctx: Context, *arrays: Any) -> None:
    # under no_grad (or when nothing needs grad) nothing is kept beyond the outputs
    if is_grad_enabled() and any(ctx.needs_input_grad):
        ctx.save_for_backward(*arrays)


class LinearFunction(Function):
    backward_name = "AddmmBackward0"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
        _save(ctx, x, w)
        with _kernels.quiet_blas(x.size * w.shape[0]):
            y = matmul_arrays(x, w.T)
        if b is not None:
            y += b
        return y

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, Any, Any]:
        x, w = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        g2 = g.reshape(-1, g.shape[-1])
        with _kernels.quiet_blas(g.size * w.shape[1]):
            dx = matmul_arrays(g, w) if need_x else None
            dw = matmul_arrays(g2.T, x.reshape(-1, x.shape[-1])) if need_w else None
        db = g2.sum(axis=0) if need_b else None
        return dx, dw, db


class LinearNoBias(LinearFunction):
    backward_name = "MmBackward0"


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias`` as one graph node."""
    if input.shape[-1:] != weight.shape[-1:]:
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied "
            f"({int(np.prod(input.shape[:-1]))}x{input.shape[-1]} and "
            f"{weight.shape[1]}x{weight.shape[0]})"
        )
    return (LinearFunction if bias is not None else LinearNoBias).apply(input, weight, bias)


def dropout(
    input: Tensor,
    p: float = 0.5,
    training: bool = True,
    inplace: bool = False,
    *,
    generator: Any = None,
) -> Tensor:
    r"""Zero each element with probability ``p`` and scale the rest by :math:`1/(1-p)`.

    In training mode the mask is ``bernoulli(1 - p)`` drawn from ``generator`` (default: the
    global generator), the same stream torch's CPU dropout draws, so the same seed gives the
    same mask. With ``training=False``, ``p = 0`` or an empty input, returns ``input``.

    Args:
        input: a tensor of any shape.
        p: the probability of zeroing an element, in [0, 1]. Default 0.5.
        training: apply dropout (else the identity). Default True.
        inplace: overwrite ``input`` and return it. Where the autograd graph must record the
            op (``input`` requires grad), a new tensor is returned instead (same values and
            gradients); a leaf that requires grad is refused, as in torch.
        generator: the random generator (keyword only).

    Example:
        >>> import elman
        >>> import elman.nn.functional as F
        >>> _ = elman.manual_seed(0)
        >>> F.dropout(elman.ones(6), p=0.5)
        tensor([0., 0., 2., 0., 0., 0.])
    """
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0 or input.numel() == 0:
        return input
    if p == 1:
        noise = np.zeros((), dtype=input.dtype)
    else:
        from ..random import default_generator

        gen = default_generator if generator is None else generator
        keep = gen.bernoulli(input.shape, 1 - p, dtype=input.dtype)
        noise = keep / np.asarray(1 - p, dtype=input.dtype)
    if inplace:
        return input.__imul__(noise)  # in place, unless the graph must record it
    return input * noise


def tanh(input: Tensor) -> Tensor:
    return input.tanh()


def sigmoid(input: Tensor) -> Tensor:
    return input.sigmoid()


def relu(input: Tensor) -> Tensor:
    return input.relu()


class RNNCellFunction(Function):
    backward_name = "TanhBackward0"  # torch's cell ends in its activation; relu: below

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


class ReluCellFunction(RNNCellFunction):
    backward_name = "ReluBackward0"  # torch's cell ends in its activation


def rnn_cell(
    input: Tensor,
    hx: Tensor,
    weights: Sequence[Tensor | None],
    nonlinearity: str = "tanh",
) -> Tensor:
    """One step for (N, I) input and (N, H) state; ``weights`` = (w_ih, w_hh, b_ih, b_hh)."""
    w_ih, w_hh, b_ih, b_hh = weights
    relu = nonlinearity == "relu"
    fn = ReluCellFunction if relu else RNNCellFunction
    return fn.apply(input, hx, w_ih, w_hh, b_ih, b_hh, relu=relu)
