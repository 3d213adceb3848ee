"""Cross-entropy: log-softmax and the negative log-likelihood fused into ONE graph node.

Every form torch offers reduces to one picture. With the classes on the last axis, each of
the M rows (one per sample and spatial position) has log-probabilities ``logp = z -
logsumexp(z)`` and a coefficient row ``a``; its loss is ``-sum_c a_c logp_c``:

- class index ``t``: ``a = (1 - eps) w_t onehot(t) + (eps / C) w`` (0 for ignored rows),
- class probabilities ``q``: ``a = w (q (1 - eps) + eps / C)``,

where ``w`` are the class weights (ones by default) and ``eps`` the label smoothing. So the
gradient of a row is ``softmax(z) sum(s a) - s a``, with ``s`` the incoming gradient (over
the total weight for a 'mean').
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _kernels
from ..autograd import Tensor, is_grad_enabled
from ..autograd._checks import check_int
from ..autograd._operands import promote
from ..autograd.function import Context, Function
from ._checks import as_input
from .functional_activation import log_softmax_array
from .functional_loss import legacy_reduction, reduction_of

__all__ = ["cross_entropy", "CrossEntropyFunction", "ClassIndexRowsFunction"]


def _rows(a: np.ndarray, axis: int) -> np.ndarray:
    """(M, C): the class axis moved last, every other axis flattened into rows."""
    if axis == a.ndim - 1:  # (N, C) or (C): already there (moveaxis costs ~15 µs a call)
        return a.reshape(-1, a.shape[axis])
    return np.moveaxis(a, axis, -1).reshape(-1, a.shape[axis])


def _unrows(g: np.ndarray, shape: tuple[int, ...], axis: int) -> np.ndarray:
    """The inverse of :func:`_rows`."""
    moved = shape[:axis] + shape[axis + 1 :] + (shape[axis],)
    if axis == len(shape) - 1:
        return g.reshape(moved)
    return np.moveaxis(g.reshape(moved), -1, axis)


def _log_softmax(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The log-softmax and the softmax of each row of z (M, C), from one exp of z's elements
    (the backward reuses the softmax rather than taking exp(logp) again)."""
    if z.shape[1] == 0 or z.dtype.char not in "fd":
        logp = log_softmax_array(z, 1)
        return logp, np.exp(logp)
    return _kernels.log_softmax_rows(z)  # type: ignore[no-any-return]


def _divide(total: np.ndarray, count: Any) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):  # 0 / 0 is nan, as in torch
        return np.asarray(total / count)


def _scale(s: np.ndarray, a: np.ndarray) -> np.ndarray:
    """``s * a``. A 'mean' over nothing makes ``s`` inf or nan; torch then leaves the entries
    that carry no loss (``a == 0``) at 0 rather than computing inf * 0."""
    if np.isfinite(s).all():
        return s * a  # type: ignore[no-any-return]
    with np.errstate(invalid="ignore"):
        return np.where(a != 0, s * a, 0).astype(np.result_type(s, a), copy=False)


