"""Functional forms and the autograd Functions behind the layers.

The recurrent stack is ONE graph node (:mod:`elman.nn._rnn_function`), never one node per
time step; its backward is the hand-derived BPTT of :mod:`elman._kernels`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _kernels
from .._kernels import scratch
from ..autograd import Tensor, is_grad_enabled
from ..autograd._checks import broadcast_shapes, check_flag
from ..autograd._matmul import matmul_arrays
from ..autograd._operands import unbroadcast
from ..autograd.function import Context, Function
from ._checks import as_input, check_probability
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


def _memory_order(x: np.ndarray, out_features: int) -> list[int] | None:
    """The permutation of axes that makes x (*, in) C-contiguous, when a product read in that
    order beats one read as x is: x's leading axes permuted in memory (a batch-first view of
    the RNN's (L, N, H) output) and fewer out- than in-features (a language model's head:
    the copy to C order falls on V columns instead of H). None otherwise."""
    lead = x.ndim - 1
    if lead < 2 or x.flags.c_contiguous or out_features >= x.shape[-1]:
        return None
    perm = sorted(range(lead), key=lambda a: -x.strides[a]) + [lead]  # largest stride first
    return perm if x.transpose(perm).flags.c_contiguous else None


# A Linear of at most this many outputs over a C-contiguous input of 3+ dims keeps NumPy's
# stacked matmul (a BLAS call per leading index): OpenBLAS's one tall product of so few
# columns took 1.4-2.3x the CPU of the stacked calls (8 shapes, (L, N, H) up to
# (200, 64, 128), 4-16 outputs, float32 and float64; thread CPU, 2026-12-08), while from 24
# outputs the one product took 0.4-0.9x (8 of 9 shapes up to 96 outputs).
SKINNY = 16


class LinearFunction(Function):
    backward_name = "AddmmBackward0"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
        _save(ctx, x, w)
        ctx.bias_shape = None if b is None else b.shape
        skinny = _skinny_layout(x, w)
        if skinny is not None:  # few outputs over many rows: one compiled pass
            x3, order = skinny
            y = np.empty((*x.shape[:-1], w.shape[0]), dtype=x.dtype)
            y3 = y.reshape(x3.shape[:2] + (w.shape[0],)) if order is None else y.transpose(order)
            _kernels.skinny_forward(x3, w, b if b is None or b.shape == w.shape[:1] else None, y3)
            if b is not None and b.shape != w.shape[:1]:
                y += b
            return y
        order = _memory_order(x, w.shape[0])
        with _kernels.quiet_blas(x.size * w.shape[0]):
            if order is None:
                if x.ndim > 2 and x.flags.c_contiguous and w.shape[0] > SKINNY:
                    # the leading dims as rows: one product (NumPy's stacked matmul is one
                    # BLAS call per leading index)
                    y = _product(x.reshape(-1, x.shape[-1]), w.T).reshape(*x.shape[:-1], w.shape[0])
                else:
                    y = _product(x, w.T)
                if b is not None:
                    y += b
                return y
            # one product in x's memory order, then the (narrower) result to C order with
            # the bias added on the way (one pass over it, not two)
            xp = x.transpose(order)
            yp = _product(xp.reshape(-1, x.shape[-1]), w.T)  # (rows, out)
        y = np.empty((*x.shape[:-1], w.shape[0]), dtype=yp.dtype)
        yp = yp.reshape(*xp.shape[:-1], w.shape[0])
        if b is not None and b.shape == w.shape[:1] and yp.ndim == 3:
            _kernels.add_rows_into(yp, b, y.transpose(order))
        elif b is None:
            y.transpose(order)[...] = yp
        else:
            np.add(yp, b, out=y.transpose(order))
        return y

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, Any, Any]:
        x, w = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        rows = math.prod(g.shape[:-1])
        out = g.shape[-1]
        skinny = (
            _skinny_layout(x, w) if g.dtype == x.dtype and g.shape[:-1] == x.shape[:-1] else None
        )
        if skinny is not None:  # dX, dW and db in one compiled pass
            x3, order = skinny
            if order is None:
                g3 = g.reshape(x3.shape[:2] + (out,))
            else:
                g3 = g.transpose(order)
            dx3 = scratch.empty(x3.shape, x.dtype) if need_x else None
            dw, db = _kernels.skinny_backward(x3, g3, w, dx3, need_w)
            dx = None
            if dx3 is not None:
                dx = dx3.reshape(x.shape) if order is None else dx3.transpose(_inverse(order))
            if need_b and ctx.bias_shape != (out,):
                db = unbroadcast(g, ctx.bias_shape)
            return dx, dw, (db if need_b else None)
        order = _memory_order(x, out)
        gp, xp = (g, x) if order is None else (g.transpose(order), x.transpose(order))
        g2 = gp.reshape(rows, out)  # (rows, out): one product, not one per leading index
        dx = dw = db = None
        with _kernels.quiet_blas(g.size * w.shape[1]):
            if need_x:
                dx = _input_grad(g2, w).reshape(*gp.shape[:-1], w.shape[1])  # (*, in)
                if order is not None:  # in x's layout
                    dx = dx.transpose(_inverse(order))
            if need_w:
                dw = _product(g2.T, xp.reshape(rows, x.shape[-1]))  # (out, in)
        if need_b:
            if ctx.bias_shape == (out,) and g2.ndim == 2 and g2.dtype.char in "fd":
                db = _kernels.column_sums(g2)  # (out,): the rows summed, in one pass
            else:
                db = unbroadcast(g, ctx.bias_shape)  # (a bias may broadcast)
        return dx, dw, db


def _skinny_layout(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, list[int] | None] | None:
    """x as (A, B, K) C-contiguous rows for :mod:`elman._kernels.skinny` and the axis order
    that gives it (None: x's own; a batch-first view of the RNN's (L, N, H) output: that
    of its memory), when the Linear has few outputs (``skinny.applies``); None otherwise."""
    if not _kernels.JIT or x.ndim < 2 or w.ndim != 2 or x.dtype != w.dtype:
        return None
    rows, K = math.prod(x.shape[:-1]), x.shape[-1]
    if not _kernels.skinny_applies(rows, K, w.shape[0], x.dtype):
        return None
    if x.flags.c_contiguous:
        return x.reshape(1, rows, K), None
    if x.ndim == 3:
        order = sorted(range(2), key=lambda a: -x.strides[a]) + [2]
        xp = x.transpose(order)
        if xp.flags.c_contiguous:
            return xp, order
    return None


def _input_grad(g2: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``g2 @ w`` (rows, in); a large one into an array of the scratch pool, reused from
    step to step once nothing references it (a fresh one's pages fault on first write)."""
    rows, out = g2.shape
    if rows < 2 or out < 2 or w.shape[1] < 2 or g2.dtype != w.dtype or g2.dtype.char not in "fd":
        return matmul_arrays(g2, w)  # (its special cases: outer products, matrix-vector)
    return _kernels.layer_product(g2, w, scratch.empty((rows, w.shape[1]), g2.dtype))


