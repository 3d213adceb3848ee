"""Gradient clipping, as ``torch.nn.utils.clip_grad``: by total norm or by value, in place.

The total norm is the norm of the per-tensor norms (which equals the norm of all gradients
concatenated), and the scale is ``max_norm / (total_norm + 1e-6)`` clamped to 1, computed
in the norm's dtype with torch's arithmetic.
"""

from __future__ import annotations

import math
import types
import warnings
from collections.abc import Iterable

import numpy as np

from ... import _kernels
from ...autograd import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm", "clip_grads_with_norm_"]

TensorOrTensors = Tensor | Iterable[Tensor]
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _as_list(tensors: TensorOrTensors) -> list[Tensor]:
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def _vector_norm(a: np.ndarray, p: float) -> float:
    """The p-norm of all elements of ``a`` (torch's ``linalg.vector_norm``), in float64."""
    if p in (math.inf, -math.inf):
        if a.size == 0:
            raise RuntimeError(
                "linalg.vector_norm cannot compute the inf norm on an empty tensor because the "
                "operation does not have an identity"
            )
        mags = np.abs(a)
        return float(mags.max() if p > 0 else mags.min())
    if p == 2 and _kernels.JIT and a.dtype in _FLOATS and a.flags.c_contiguous:
        return math.sqrt(_kernels.sum_squares(a.reshape(-1)))  # one pass, no float64 copy
    x = np.abs(a.astype(np.float64, copy=False)).ravel()
    if p == 0:
        return float(np.count_nonzero(x))
    if p == 1:
        return float(x.sum())
    if p == 2:
        with _kernels.quiet_blas(x.size, _kernels.THREADED_DOT):
            return float(np.sqrt(np.dot(x, x)))
    with np.errstate(divide="ignore", over="ignore"):  # p < 0 with zeros: inf, as torch
        return float(np.sum(x**p) ** (1.0 / p))


