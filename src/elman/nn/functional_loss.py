"""Regression losses (MSE, L1) and the reduction and broadcasting rules all losses share.

``mse_loss`` and ``l1_loss`` are one graph node each; their weighted forms are composed of
elementary ops, as torch composes them. Cross-entropy lives in :mod:`.functional_ce`.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .._kernels.special import sign
from ..autograd import Tensor
from ..autograd._checks import check_no_bool_sub
from ..autograd._operands import promote, unbroadcast
from ..autograd.function import Context, Function
from ._checks import as_input

__all__ = ["mse_loss", "l1_loss", "reduction_of", "apply_reduction", "broadcast_shape"]

REDUCTIONS = ("none", "mean", "sum")


def legacy_reduction(size_average: bool | None, reduce: bool | None) -> str:
    """torch's mapping of the deprecated ``size_average``/``reduce`` flags, with its warning."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    ret = "mean" if size_average and reduce else "sum" if reduce else "none"
    warnings.warn(
        f"size_average and reduce args will be deprecated, please use reduction='{ret}' instead.",
        UserWarning,
        stacklevel=3,
    )
    return ret


def reduction_of(reduction: str, size_average: bool | None = None, reduce: Any = None) -> str:
    """The validated reduction ('none', 'mean' or 'sum'), honouring the legacy flags."""
    if size_average is not None or reduce is not None:
        return legacy_reduction(size_average, reduce)
    if reduction == "elementwise_mean":
        warnings.warn(
            "reduction='elementwise_mean' is deprecated. Please use reduction='mean' instead.",
            UserWarning,
            stacklevel=3,
        )
        return "mean"
    if reduction not in REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def apply_reduction(loss: np.ndarray, reduction: str) -> np.ndarray:
    """Sum or mean of all elements (mean of none is nan, as torch), or ``loss`` itself."""
    if reduction == "none":
        return loss
    total = loss.sum(dtype=loss.dtype)
    if reduction == "sum":
        return np.asarray(total)
    with np.errstate(invalid="ignore"):  # 0 / 0 for an empty loss
        return np.asarray(total / loss.dtype.type(loss.size))


def broadcast_shape(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    """The broadcast of two shapes, or torch's error naming the first dim that clashes."""
    n = max(len(a), len(b))
    pa, pb = (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b
    for i in range(n - 1, -1, -1):
        if pa[i] != pb[i] and pa[i] != 1 and pb[i] != 1:
            raise RuntimeError(
                f"The size of tensor a ({pa[i]}) must match the size of tensor b ({pb[i]}) "
                f"at non-singleton dimension {i}"
            )
    return tuple(max(x, y) if min(x, y) != 0 else 0 for x, y in zip(pa, pb, strict=True))


def _pair(input: Any, target: Any) -> tuple[Tensor, Tensor]:
    """Input and target as tensors; torch's warning when their shapes differ (broadcast)."""
    x, t = as_input(input), as_input(target)
    if x.shape != t.shape:
        warnings.warn(
            f"Using a target size ({t.shape}) that is different to the input size "
            f"({x.shape}). This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.",
            UserWarning,
            stacklevel=3,
        )
    broadcast_shape(x.shape, t.shape)
    return x, t


def _floating_pair(name: str, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if name == "l1_loss":  # torch's l1_loss subtracts as tensors do: no bool operands there
        check_no_bool_sub(a, b)
    if a.shape != b.shape:  # torch broadcasts first: a 0-d operand then promotes as a full one
        a, b = np.broadcast_arrays(a, b)
    a, b = promote(a, b)
    if a.dtype.kind != "f":
        raise NotImplementedError(f"\"{name}\" not implemented for '{a.dtype}'")
    return a, b


def _grad_scale(reduction: str, n: int, factor: float) -> float:
    """The factor of d(loss)/d(elementwise loss): ``factor``, over n for a mean."""
    return factor / n if reduction == "mean" and n else factor


class MSELossFunction(Function):
    backward_name = "MseLossBackward0"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, t: np.ndarray, reduction: str) -> np.ndarray:
        ctx.shapes, ctx.reduction = (x.shape, t.shape), reduction
        x, t = _floating_pair("mse_loss", x, t)
        d = x - t  # broadcast: (*)
        ctx.save_for_backward(d)
        return apply_reduction(d * d, reduction)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, Any, None]:
        (d,) = ctx.saved_tensors
        # torch's mse_backward: alpha * (input - target) * grad, alpha = 2 (or 2/n for mean)
        alpha = d.dtype.type(_grad_scale(ctx.reduction, d.size, 2.0))
        gd = alpha * d * g
        sx, st = ctx.shapes
        gx = unbroadcast(gd, sx) if ctx.needs_input_grad[0] else None
        gt = unbroadcast(-gd, st) if ctx.needs_input_grad[1] else None
        return gx, gt, None


class L1LossFunction(Function):
    backward_name = "L1LossBackward0"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, t: np.ndarray, reduction: str) -> np.ndarray:
        ctx.shapes, ctx.reduction = (x.shape, t.shape), reduction
        x, t = _floating_pair("l1_loss", x, t)
        d = x - t  # broadcast: (*)
        ctx.save_for_backward(sign(d))  # torch's sgn: 0 (not NaN) where d is NaN
        return apply_reduction(np.abs(d), reduction)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, Any, None]:
        (sign,) = ctx.saved_tensors
        if ctx.reduction == "mean" and sign.size:
            g = g / sign.dtype.type(sign.size)
        gd = sign * g  # |d|' = sign(d), 0 at d = 0 as torch's
        sx, st = ctx.shapes
        gx = unbroadcast(gd, sx) if ctx.needs_input_grad[0] else None
        gt = unbroadcast(-gd, st) if ctx.needs_input_grad[1] else None
        return gx, gt, None