class CrossEntropyFunction(Function):
    """``forward(x, target, weight, axis, ignore_index, reduction, eps, probs)``; the class
    axis ``axis`` of ``x``; ``target`` holds class indices, or probabilities when ``probs``."""

    backward_name = "NllLossBackward0"

    @staticmethod
    def forward(
        ctx: Context,
        x: np.ndarray,
        target: np.ndarray,
        weight: np.ndarray | None,
        axis: int,
        ignore_index: int,
        reduction: str,
        eps: float,
        probs: bool,
    ) -> np.ndarray:
        C = x.shape[axis]
        out_shape = x.shape[:axis] + x.shape[axis + 1 :]
        logp, ctx.p = _log_softmax(_rows(x, axis))  # (M, C) each
        ctx.x_shape, ctx.axis, ctx.reduction = x.shape, axis, reduction
        ctx.eps, ctx.probs = eps, probs
        if probs:
            # log-softmax in the input's dtype, then torch's promotion with the target's
            logp, q = promote(logp, _rows(target, axis))  # (M, C)
            if eps > 0:
                q = q * (1 - eps) + eps / C
            lw = logp if weight is None else logp * weight  # (M, C)
            terms = lw * q
            ctx.save_for_backward(logp, q, weight, lw)
            if reduction == "none":
                return np.asarray(-terms.sum(axis=1)).reshape(out_shape)
            total = -terms.sum()
            if reduction == "sum":
                return np.asarray(total)
            ctx.denominator = logp.shape[0]
            return _divide(total, terms.dtype.type(logp.shape[0]))
        t = target.reshape(-1)  # (M,)
        valid = t != ignore_index
        ti = np.where(valid, t, 0).astype(np.intp)
        w_t = valid.astype(x.dtype) if weight is None else weight[ti] * valid  # (M,)
        # (M,): an ignored row's loss is 0 whatever its logits (nan, inf), as torch's
        nll = np.zeros(t.size, dtype=logp.dtype)
        nll[valid] = -logp[np.flatnonzero(valid), ti[valid]] * w_t[valid]
        ctx.save_for_backward(logp, ti, valid, w_t, weight)
        smooth = None
        if eps > 0:
            lw = logp if weight is None else logp * weight
            smooth = np.where(valid, -lw.sum(axis=1), 0).astype(logp.dtype, copy=False)  # (M,)
        if reduction == "none":
            loss = nll if smooth is None else (1 - eps) * nll + smooth * (eps / C)
            return np.asarray(loss, dtype=x.dtype).reshape(out_shape)
        if reduction == "sum":
            loss, extra = nll.sum(), None if smooth is None else smooth.sum()
        else:
            ctx.denominator = w_t.sum()
            loss = _divide(nll.sum(), ctx.denominator)
            extra = None if smooth is None else _divide(smooth.sum(), ctx.denominator)
        if extra is not None:
            loss = (1 - eps) * loss + extra * (eps / C)
        return np.asarray(loss, dtype=x.dtype)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, ...]:
        axis, eps, probs = ctx.axis, ctx.eps, ctx.probs
        if ctx.reduction == "none":
            s = g.reshape(-1, 1)  # (M, 1)
        elif ctx.reduction == "sum":
            s = g.reshape(1, 1)
        else:
            s = _divide(g, ctx.denominator).reshape(1, 1)
        need_x, need_t, need_w = ctx.needs_input_grad[:3]
        gt = gw = None
        if probs:
            logp, q, weight, lw = ctx.saved_tensors
            sa = s * (q if weight is None else q * weight)  # (M, C): d(loss)/d(-logp)
            if need_t:  # d/dq of -sum(w logp q'), q' = q (1 - eps) + eps / C
                gt = _unrows(-lw * s * (1 - eps if eps > 0 else 1), ctx.x_shape, axis)
            if need_w:
                gw = -(s * logp * q).sum(axis=0)
        else:
            logp, ti, valid, w_t, weight = ctx.saved_tensors
            rows = np.arange(ti.size)
            if eps == 0:  # one nonzero per row: scatter it instead of a dense (M, C) array
                sw = _scale(s, w_t[:, None])  # (M, 1)
                if not need_x:
                    return None, None, None, None, None, None, None, None
                gz = ctx.p * sw  # (M, C)
                gz[rows, ti] -= sw[:, 0]
                return _unrows(gz, ctx.x_shape, axis), None, None, None, None, None, None, None
            C = logp.shape[1]
            base = np.ones(C, logp.dtype) if weight is None else weight
            a = ((eps / C) * base * valid[:, None]).astype(logp.dtype, copy=False)  # (M, C)
            a[rows, ti] += (1 - eps) * w_t
            sa = _scale(s, a)
        gx = None
        if need_x:
            gx = _unrows(ctx.p * sa.sum(axis=1, keepdims=True) - sa, ctx.x_shape, axis)
        return gx, gt, gw, None, None, None, None, None


