"""The operands of the differentiable operations: a dim wrapped as torch does, array
operands promoted to torch's result dtype, integer input of floating functions made floating,
and broadcasting undone on a gradient (:func:`unbroadcast`, the one place it is undone).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import check_int
from .dtypes import get_default_dtype, result_type


def wrap_dim(dim: int, ndim: int) -> int:
    """``dim`` in ``range(ndim)``; negative dims count from the end; 0-d takes 0 and -1.

    Raises the IndexError torch raises, where NumPy would wrap or say AxisError.
    """
    if not isinstance(dim, int) or isinstance(dim, bool):
        dim = check_int("dim", dim)
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})"
        )
    return dim % n


def promote(*operands: Any) -> tuple[Any, ...]:
    """Cast array operands to torch's result dtype (see :func:`result_type`).

    Python scalars stay as they are: NumPy treats them as weak, so they keep the dtype.
    """
    dt = result_type(*operands)
    return tuple(
        x.astype(dt, copy=False)
        if isinstance(x, np.ndarray)
        else x.item()  # a NumPy scalar would not be weak: make it a Python number
        if isinstance(x, np.generic)
        else x
        for x in operands
    )


def floating(a: np.ndarray) -> np.ndarray:
    """Integer input of a floating-point function computes in the default dtype, as torch."""
    return a if a.dtype.kind in "fc" else a.astype(get_default_dtype())


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` down to ``shape``: the adjoint of NumPy broadcasting."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)
