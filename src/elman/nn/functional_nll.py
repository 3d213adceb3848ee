"""``nll_loss``, ``binary_cross_entropy_with_logits`` and ``one_hot``, as torch.

``nll_loss`` picks :math:`-w_{y_n} x_{n, y_n}` (the input holds log-probabilities), zero where
:math:`y_n` is ``ignore_index``; ``'mean'`` divides the sum by :math:`\\sum_n w_{y_n}` of the
kept targets. The binary loss is
:math:`\\ell = (1 - y)\\,x - \\log\\sigma(x)` with
:math:`\\log\\sigma(x) = \\min(x, 0) - \\log(1 + e^{-|x|})` (torch's formula, stable for any
:math:`x`), gradient :math:`\\sigma(x) - y`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Tensor
from ..autograd.function import Context, Function
from ._checks import as_input
from .functional_loss import reduction_of

__all__ = ["nll_loss", "binary_cross_entropy_with_logits", "one_hot"]


def _torch_type(dtype: np.dtype) -> str:
    return {"float32": "Float", "float64": "Double", "int32": "Int", "bool": "Bool"}.get(
        str(dtype), str(dtype)
    )


def nll_loss(
    input: Any,  # noqa: A002 (torch's names)
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of class-index targets.

    Shapes: input (N, C), (C) or (N, C, d1, ...); target (N), () or (N, d1, ...) of int64;
    output () or, for ``'none'``, the target's shape.

    Example:
        >>> import elman
        >>> import elman.nn.functional as F
        >>> F.nll_loss(elman.tensor([[-0.5, -1.0], [-2.0, -0.1]]), elman.tensor([0, 1]))
        tensor(0.3000)
    """
    red = reduction_of(reduction, size_average, reduce)
    x, t = as_input(input), as_input(target)
    if t.dtype not in (np.int64, np.uint8):
        raise RuntimeError(
            f"expected target dtype to be Long or Byte, but got {_torch_type(t.dtype)}"
        )
    out_shape = tuple(t.shape)
    if x.ndim == 1:
        x, t = x.reshape(1, -1), t.reshape(1)
    elif x.ndim < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {x.ndim})")
    if x.shape[0] != t.shape[0]:
        raise ValueError(
            f"Expected input batch_size ({x.shape[0]}) to match target batch_size ({t.shape[0]})."
        )
    C = x.shape[1]
    if x.ndim > 2:  # (N, C, d...) -> (N * d..., C)
        x = x.permute(0, *range(2, x.ndim), 1).reshape(-1, C)
    ts = t._data.reshape(-1).astype(np.int64)
    keep = ts != ignore_index
    bad = ts[keep & ((ts < 0) | (ts >= C))]
    if bad.size:
        raise IndexError(f"Target {int(bad[0])} is out of bounds.")
    safe = np.where(keep, ts, 0)
    w = np.ones(C, x.dtype) if weight is None else np.asarray(as_input(weight)._data, x.dtype)
    wn = (w[safe] * keep).astype(x.dtype)  # (M,)
    out = _NLL.apply(x, safe, wn, red)
    return out.reshape(out_shape) if red == "none" else out


class _NLL(Function):
    """One node: ``-x[m, t_m] * w_m``, reduced; the gradient goes to the picked entries."""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, t: np.ndarray, wn: np.ndarray, red: str) -> np.ndarray:
        rows = np.arange(x.shape[0])
        losses = -x[rows, t] * wn  # (M,)
        ctx.shape, ctx.red, ctx.t = x.shape, red, t
        if red == "none":
            ctx.scale = wn
            return losses
        total = losses.sum(dtype=x.dtype)
        if red == "sum":
            ctx.scale = wn
            return np.asarray(total)
        denom = wn.sum(dtype=x.dtype)
        with np.errstate(invalid="ignore", divide="ignore"):  # all ignored: 0 / 0 = nan
            ctx.scale = wn / denom
            return np.asarray(total / denom)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[np.ndarray, None, None, None]:
        out = np.zeros(ctx.shape, dtype=g.dtype)
        out[np.arange(ctx.shape[0]), ctx.t] = -g * ctx.scale
        return out, None, None, None


class _BCEWithLogits(Function):
    r""":math:`(1 - y) x - l \log\sigma(x)`, :math:`l = (p - 1) y + 1` (1 without
    ``pos_weight`` :math:`p`)."""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, y: np.ndarray, pw: Any) -> np.ndarray:
        log_sig = np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))
        lw = 1 if pw is None else (pw - 1) * y + 1
        ctx.save_for_backward(x, y, log_sig)
        ctx.pw, ctx.lw = pw, lw
        return (1 - y) * x - lw * log_sig

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[np.ndarray, np.ndarray, None]:
        x, y, log_sig = ctx.saved_tensors
        with np.errstate(over="ignore"):
            sig_neg = 1 / (1 + np.exp(x))  # sigmoid(-x), the derivative of log sigmoid(x)
        gx = g * ((1 - y) - ctx.lw * sig_neg)
        gy = -g * x if ctx.pw is None else -g * (x + (ctx.pw - 1) * log_sig)
        return gx, gy, None


def binary_cross_entropy_with_logits(
    input: Any,  # noqa: A002
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    pos_weight: Any = None,
) -> Tensor:
    """Binary cross-entropy of logits ``input`` against targets in [0, 1] (same shape).

    Example:
        >>> import elman
        >>> import elman.nn.functional as F
        >>> F.binary_cross_entropy_with_logits(elman.tensor([0.0, 2.0]), elman.tensor([1.0, 0.0]))
        tensor(1.4100)
    """
    red = reduction_of(reduction, size_average, reduce)
    x, y = as_input(input), as_input(target)
    if tuple(x.shape) != tuple(y.shape):
        raise ValueError(
            f"Target size (torch.Size({list(y.shape)})) must be the same as input size "
            f"(torch.Size({list(x.shape)}))"
        )
    pw = None if pos_weight is None else np.asarray(as_input(pos_weight)._data, x.dtype)
    losses = _BCEWithLogits.apply(x, y.to(x.dtype), pw)
    if weight is not None:
        losses = losses * as_input(weight)
    if red == "none":
        return losses
    return losses.sum() if red == "sum" else losses.mean()


def one_hot(tensor: Any, num_classes: int = -1) -> Tensor:
    """int64 one-hot rows: ``out[..., c] = (tensor[...] == c)``; ``num_classes=-1`` uses
    ``tensor.max() + 1``.

    Example:
        >>> import elman
        >>> import elman.nn.functional as F
        >>> F.one_hot(elman.tensor([0, 2]), 3)
        tensor([[1, 0, 0],
                [0, 0, 1]])
    """
    t = as_input(tensor)
    if t.dtype != np.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    a = t._data
    if a.size and a.min() < 0:
        raise RuntimeError("Class values must be non-negative.")
    if num_classes == -1:
        if not a.size:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(a.max()) + 1
    elif a.size and a.max() >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    return Tensor._wrap((a[..., None] == np.arange(num_classes)).astype(np.int64))