class ClassIndexRowsFunction(Function):
    """Cross-entropy's common case: logits (M, C), int64 class indices (M,), no class
    weights, no label smoothing; ``forward(x, target, ignore_index, reduction)``. The same
    numbers as :class:`CrossEntropyFunction` (the 'mean' and 'sum' accumulated in float64,
    as torch's) from one compiled pass each way (``_kernels.softmax_nll_rows`` and
    ``nll_grad_rows``) instead of a dozen NumPy passes over the rows; the range check of the
    targets is part of the forward's pass."""

    backward_name = "NllLossBackward0"

    @staticmethod
    def forward(
        ctx: Context, x: np.ndarray, target: np.ndarray, ignore_index: int, reduction: str
    ) -> np.ndarray:
        p, loss, total, count, bad = _kernels.softmax_nll_rows(x, target, ignore_index)
        if bad >= 0:
            raise IndexError(f"Target {int(target[bad])} is out of bounds.")
        ctx.p, ctx.t, ctx.ignore_index, ctx.reduction = p, target, ignore_index, reduction
        if reduction == "none":
            return loss  # type: ignore[no-any-return]
        if reduction == "sum":
            return np.asarray(total, dtype=x.dtype)
        ctx.denominator = x.dtype.type(count)
        return _divide(np.float64(total), count).astype(x.dtype)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple[Any, None, None, None]:
        if not ctx.needs_input_grad[0]:
            return None, None, None, None
        p = ctx.p
        if ctx.reduction == "none":
            s = g.reshape(-1)  # (M,)
        else:
            scale = g if ctx.reduction == "sum" else _divide(g, ctx.denominator)
            s = np.broadcast_to(np.asarray(scale, dtype=p.dtype).reshape(1), p.shape[:1])
        gx = _kernels.nll_grad_rows(p, ctx.t, ctx.ignore_index, s.astype(p.dtype, copy=False))
        return gx, None, None, None


def _rows_case(x: Tensor, t: Tensor, w: Tensor | None, eps: float) -> bool:
    """Whether :class:`ClassIndexRowsFunction` computes this call: (M, C) logits with C >= 1
    of float32 or float64, int64 targets, no weights, no smoothing."""
    return (
        w is None
        and eps == 0
        and x.ndim == 2
        and x.shape[1] > 0
        and x.dtype.char in "fd"
        and t._data.dtype == np.int64
    )


def _check_class_target(x: Tensor, t: Tensor) -> None:
    """torch's shape checks for class-index targets (nll_loss_nd), in torch's order."""
    if x.ndim == 1:
        if t.ndim > 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        if t.ndim == 1 and t.shape[0] != 1:
            raise ValueError(
                f"For 1D input, 1D target must have size 1, but got target size: {t.shape[0]}"
            )
        return
    n_target = t.shape[0] if t.ndim else 0
    if x.shape[0] != n_target:
        raise ValueError(
            f"Expected input batch_size ({x.shape[0]}) to match target batch_size ({n_target})."
        )
    if x.ndim == 2 and t.ndim != 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if x.ndim > 2 and t.shape[1:] != x.shape[2:]:
        expected = [x.shape[0], *x.shape[2:]]
        raise RuntimeError(f"Expected target size {expected}, got {list(t.shape)}")


def _check_weight(weight: Any, x: Tensor, probs: bool) -> Tensor | None:
    if weight is None:
        return None
    w = as_input(weight)
    C = x.shape[0 if x.ndim == 1 else 1]
    if w.ndim != 1 or w.shape[0] != C:
        raise RuntimeError(
            f"weight tensor should be defined either for all {C} classes or no classes but "
            f"got weight tensor of shape: {list(w.shape)}"
        )
    if w.dtype != x.dtype:
        raise RuntimeError(f"expected scalar type {x.dtype} but found {w.dtype}")
    if not probs and w.requires_grad and is_grad_enabled():
        raise RuntimeError(
            "cross_entropy with class-index targets is not differentiable with respect to "
            "argument 'weight'. This input cannot have requires_grad True."
        )
    return w


