"""Softmax and log-softmax along one dim, each ONE graph node with a hand-written backward.

Both subtract the maximum along ``dim`` first, so large inputs never overflow ``exp``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..autograd import Tensor
from ..autograd._operands import wrap_dim
from ..autograd.function import Context, Function
from ._checks import as_input

__all__ = ["log_softmax", "softmax", "LogSoftmaxFunction", "SoftmaxFunction"]


def log_softmax_array(x: np.ndarray, axis: int) -> np.ndarray:
    """``x - log(sum(exp(x)))`` along ``axis``, as torch's kernel computes it: ``(x - m) -
    log(sum(exp(x - m)))`` with m the maximum (``x - (m + log(...))`` would lose the log term
    next to a huge m: float32 logits of 1e30 gave a loss of 0 instead of log 2)."""
    if x.shape[axis] == 0:
        return x.copy()
    m = np.max(x, axis=axis, keepdims=True)
    with np.errstate(invalid="ignore", over="ignore"):  # rows of ±inf give nan, as torch
        shifted = x - m
        return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))  # type: ignore[no-any-return]


class LogSoftmaxFunction(Function):
    backward_name = "LogSoftmaxBackward0"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, axis: int) -> np.ndarray:
        y = log_softmax_array(x, axis)
        ctx.save_for_backward(y)
        ctx.axis = axis
        return y

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[np.ndarray, None]:
        (y,) = ctx.saved_tensors
        # d/dx_j of sum_i g_i (x_i - lse) = g_j - softmax_j * sum_i g_i
        return g - np.exp(y) * g.sum(axis=ctx.axis, keepdims=True), None


class SoftmaxFunction(Function):
    backward_name = "SoftmaxBackward0"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, axis: int) -> np.ndarray:
        if x.shape[axis] == 0:
            y = x.copy()
        else:
            with np.errstate(invalid="ignore", over="ignore"):  # as log_softmax_array
                e = np.exp(x - np.max(x, axis=axis, keepdims=True))
                y = e / e.sum(axis=axis, keepdims=True)
        ctx.save_for_backward(y)
        ctx.axis = axis
        return y

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[np.ndarray, None]:
        (y,) = ctx.saved_tensors
        return y * (g - (g * y).sum(axis=ctx.axis, keepdims=True)), None


def _softmax_dim(name: str, ndim: int, dim: int | None, stacklevel: int) -> int:
    if dim is None:  # torch's deprecated implicit choice, with its warning
        warnings.warn(
            f"Implicit dimension choice for {name} has been deprecated. Change the call to "
            "include dim=X as an argument.",
            UserWarning,
            stacklevel=stacklevel,
        )
        dim = 0 if ndim in (0, 1, 3) else 1
    return wrap_dim(dim, ndim)


def _prepare(name: str, input: Any, dtype: Any, dim: Any, stacklevel: int) -> tuple[Tensor, int]:
    """The input (cast to ``dtype``) and the dim, checked in torch's order: dim, then dtype."""
    x = as_input(input, name)
    if dtype is not None:
        x = x.to(dtype)
    axis = _softmax_dim(name, x.ndim, dim, stacklevel + 1)
    if x.dtype.kind != "f":
        raise NotImplementedError(f"\"{name}\" not implemented for '{x.dtype}'")
    return x, axis


def _apply(fn: type[Function], x: Tensor, axis: int) -> Tensor:
    if x.ndim == 0:  # a 0-d tensor is its own (only) row
        return fn.apply(x.reshape(1), 0).reshape(())  # type: ignore[no-any-return]
    return fn.apply(x, axis)  # type: ignore[no-any-return]


def log_softmax(
    input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None
) -> Tensor:
    r"""Apply :math:`\log\operatorname{softmax}(x)_i = x_i - \log \sum_j \exp(x_j)` along ``dim``.

    Computed in one pass from ``x - max(x)``, so it is exact where ``softmax(x).log()`` would
    underflow to ``-inf``. One graph node; its backward is
    :math:`g - \operatorname{softmax}(x) \sum g`.

    Args:
        input: a floating-point tensor (an ndarray or list is converted).
        dim: the dim to normalise along. ``None`` picks torch's deprecated implicit dim (0 for
            0-, 1- and 3-D input, else 1) and warns.
        dtype: cast the input to this dtype first (and compute in it).

    Returns:
        a tensor of ``input``'s shape.

    Example:
        >>> import elman
        >>> import elman.nn.functional as F
        >>> F.log_softmax(elman.tensor([[1.0, 2.0, 3.0]]), dim=1)
        tensor([[-2.4076, -1.4076, -0.4076]])
    """
    x, axis = _prepare("log_softmax", input, dtype, dim, _stacklevel)
    return _apply(LogSoftmaxFunction, x, axis)


def softmax(
    input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None
) -> Tensor:
    r"""Apply :math:`\operatorname{softmax}(x)_i = \exp(x_i) / \sum_j \exp(x_j)` along ``dim``.

    Shifted by the maximum along ``dim``, so large inputs do not overflow. One graph node;
    its backward is :math:`y \odot (g - \sum g \odot y)`.

    Args:
        input: a floating-point tensor (an ndarray or list is converted).
        dim: the dim to normalise along (``None``: torch's deprecated implicit dim, with a
            warning).
        dtype: cast the input to this dtype first (and compute in it).

    Returns:
        a tensor of ``input``'s shape whose slices along ``dim`` sum to 1.

    Example:
        >>> import elman
        >>> import elman.nn.functional as F
        >>> F.softmax(elman.tensor([1.0, 2.0, 3.0]), dim=0)
        tensor([0.0900, 0.2447, 0.6652])
    """
    x, axis = _prepare("softmax", input, dtype, dim, _stacklevel)
    return _apply(SoftmaxFunction, x, axis)