def get_total_norm(
    tensors: TensorOrTensors,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    r"""The ``norm_type``-norm of the per-tensor norms of ``tensors``: the norm of all their
    elements viewed as one vector.

    Args:
        tensors: a tensor or an iterable of tensors (typically gradients).
        norm_type: p of the p-norm; ``math.inf`` for the max norm. Default 2.
        error_if_nonfinite: raise if the total norm is nan or inf. Default False.
        foreach: accepted for torch compatibility (there is one implementation).

    Returns:
        a 0-d tensor of the tensors' (promoted) dtype; ``tensor(0.)`` for no tensors.

    Example:
        >>> import elman
        >>> elman.nn.utils.get_total_norm([elman.tensor([3.0]), elman.tensor([4.0])])
        tensor(5.)
    """
    ts = _as_list(tensors)
    p = float(norm_type)
    if math.isnan(p):  # (torch computes something; no norm has order NaN)
        raise ValueError("norm_type must be a number or inf, got nan")
    if not ts:
        return Tensor._make(np.asarray(0.0, dtype=np.float32))
    dtype = np.result_type(*(t.dtype for t in ts))
    # each norm is rounded to its tensor's dtype before they are stacked, as in torch
    norms = np.array([t.dtype.type(_vector_norm(t._data, p)) for t in ts], dtype=dtype)  # (K,)
    total = np.asarray(_vector_norm(norms, p), dtype=dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {p} for gradients from `parameters` is non-finite, so it "
            "cannot be clipped. To disable this error and scale the gradients by the "
            "non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    return Tensor._make(total)


def clip_grads_with_norm_(
    parameters: TensorOrTensors,
    max_norm: float,
    total_norm: Tensor,
    foreach: bool | None = None,
) -> None:
    r"""Scale the gradients of ``parameters`` in place by
    :math:`\min(1, \text{max\_norm} / (\text{total\_norm} + 10^{-6}))`.

    Args:
        parameters: a tensor or an iterable of tensors whose ``.grad`` is scaled.
        max_norm: the largest allowed total norm.
        total_norm: the total norm, from :func:`get_total_norm`.
        foreach: accepted for torch compatibility.

    Example:
        >>> import elman
        >>> w = elman.tensor([1.0], requires_grad=True)
        >>> (w * 4).sum().backward()
        >>> elman.nn.utils.clip_grads_with_norm_([w], 2.0, elman.tensor(4.0))
        >>> w.grad
        tensor([2.0000])
    """
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    max_norm = float(max_norm)
    if not grads:
        return
    total = np.asarray(total_norm._data if isinstance(total_norm, Tensor) else total_norm)
    if isinstance(total_norm, (list, tuple)) or total.size != 1 or total.dtype.kind not in "biuf":
        raise TypeError(
            "total_norm must be a one-element tensor or a number (from get_total_norm), got "
            f"{type(total_norm).__name__} of shape {total.shape}"
        )
    total = total.reshape(())
    dt = total.dtype.type if total.dtype.kind == "f" else np.float32
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # torch evaluates max_norm / t as t.reciprocal() * max_norm, rounding twice
        coef = (dt(1) / (total + dt(1e-6))) * dt(max_norm)
        coef = np.minimum(coef, dt(1.0))  # torch.clamp(max=1): nan stays nan
        for g in grads:
            # torch multiplies in the gradient's compute type (float32 for float16): a
            # coefficient below float16's range stays nonzero, so inf * coef is inf, not NaN
            if g._data.dtype == np.float16:
                g._data[...] = (g._data.astype(np.float32) * np.float32(coef)).astype(np.float16)
            else:
                g._data *= g._data.dtype.type(coef)


def clip_grad_norm_(
    parameters: TensorOrTensors,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    r"""Clip the gradient norm of ``parameters`` in place; return the norm before clipping.

    The total norm :math:`n` is computed over all gradients together, as if concatenated
    into one vector; every gradient is then multiplied by
    :math:`\min(1, \text{max\_norm} / (n + 10^{-6}))`. Parameters without a gradient are
    skipped. The same numbers as ``torch.nn.utils.clip_grad_norm_``.

    Args:
        parameters: a tensor or an iterable of tensors (e.g. ``model.parameters()``).
        max_norm: the largest allowed total norm.
        norm_type: p of the p-norm; ``math.inf`` for the max norm. Default 2.
        error_if_nonfinite: raise if the total norm is nan or inf. Default False.
        foreach: accepted for torch compatibility.

    Returns:
        the total norm of the gradients before clipping, as a 0-d tensor.

    Example:
        >>> import elman
        >>> w = elman.tensor([1.0, 1.0], requires_grad=True)
        >>> (w * elman.tensor([3.0, 4.0])).sum().backward()
        >>> elman.nn.utils.clip_grad_norm_([w], max_norm=1.0)
        tensor(5.)
        >>> w.grad
        tensor([0.6000, 0.8000])
    """
    if isinstance(parameters, Tensor):
        params = [parameters]
    else:
        is_generator = isinstance(parameters, types.GeneratorType)
        params = list(parameters)
        if is_generator and not params:
            warnings.warn(
                "`parameters` is an empty generator, no gradient clipping will occur.",
                UserWarning,
                stacklevel=2,
            )
    grads = [p.grad._data for p in params if p.grad is not None]
    if norm_type == 2.0 and not error_if_nonfinite and _kernels.JIT and grads:
        total = _clip_l2(grads, float(max_norm))
        if total is not None:
            return Tensor._make(total)
    tensors = [p.grad for p in params if p.grad is not None]
    total_norm = get_total_norm(tensors, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(params, max_norm, total_norm, foreach)
    return total_norm


def _clip_l2(grads: list[np.ndarray], max_norm: float) -> np.ndarray | None:
    """:func:`get_total_norm` (p = 2) and :func:`clip_grads_with_norm_` in one go, the same
    arithmetic with less Python around it (a training step clips every time), when every
    gradient is float32, or every one float64, and C-contiguous; else None (nothing done).
    A coefficient of exactly 1 multiplies nothing (x * 1 is x, nan and inf included)."""
    dt = grads[0].dtype
    if dt not in _FLOATS:
        return None
    for g in grads:
        if g.dtype != dt or not g.flags.c_contiguous:
            return None
    sum_squares, sqrt, kind = _kernels.sum_squares, math.sqrt, dt.type
    norms = np.array([kind(sqrt(sum_squares(g.ravel()))) for g in grads], dtype=dt)  # (K,)
    total = kind(sqrt(sum_squares(norms)))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        coef = (kind(1) / (total + kind(1e-6))) * kind(max_norm)
        if not coef >= 1:  # (nan too: torch.clamp(max=1) keeps it)
            for g in grads:
                g *= coef
    return np.asarray(total, dtype=dt)


def clip_grad_value_(
    parameters: TensorOrTensors, clip_value: float, foreach: bool | None = None
) -> None:
    r"""Clamp every gradient of ``parameters`` in place to :math:`[-\text{clip\_value},
    \text{clip\_value}]`.

    Args:
        parameters: a tensor or an iterable of tensors.
        clip_value: the largest allowed magnitude of a gradient element.
        foreach: accepted for torch compatibility.

    Example:
        >>> import elman
        >>> w = elman.tensor([1.0, 1.0], requires_grad=True)
        >>> (w * elman.tensor([-3.0, 0.5])).sum().backward()
        >>> elman.nn.utils.clip_grad_value_([w], 1.0)
        >>> w.grad
        tensor([-1.0000,  0.5000])
    """
    clip_value = float(clip_value)
    for p in _as_list(parameters):
        if p.grad is not None:
            g = p.grad._data
            lo, hi = g.dtype.type(-clip_value), g.dtype.type(clip_value)
            np.minimum(np.maximum(g, lo, out=g), hi, out=g)  # torch's clamp: nan stays nan