def _product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b``: two float matrices of one dtype through ``_kernels.layer_product`` (a big
    one on elman's two threads), anything else through ``matmul_arrays`` (its special
    cases: outer products, matrix-vector products, broadcasting)."""
    if (
        a.ndim == 2
        and b.ndim == 2
        and min(a.shape[0], a.shape[1], b.shape[1]) >= 2
        and a.dtype == b.dtype
        and a.dtype.char in "fd"
    ):
        return _kernels.layer_product(a, b)  # type: ignore[no-any-return]
    return matmul_arrays(a, b)


def _inverse(order: list[int]) -> list[int]:
    """The permutation that undoes ``order``."""
    inv = [0] * len(order)
    for i, a in enumerate(order):
        inv[a] = i
    return inv


class LinearNoBias(LinearFunction):
    backward_name = "MmBackward0"


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias`` as one graph node."""
    input, weight = as_input(input), as_input(weight)
    bias = None if bias is None else as_input(bias)
    if input.ndim == 0 or weight.ndim == 0:
        raise RuntimeError(
            "both arguments to linear need to be at least 1D, but they are "
            f"{input.ndim}D and {weight.ndim}D"
        )
    if weight.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {weight.ndim}D")
    for other in (input, bias):
        if other is not None and other.dtype != weight.dtype:  # torch does not promote here
            raise RuntimeError(
                f"expected m1 and m2 to have the same dtype, but got: {other.dtype} != "
                f"{weight.dtype}"
            )
    if weight.ndim == 1 and bias is not None and _addmm_path(input, bias):
        raise RuntimeError("mat2 must be a matrix, got 1-D tensor")
    if input.shape[-1:] != weight.shape[-1:]:
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied "
            f"({int(np.prod(input.shape[:-1]))}x{input.shape[-1]} and "
            f"{weight.shape[-1]}x{weight.shape[0] if weight.ndim == 2 else 1})"
        )
    if weight.ndim == 1:  # a vector of weights: one output feature, dropped (as torch)
        out1 = LinearNoBias.apply(input, weight.reshape(1, -1), None).squeeze(-1)
        return out1 if bias is None else out1 + bias
    if bias is not None:
        out = (*input.shape[:-1], *weight.shape[:-1])
        if broadcast_shapes(out, bias.shape) != out:
            raise RuntimeError(
                f"The expanded size of the tensor ({out[-1] if out else 1}) must match the "
                f"existing size ({bias.shape[-1]}) at non-singleton dimension "
                f"{max(len(out) - 1, 0)}.  Target sizes: {list(out)}.  Tensor sizes: "
                f"{list(bias.shape)}"
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
    input = as_input(input)
    p = check_probability(p)  # (first, as torch)
    training = check_flag("train", training, "dropout")
    inplace = bool(inplace)  # (torch takes any truthy value here)
    if not training or p == 0 or input.numel() == 0:
        return input
    if p == 1:
        noise = np.zeros((), dtype=input.dtype)
    elif input.dtype.kind not in "fc":  # the scaled mask is floating
        raise RuntimeError(
            f"result type Float can't be cast to the desired output type {input.dtype}"
        )
    else:
        from ..random import default_generator

        gen = default_generator if generator is None else generator
        order = memory_order(input._data)
        if order is None:
            keep = gen.bernoulli(input.shape, 1 - p, dtype=input.dtype)
        else:  # torch draws the mask in the input's memory order (its empty_like keeps strides)
            drawn = gen.bernoulli(tuple(input.shape[i] for i in order), 1 - p, dtype=input.dtype)
            keep = drawn.transpose(np.argsort(order))
        noise = keep / np.asarray(1 - p, dtype=input.dtype)
    if inplace:
        return input.__imul__(noise)  # in place, unless the graph must record it
    return input * noise


def memory_order(a: np.ndarray) -> tuple[int, ...] | None:
    """The axes of a dense, non-overlapping, non-C-contiguous array from the outermost in
    memory to the innermost (a transposed matrix: (1, 0)); None for C-contiguous arrays and
    for those with gaps or negative strides (torch makes those contiguous)."""
    if a.flags.c_contiguous or a.ndim < 2:
        return None
    order = sorted(range(a.ndim), key=lambda i: (a.shape[i] != 1, a.strides[i]), reverse=True)
    expected = a.itemsize
    for i in reversed(order):
        if a.shape[i] != 1 and a.strides[i] != expected:
            return None
        expected *= a.shape[i]
    return tuple(order)


def tanh(input: Tensor) -> Tensor:
    """Elementwise tanh (NumPy arrays and lists are converted, as for the layers)."""
    return as_input(input, "tanh").tanh()


def sigmoid(input: Tensor) -> Tensor:
    return input.sigmoid()


def relu(input: Tensor) -> Tensor:
    """Elementwise max(x, 0) (NumPy arrays and lists are converted, as for the layers)."""
    return as_input(input, "relu").relu()


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


def _addmm_path(input: Tensor, bias: Tensor) -> bool:
    """Whether torch's linear takes its addmm path, which needs a 2-D weight: a 2-D input,
    or a contiguous input of 3 or more dims with a bias of 1 or more dims (folded to 2-D);
    otherwise it computes ``matmul(input, weight.t()) + bias``, fine with a 1-D weight."""
    if input.ndim == 2:
        return True
    return input.ndim >= 3 and bias.ndim >= 1 and bool(input._data.flags.c_contiguous)