def _check_targets_in_range(t: np.ndarray, C: int, ignore_index: int) -> None:
    bad = ((t < 0) | (t >= C)) & (t != ignore_index)
    if bad.any():
        first = int(t.reshape(-1)[np.argmax(bad.reshape(-1))])
        raise IndexError(f"Target {first} is out of bounds.")


def cross_entropy(
    input: Any,
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    r"""Cross-entropy between logits and targets: log-softmax over classes, then the negative
    log-likelihood, as one graph node.

    For a class-index target :math:`y_n` the loss of sample :math:`n` is

    .. math:: \ell_n = -w_{y_n} \log \frac{\exp(x_{n,y_n})}{\sum_c \exp(x_{n,c})},

    zero where :math:`y_n` equals ``ignore_index``. ``'mean'`` divides the sum by
    :math:`\sum_n w_{y_n}` over non-ignored samples (nan when there are none), exactly as
    torch. With ``label_smoothing`` :math:`\varepsilon` the loss is :math:`(1 - \varepsilon)`
    times that plus :math:`\varepsilon / C` times :math:`-\sum_c w_c \log p_{n,c}`. A floating
    target of the input's shape holds class probabilities instead; ``'mean'`` then divides
    by the number of samples.

    Args:
        input: logits (N, C), (C) or (N, C, d1, ..., dK); floating point.
        target: class indices (N), () or (N, d1, ..., dK), integers in [0, C) (any integer
            dtype); or class probabilities of the input's shape.
        weight: optional per-class weights (C), of the input's dtype.
        size_average, reduce: deprecated torch flags; use ``reduction``.
        ignore_index: a target value that contributes neither loss nor gradient. Default -100.
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.
        label_smoothing: :math:`\varepsilon` in [0, 1]. Default 0.

    Returns:
        a 0-d tensor, or for ``'none'`` the loss per sample (N) / (N, d1, ..., dK) / ().

    Example:
        >>> import elman
        >>> import elman.nn.functional as F
        >>> logits = elman.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]])
        >>> F.cross_entropy(logits, elman.tensor([0, 2]))
        tensor(0.1755)
    """
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
    reduction = reduction_of(reduction)
    ignore_index = check_int("ignore_index", ignore_index, "cross_entropy_loss")
    x, t = as_input(input), as_input(target)
    if x.ndim == 0:
        raise ValueError("Expected 1 or more dimensions (got 0)")
    if x.dtype.kind != "f":
        raise NotImplementedError(f"\"cross_entropy\" not implemented for '{x.dtype}'")
    axis = 0 if x.ndim == 1 else 1
    probs = x.shape == t.shape
    if not isinstance(label_smoothing, (int, float, np.number)):  # (float() would read "0.1")
        raise TypeError(
            "cross_entropy_loss(): argument 'label_smoothing' must be float, not "
            f"{type(label_smoothing).__name__}"
        )
    eps = float(label_smoothing)
    if not eps <= 1.0 or eps < 0:  # torch lets a negative value through as 0
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {eps}")
    if probs:
        if t.dtype.kind != "f":
            raise RuntimeError(
                f"Expected floating point type for target with class probabilities, got {t.dtype}"
            )
        if ignore_index >= 0:
            raise RuntimeError("ignore_index is not supported for floating point target")
    else:
        if x.ndim > 1:  # torch checks the batch size first, except for unbatched input
            _check_class_target(x, t)
        if t.dtype.kind not in "iu":
            raise RuntimeError(
                f"expected target dtype to be an integer type such as int64, but got {t.dtype}"
            )
        _check_class_target(x, t)
    w = _check_weight(weight, x, probs)
    if not probs:
        if _rows_case(x, t, w, eps):  # (the targets' range is checked in its pass)
            return ClassIndexRowsFunction.apply(  # type: ignore[no-any-return]
                x, t, ignore_index, reduction
            )
        _check_targets_in_range(t._data, x.shape[axis], ignore_index)
    return CrossEntropyFunction.apply(  # type: ignore[no-any-return]
        x, t, w, axis, ignore_index, reduction, eps, probs
    )