def _weighted(errors: Tensor, weight: Any, shape: tuple[int, ...], reduction: str) -> Tensor:
    """torch's composite weighted form: sum(w * e) / sum(w) for 'mean'."""
    w = as_input(weight)
    if w.shape != shape:
        raise ValueError("Weights and input must have the same size.")
    weighted = errors * w
    if reduction == "none":
        return weighted
    if reduction == "sum":
        return weighted.sum()
    if reduction == "mean":
        return weighted.sum() / w.sum()
    raise ValueError(f"Invalid reduction mode: {reduction}. Expected one of 'none', 'mean', 'sum'.")


def mse_loss(
    input: Any,
    target: Any,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    weight: Any = None,
) -> Tensor:
    r"""Mean squared error: :math:`\ell_i = (x_i - y_i)^2`, then reduced.

    ``'mean'`` divides the sum by the number of elements (nan for none); ``'sum'`` sums;
    ``'none'`` keeps the broadcast shape. Both input and target receive gradients.

    Args:
        input: predictions (\*), floating point.
        target: targets, broadcastable to the input's shape (a shape difference warns, as in
            torch, because it is usually a bug).
        size_average, reduce: deprecated torch flags; use ``reduction``.
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.
        weight: optional per-element weights of the input's shape; ``'mean'`` then divides
            by ``sum(weight)``.

    Returns:
        a 0-d tensor, or the elementwise loss for ``reduction='none'``.

    Example:
        >>> import elman
        >>> import elman.nn.functional as F
        >>> F.mse_loss(elman.tensor([1.0, 2.0]), elman.tensor([0.0, 4.0]))
        tensor(2.5000)
    """
    x, t = _pair(input, target)
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
    if weight is not None:
        d = x - t
        return _weighted(d * d, weight, x.shape, reduction)
    return MSELossFunction.apply(x, t, reduction_of(reduction))  # type: ignore[no-any-return]


def l1_loss(
    input: Any,
    target: Any,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    weight: Any = None,
) -> Tensor:
    r"""Mean absolute error: :math:`\ell_i = |x_i - y_i|`, then reduced.

    Same arguments and reductions as :func:`mse_loss`. The gradient of :math:`|d|` at
    :math:`d = 0` is 0, as in torch.

    Example:
        >>> import elman
        >>> import elman.nn.functional as F
        >>> F.l1_loss(elman.tensor([1.0, 2.0]), elman.tensor([0.0, 4.0]), reduction="sum")
        tensor(3.)
    """
    x, t = _pair(input, target)
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
    if weight is not None:
        return _weighted((x - t).abs(), weight, x.shape, reduction)
    return L1LossFunction.apply(x, t, reduction_of(reduction))  # type: ignore[no-any-return]
