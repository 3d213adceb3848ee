"""Argument checks and the discrete draws (bernoulli, randint, randperm) of
:class:`elman.random.Generator`, with torch's messages and streams."""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _kernels

__all__ = ["DiscreteDraws", "Shape"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))

Shape = int | Sequence[int]


# ---- argument checks (torch's messages) ------------------------------------------------------


def _check_seed(seed: Any) -> int:
    try:
        if isinstance(seed, bool):  # an int, but never a meaningful seed
            raise TypeError
        value = operator.index(seed)
    except TypeError:
        raise TypeError(f"manual_seed expected a long, but got {type(seed).__name__}") from None
    if not -(2**63) <= value < 2**64:
        raise ValueError(f"Overflow when unpacking long long (seed={value})")
    return value % 2**64  # negative seeds wrap like torch's int64 -> uint64 cast


def _check_shape(shape: Shape) -> tuple[int, ...]:
    try:
        dims: tuple[int, ...] = (operator.index(shape),)  # type: ignore[arg-type]
    except TypeError:
        dims = tuple(operator.index(d) for d in shape)  # type: ignore[union-attr]
    for d in dims:
        if d < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {d}: {list(dims)}")
    return dims


def _check_float_dtype(dtype: Any, op: str) -> np.dtype:
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise TypeError(f"{op}: expected dtype numpy.float32 or numpy.float64, but got {dt}")
    return dt


class DiscreteDraws:
    """bernoulli / randint / randperm for :class:`~elman.random.Generator`, which provides
    the raw MT19937 draws."""

    if TYPE_CHECKING:

        def _raw32(self, n: int) -> np.ndarray: ...

        def _raw64(self, n: int) -> np.ndarray: ...

        def _unit(self, n: int, dt: np.dtype) -> np.ndarray: ...

    def bernoulli(self, shape: Shape, p: float, dtype: Any = np.float32) -> np.ndarray:
        """A 0/1 mask with P(1) = p, bit-identical to ``torch.empty(shape).bernoulli_(p)``.

        Each element compares one 53-bit uniform (two 32-bit draws) with ``p``. This is the
        stream torch 2.13 uses on CPU for a float ``p``, and the one dropout draws from.

        Args:
            shape (int or tuple of ints): output shape.
            p (float): probability of a one, in [0, 1].
            dtype: output dtype. Default: ``np.float32``.

        Returns:
            np.ndarray: a new array of zeros and ones.

        Example::

            >>> Generator(0).bernoulli(6, 0.5)
            array([0., 0., 1., 0., 0., 0.], dtype=float32)
        """
        dims = _check_shape(shape)
        if not 0.0 <= p <= 1.0:
            raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
        dt = np.dtype(dtype)
        if dt in _FLOATS:
            return self._bernoulli(math.prod(dims), p, dt.type(1)).reshape(dims)
        return self._bernoulli(math.prod(dims), p, np.float64(1)).astype(dt).reshape(dims)

    def _bernoulli(self, n: int, p: float, one: np.generic) -> np.ndarray:
        """n draws of :meth:`bernoulli`, ``one`` (a float32 or float64 scalar) in place of
        each 1: a dropout mask passes 1/(1-p) and gets the scaled mask in one pass."""
        return _kernels.bernoulli_values(self._raw32(2 * n), p, one)

    def randint(self, low: int, high: int, shape: Shape) -> np.ndarray:
        """Integers uniform on [low, high), bit-identical to ``torch.randint(low, high, shape)``.

        Like torch, ranges below 2**28 take one 32-bit draw per element and larger ones two;
        the value is ``draw % (high - low) + low`` (slightly biased for huge ranges, as torch).

        Returns:
            np.ndarray: a new int64 array of ``shape``.

        Example::

            >>> Generator(0).randint(0, 10, 5)
            array([4, 9, 3, 0, 3])
        """
        dims = _check_shape(shape)
        low, high = operator.index(low), operator.index(high)
        if not (-(2**63) <= low < 2**63 and -(2**63) <= high < 2**63):
            raise ValueError("Overflow when unpacking long long")
        if low >= high:
            raise RuntimeError(
                f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}"
            )
        n, span = math.prod(dims), high - low
        draws = self._raw64(n) if span >= 2**28 else self._raw32(n)
        draws %= np.uint64(span)
        draws += np.uint64(low % 2**64)  # wraps modulo 2**64, like torch's uint64 arithmetic
        return draws.view(np.int64).reshape(dims)

    def randperm(self, n: int) -> np.ndarray:
        """A random permutation of 0..n-1, bit-identical to ``torch.randperm(n)``.

        torch's Fisher-Yates: for i = 0..n-2 swap i with i + ``random() % (n - i)``. The draws
        are vectorised; the swaps are inherently sequential (about 0.1 s per million).

        Returns:
            np.ndarray: a new int64 array of length n.

        Example::

            >>> Generator(0).randperm(6)
            array([2, 5, 3, 0, 1, 4])
        """
        n = _check_shape(n)[0]
        if n < 2:
            return np.arange(n, dtype=np.int64)
        offsets = (self._raw32(n - 1) % np.arange(n, 1, -1, dtype=np.uint64)).tolist()
        perm = list(range(n))
        for i, z in enumerate(offsets):
            j = i + z
            perm[i], perm[j] = perm[j], perm[i]
        return np.array(perm, dtype=np.int64)
