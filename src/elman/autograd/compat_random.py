"""torch's random functions on torch's streams: ``randperm``, ``randint``, ``rand_like``,
``randn_like``, ``multinomial``; the same numbers as torch for the same seed or generator."""

from __future__ import annotations

from typing import Any

import numpy as np

from .dtypes import resolve_dtype
from .tensor import Tensor
from .tensor_compat import _no_extra
from .tensor_methods import _shape_args

__all__ = ["randperm", "randint", "rand_like", "randn_like", "multinomial"]


def _check_cpu(device: Any) -> None:
    from .compat_functions import check_cpu

    check_cpu(device)


def _done(t: Tensor, requires_grad: bool) -> Tensor:
    return t.requires_grad_(True) if requires_grad else t


def _generator(generator: Any) -> Any:
    from ..random import default_generator

    return default_generator if generator is None else generator


def randperm(
    n: int,
    generator: Any = None,
    dtype: Any = np.int64,
    device: Any = None,
    requires_grad: bool = False,
    **kw: Any,
) -> Tensor:  # noqa: E501
    """A random permutation of ``0..n-1``, the numbers ``torch.randperm`` gives."""
    _no_extra(kw, "randperm")
    _check_cpu(device)
    perm = _generator(generator).randperm(n)
    return _done(Tensor._make(perm.astype(resolve_dtype(dtype), copy=False)), requires_grad)


def randint(
    *args: Any,
    size: Any = None,
    generator: Any = None,
    dtype: Any = np.int64,
    device: Any = None,
    requires_grad: bool = False,
    **kw: Any,
) -> Tensor:  # noqa: E501
    """``torch.randint(high, size)`` or ``(low, high, size)``: int64 uniform on [low, high)."""
    _no_extra(kw, "randint")
    _check_cpu(device)
    args_l = list(args)
    if size is None:
        size = args_l.pop()
    low, high = (0, args_l[0]) if len(args_l) == 1 else args_l
    draws = _generator(generator).randint(low, high, tuple(_shape_args((size,))))
    return _done(Tensor._make(draws.astype(resolve_dtype(dtype), copy=False)), requires_grad)


def rand_like(t: Tensor, dtype: Any = None, **kwargs: Any) -> Tensor:
    from .compat_functions import rand

    return rand(*t.shape, dtype=t.dtype if dtype is None else dtype, **kwargs)


def randn_like(t: Tensor, dtype: Any = None, **kwargs: Any) -> Tensor:
    from .compat_functions import randn

    return randn(*t.shape, dtype=t.dtype if dtype is None else dtype, **kwargs)


def multinomial(
    input: Tensor, num_samples: int, replacement: bool = False, *, generator: Any = None
) -> Tensor:  # noqa: A002,E501
    """Indices drawn from the rows of ``input`` (non-negative weights), as torch's CPU
    kernel: ``argmax`` / ``topk`` of ``input / q`` with ``q ~ Exp(1)`` drawn in float64 (one
    sample, or without replacement); with replacement, a binary search of one float64
    uniform per sample in the row's normalised cumulative sum."""
    w = input._data
    if w.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    gen = _generator(generator)
    if replacement and num_samples > 1:
        # torch's CPU kernel: per row, the normalised cumulative sum, then one float64
        # uniform per sample, located by binary search
        rows = w.reshape(-1, w.shape[-1])
        if (rows < 0).any() or not np.isfinite(rows).all() or (rows.sum(-1) <= 0).any():
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        out = np.empty((rows.shape[0], num_samples), np.int64)
        for i, row in enumerate(rows):
            cum = np.cumsum(row, dtype=w.dtype)
            cum = cum / cum[-1]
            out[i] = np.searchsorted(cum, gen.uniform(num_samples, 0.0, 1.0, dtype=np.float64))
        return Tensor._wrap(out.reshape(*w.shape[:-1], num_samples))
    if num_samples > w.shape[-1] and not replacement:
        raise RuntimeError(
            "cannot sample n_sample > prob_dist.size(-1) samples without replacement"
        )
    u = gen.uniform(w.size, 0.0, 1.0, dtype=np.float64).reshape(w.shape)
    q = (-np.log1p(-u)).astype(w.dtype)
    ratio = Tensor._wrap(w / q)
    if num_samples == 1:
        return Tensor._wrap(np.argmax(ratio._data, axis=-1)[..., None].astype(np.int64))
    return ratio.topk(num_samples).indices
